"""Appointments in the JSON API: book, read, cancel, reschedule, outcome, arrival, join."""

from __future__ import annotations

from aiohttp import web

from visio.domain import AppointmentStatus
from visio.handlers.api import (
    IDEMPOTENT_HEADERS,
    PAGE_HEADERS,
    current_actor,
    json_model,
    match_int,
    now,
    operation,
    page_headers,
)
from visio.handlers.reads import ids_of, record_read, shown_in
from visio.handlers.schemas import (
    AppointmentCreate,
    AppointmentQuery,
    CancelIn,
    CitizenSearch,
    JoinOut,
    JoinQuery,
    OutcomeIn,
    RescheduleIn,
)
from visio.keys import DB, JITSI, LINKS
from visio.services import appointments, booking, meetings, transitions
from visio.services.citizens import CitizenDetails, search_citizens
from visio.services.permissions import Action
from visio.services.records import AppointmentView, CitizenView


@operation("Book a visio appointment for the citizen at the desk", action=Action.BOOK,
           body=AppointmentCreate, response=AppointmentView, status=201,
           headers=IDEMPOTENT_HEADERS, idempotent=True, tags=["booking"])  # fmt: skip
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
            citizen=CitizenDetails(**citizen.model_dump()),
        ),
        now=now(request),
        links=request.app[LINKS],
    )
    return _created(request, view)


def _created(request: web.Request, view: AppointmentView) -> web.Response:
    """201 with the new appointment, its URL in `Location`."""
    response = json_model(view, status=201)
    response.headers["Location"] = str(
        request.app.router["api_appointment"].url_for(id=str(view.id))
    )
    return response


@operation("Appointments within the caller's scope, by start, a page at a time",
           action=Action.READ_APPOINTMENTS, query=AppointmentQuery,
           response=list[AppointmentView], headers=PAGE_HEADERS, tags=["booking"])  # fmt: skip
async def list_appointments(request: web.Request, query: AppointmentQuery) -> web.Response:
    found = await appointments.page_on_days(
        request[DB], current_actor(request), site_id=query.site_id, agent_id=query.agent_id,
        first_day=query.from_, last_day=query.to, statuses=query.status or [], now=now(request),
        page=query.page, per_page=query.limit,
    )  # fmt: skip
    await record_read(request, shown_in(found.items))
    response = json_model(found.items, adapter=tuple[AppointmentView, ...])
    response.headers.update(page_headers(request, found.page, found.pages, found.total))
    return response


@operation("One appointment", action=Action.READ_APPOINTMENTS, response=AppointmentView,
           tags=["booking"])  # fmt: skip
async def get_appointment(request: web.Request) -> web.Response:
    view = await appointments.read(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    await record_read(request, shown_in([view]))
    return json_model(view)


@operation("Cancel a booked appointment", action=Action.CANCEL, body=CancelIn,
           response=AppointmentView, tags=["booking"])  # fmt: skip
async def cancel(request: web.Request, body: CancelIn) -> web.Response:
    view = await transitions.cancel(
        request[DB], current_actor(request), match_int(request, "id"), reason=body.reason,
        now=now(request), links=request.app[LINKS],
    )  # fmt: skip
    return json_model(view)


@operation("Move a booked appointment: the old one is cancelled and linked to the new one",
           action=Action.RESCHEDULE, body=RescheduleIn, response=AppointmentView, status=201,
           headers=IDEMPOTENT_HEADERS, idempotent=True, tags=["booking"])  # fmt: skip
async def reschedule(request: web.Request, body: RescheduleIn) -> web.Response:
    view = await booking.reschedule(
        request[DB], current_actor(request), match_int(request, "id"), start=body.start,
        agent_id=body.agent_id, station_id=body.station_id, now=now(request),
        links=request.app[LINKS],
    )  # fmt: skip
    return _created(request, view)


@operation("Record how it went: held, no_show (citizen absent) or agent_absent",
           action=Action.RECORD_OUTCOME, body=OutcomeIn, response=AppointmentView,
           tags=["booking"])  # fmt: skip
async def outcome(request: web.Request, body: OutcomeIn) -> web.Response:
    view = await transitions.record_outcome(
        request[DB], current_actor(request), match_int(request, "id"),
        status=AppointmentStatus(body.status), note=body.note, now=now(request),
    )  # fmt: skip
    return json_model(view)


@operation("The citizen is at the visio station", action=Action.MARK_ARRIVED,
           response=AppointmentView, tags=["booking"])  # fmt: skip
async def arrived(request: web.Request) -> web.Response:
    view = await transitions.mark_arrived(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return json_model(view)


@operation("The Jitsi link of one side: the station (desk) or the partner agent",
           action=Action.READ_APPOINTMENTS, query=JoinQuery, response=JoinOut,
           tags=["meetings"])  # fmt: skip
async def join(request: web.Request, query: JoinQuery) -> web.Response:
    meeting = await meetings.join(
        request[DB], current_actor(request), match_int(request, "id"), side=query.as_,
        config=request.app[JITSI], now=now(request),
    )  # fmt: skip
    link, zone = meeting.link, meeting.appointment.start.tzinfo
    out = JoinOut(
        url=link.url, room=link.room, jwt=link.jwt, not_before=link.not_before.astimezone(zone),
        expires=link.expires.astimezone(zone), state=meeting.state,
    )  # fmt: skip
    return json_model(out)


@operation("Citizens already booked at the caller's sites, by name, email or phone",
           action=Action.SEARCH_CITIZENS, query=CitizenSearch, response=list[CitizenView],
           tags=["booking"])  # fmt: skip
async def find_citizens(request: web.Request, query: CitizenSearch) -> web.Response:
    found = await search_citizens(request[DB], current_actor(request), text=query.q)
    await record_read(request, ids_of(found))
    return json_model(found, adapter=list[CitizenView])
