"""Appointments in the JSON API: book, read, cancel, reschedule, outcome, arrival, join."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web

from visio.db.models import Appointment, AppointmentStatus, Citizen, Role
from visio.handlers.api import current_actor, json_model, match_int, now, operation
from visio.handlers.schemas import (
    AppointmentCreate,
    AppointmentOut,
    AppointmentQuery,
    CancelIn,
    CitizenOut,
    CitizenSearch,
    JoinOut,
    JoinQuery,
    OutcomeIn,
    RescheduleIn,
)
from visio.keys import DB, JITSI, LINKS
from visio.services import booking
from visio.services.citizens import CitizenDetails, search_citizens
from visio.services.notifications import reference

BOOKERS = {Role.DESK, Role.ADMIN}
READERS = {Role.DESK, Role.AGENT, Role.ADMIN}


def citizen_out(citizen: Citizen | None) -> CitizenOut | None:
    if citizen is None or citizen.erased_at is not None:
        return None
    return CitizenOut(
        id=citizen.id,
        first_name=citizen.first_name,
        last_name=citizen.last_name,
        birth_date=citizen.birth_date,
        email=citizen.email,
        phone=citizen.phone,
        locale=citizen.locale,
    )


def appointment_out(view: booking.AppointmentView) -> AppointmentOut:
    """An appointment in its site's wall-clock time, with its citizen (the caller may see
    them: only the booking site's desk, the appointment's agent and admins get here)."""
    appointment, zone = view.appointment, ZoneInfo(view.timezone)

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone) if moment is not None else None

    return AppointmentOut(
        id=appointment.id,
        reference=reference(appointment),
        status=appointment.status,
        start=appointment.start_at.astimezone(zone),
        end=appointment.end_at.astimezone(zone),
        site_id=appointment.site_id,
        station_id=appointment.station_id,
        partner_id=appointment.partner_id,
        motive_id=appointment.motive_id,
        agent_id=appointment.agent_id,
        citizen=citizen_out(view.citizen),
        room=appointment.room,
        rescheduled_from_id=appointment.rescheduled_from_id,
        arrived_at=local(appointment.arrived_at),
        agent_joined_at=local(appointment.agent_joined_at),
        cancel_reason=appointment.cancel_reason,
        outcome_note=appointment.outcome_note,
    )


async def render_one(
    request: web.Request, appointment: Appointment, status: int = 200
) -> web.Response:
    (view,) = await booking.describe(request[DB], [appointment])
    return json_model(appointment_out(view), status=status)


@operation("Book a visio appointment for the citizen at the desk", roles=BOOKERS,
           body=AppointmentCreate, response=AppointmentOut, status=201,
           tags=["booking"])  # fmt: skip
async def create_appointment(request: web.Request, body: AppointmentCreate) -> web.Response:
    citizen = body.citizen
    view = await booking.book(
        request[DB],
        current_actor(request),
        booking.BookingRequest(
            site_id=body.site_id,
            motive_id=body.motive_id,
            start=body.start,
            agent_id=body.agent_id,
            station_id=body.station_id,
            citizen=CitizenDetails(
                first_name=citizen.first_name,
                last_name=citizen.last_name,
                birth_date=citizen.birth_date,
                email=citizen.email,
                phone=citizen.phone,
                locale=citizen.locale,
                id=citizen.id,
            ),
        ),
        now=now(request),
        links=request.app[LINKS],
    )
    return json_model(appointment_out(view), status=201)


@operation("Appointments within the caller's scope", roles=READERS, query=AppointmentQuery,
           response=list[AppointmentOut], tags=["booking"])  # fmt: skip
async def list_appointments(request: web.Request, query: AppointmentQuery) -> web.Response:
    views = await booking.appointments_on_days(
        request[DB], current_actor(request), site_id=query.site_id, agent_id=query.agent_id,
        first_day=query.from_, last_day=query.to, statuses=query.status or [],
    )  # fmt: skip
    return json_model([appointment_out(view) for view in views], adapter=list[AppointmentOut])


@operation("One appointment", roles=READERS, response=AppointmentOut, tags=["booking"])
async def get_appointment(request: web.Request) -> web.Response:
    appointment = await booking.get_appointment(
        request[DB], current_actor(request), match_int(request, "id")
    )
    return await render_one(request, appointment)


@operation("Cancel a booked appointment", roles=READERS, body=CancelIn,
           response=AppointmentOut, tags=["booking"])  # fmt: skip
async def cancel(request: web.Request, body: CancelIn) -> web.Response:
    appointment = await booking.cancel(
        request[DB], current_actor(request), match_int(request, "id"), reason=body.reason,
        now=now(request), links=request.app[LINKS],
    )  # fmt: skip
    return await render_one(request, appointment)


@operation("Move a booked appointment: the old one is cancelled and linked to the new one",
           roles=BOOKERS, body=RescheduleIn, response=AppointmentOut, status=201,
           tags=["booking"])  # fmt: skip
async def reschedule(request: web.Request, body: RescheduleIn) -> web.Response:
    _old, new = await booking.reschedule(
        request[DB], current_actor(request), match_int(request, "id"), start=body.start,
        agent_id=body.agent_id, station_id=body.station_id, now=now(request),
        links=request.app[LINKS],
    )  # fmt: skip
    return await render_one(request, new, status=201)


@operation("Record how it went: held, no_show (citizen absent) or agent_absent",
           roles=READERS, body=OutcomeIn, response=AppointmentOut, tags=["booking"])  # fmt: skip
async def outcome(request: web.Request, body: OutcomeIn) -> web.Response:
    appointment = await booking.record_outcome(
        request[DB], current_actor(request), match_int(request, "id"),
        status=AppointmentStatus(body.status), note=body.note, now=now(request),
    )  # fmt: skip
    return await render_one(request, appointment)


@operation("The citizen is at the visio station", roles=BOOKERS, response=AppointmentOut,
           tags=["booking"])  # fmt: skip
async def arrived(request: web.Request) -> web.Response:
    appointment = await booking.mark_arrived(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return await render_one(request, appointment)


@operation("The Jitsi link of one side: the station (desk) or the partner agent",
           roles=READERS, query=JoinQuery, response=JoinOut, tags=["meetings"])  # fmt: skip
async def join(request: web.Request, query: JoinQuery) -> web.Response:
    appointment, link, state = await booking.join(
        request[DB], current_actor(request), match_int(request, "id"), side=query.as_,
        config=request.app[JITSI], now=now(request),
    )  # fmt: skip
    (view,) = await booking.describe(request[DB], [appointment])
    zone = ZoneInfo(view.timezone)
    out = JoinOut(
        url=link.url, room=link.room, jwt=link.jwt, not_before=link.not_before.astimezone(zone),
        expires=link.expires.astimezone(zone), state=state,
    )  # fmt: skip
    return json_model(out)


@operation("Citizens already booked at the caller's sites, by name, email or phone",
           roles=BOOKERS, query=CitizenSearch, response=list[CitizenOut],
           tags=["booking"])  # fmt: skip
async def find_citizens(request: web.Request, query: CitizenSearch) -> web.Response:
    found = await search_citizens(request[DB], current_actor(request), text=query.q)
    return json_model([citizen_out(c) for c in found], adapter=list[CitizenOut])
