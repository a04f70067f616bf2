"""Reads of citizens' details, recorded: every page or answer that shows a citizen's name
or contact details writes one audit entry (`citizen.read`) naming the citizens shown (their
ids), who saw them, from which route, and the request's id.

Answers to a change (a booking, a cancellation…) show the appointment changed: the change's
own audit entry records who touched it, so they write no read besides.
"""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from visio.handlers.api import current_actor, now
from visio.keys import DB, REQUEST_ID
from visio.services import audit
from visio.services.records import AppointmentView, CitizenView


async def record_read(request: web.Request, citizen_ids: Iterable[int]) -> None:
    """The request showed these citizens' details (none: nothing is written)."""
    await audit.record_read(
        request[DB], actor_id=current_actor(request).user_id, citizen_ids=citizen_ids,
        route=request.match_info.route.name, request_id=request.get(REQUEST_ID),
        now=now(request),
    )  # fmt: skip


def shown_in(views: Iterable[AppointmentView]) -> list[int]:
    """The citizens these appointments show (an erased citizen shows nothing)."""
    return [view.citizen.id for view in views if view.citizen is not None]


def ids_of(citizens: Iterable[CitizenView]) -> list[int]:
    return [citizen.id for citizen in citizens]


async def record_read_of_appointments(request: web.Request, appointment_ids: Iterable[int]) -> None:
    """The request showed what messages about these appointments say of their citizens."""
    citizens = await audit.citizens_of_appointments(request[DB], appointment_ids)
    await record_read(request, citizens)
