"""Appointments to rebook: what a set-up change takes from booked appointments, made
explicit.

An absence, a closure, a permanence changed or removed, an agent gone or a station out of
service never cancels anything by itself: booked appointments it would leave without their
agent or their station are first shown to whoever makes the change (`WouldStrand`, nothing
written), and the change goes through only once they confirm. Those appointments then stay
booked, marked with when and why (`to_rebook_since`, `to_rebook_reason`), their citizens and
agents are told by email that the house will set a new time, and they are listed for the
desks of their houses (`to_rebook`) until moved, cancelled or over.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from visio.db.models import Appointment
from visio.db.statements.appointments import in_scope
from visio.domain import AppointmentStatus, RebookReason
from visio.i18n import lazy_gettext as _l
from visio.services import appointments, audit, notifications
from visio.services.errors import Conflict
from visio.services.notifications import Links
from visio.services.permissions import Action, Actor, appointment_scope, require
from visio.services.records import AppointmentView

# How many of them a refusal lists (with how many in all): enough for a page, bounded.
LISTED = 100


class WouldStrand(Conflict):
    """The change would leave booked appointments without their agent or station: it
    waits for the caller's confirmation (`confirm`), nothing written."""

    code = "would_strand_appointments"
    default_message = _l(
        "This change leaves booked appointments without their agent or station. Confirm "
        "it to go on: they will be listed for their houses to rebook, and their citizens "
        "and agents told by email."
    )

    def __init__(self, stranded: Sequence[AppointmentView]) -> None:
        super().__init__(
            extra={
                "appointments_count": len(stranded),
                "appointments": [
                    {"id": view.id, "reference": view.reference, "start": view.start.isoformat(),
                     "site_id": view.site_id, "site_name": view.site_name,
                     "agent_id": view.agent_id, "agent_name": view.agent_name}
                    for view in stranded[:LISTED]
                ],
            }
        )  # fmt: skip
        self.stranded = tuple(stranded)


async def booked_to_come(
    session: AsyncSession, *criteria: ColumnElement[bool], now: datetime
) -> list[AppointmentView]:
    """The booked appointments matching `criteria` not over yet, by start."""
    return await appointments.views_where(
        session,
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.end_at > now,
        *criteria,
        now=now,
    )


async def set_aside(
    session: AsyncSession,
    actor: Actor,
    stranded: Sequence[AppointmentView],
    reason: RebookReason,
    *,
    confirm: bool,
    links: Links,
    now: datetime,
) -> None:
    """Mark `stranded` (booked appointments a change leaves without agent or station) to
    rebook, tell their citizens and agents, audit each; `WouldStrand` instead, before
    anything is written, unless the change is confirmed. Nothing to do without any."""
    if not stranded:
        return
    if not confirm:
        raise WouldStrand(stranded)
    ids = [view.id for view in stranded]
    await session.execute(
        update(Appointment)
        .where(Appointment.id.in_(ids))
        .values(to_rebook_since=now, to_rebook_reason=reason)
        .execution_options(synchronize_session=False)
    )
    booked = {
        appointment.id: appointment
        for appointment in await session.scalars(select(Appointment).where(Appointment.id.in_(ids)))
    }
    for view in stranded:
        await notifications.queue_to_rebook(
            session, booked[view.id], view.citizen, reason.value, links=links, now=now
        )
        audit.record(
            session, actor_id=actor.user_id, action="appointment.to_rebook",
            entity="appointment", entity_id=view.id, now=now, details={"reason": reason.value},
        )  # fmt: skip


async def to_rebook(
    session: AsyncSession, actor: Actor, *, site_id: int | None = None, now: datetime
) -> list[AppointmentView]:
    """The booked appointments still to rebook and not over, in the actor's scope (a desk
    or coordinator their houses, an administrator all), of one house if given, by start."""
    require(actor, Action.READ_APPOINTMENTS)
    criteria = [in_scope(appointment_scope(actor)), Appointment.to_rebook_since.is_not(None)]
    if site_id is not None:
        criteria.append(Appointment.site_id == site_id)
    return await booked_to_come(session, *criteria, now=now)
