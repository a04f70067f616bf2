"""One appointment's page, where the desk (or its agent) acts on it: move it to another
time, cancel it with a reason, mark the citizen arrived (and take it back), record how it
went. Each action is a form; the page says what happened, or why it could not."""

from __future__ import annotations

from collections.abc import Awaitable

from aiohttp import web

from visio.domain import AppointmentStatus
from visio.handlers.api import current_actor, match_int, now
from visio.handlers.booking_pages import Draft, answered, claim_form
from visio.handlers.meeting_pages import clock_time
from visio.handlers.reads import record_read, shown_in
from visio.handlers.render import posted_form, render
from visio.handlers.setup_pages import rebook_reason
from visio.i18n import format_date
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS
from visio.services import appointments, booking, idempotency, transitions
from visio.services.errors import Conflict
from visio.services.permissions import Action, require
from visio.services.records import AppointmentView
from visio.services.transitions import STATUS_LABELS

# What the page says after each action (`?done=`).
DONE = {
    "cancelled": _l("The appointment is cancelled; its agent and the citizen are told."),
    "arrived": _l("The citizen's arrival is marked."),
    "arrival_undone": _l("The arrival is taken back."),
    "outcome": _l("The outcome is recorded."),
    "moved": _l("The appointment is moved; its agent and the citizen are told."),
}


async def appointment_page(request: web.Request) -> web.Response:
    return await _page(request, match_int(request, "id"))


async def _page(
    request: web.Request, appointment_id: int, *, problem: str | None = None, status: int = 200
) -> web.Response:
    found = await transitions.detail(
        request[DB], current_actor(request), appointment_id, now=now(request)
    )
    view = found.appointment
    await record_read(request, shown_in([view]))
    done = request.query.get("done", "")
    context = {
        "d": found,
        "a": view,
        "rebook_reason": rebook_reason(view),
        "when": format_date(view.start.date())
        + ", "
        + clock_time(view.start, view.timezone)
        + " – "
        + clock_time(view.end, view.timezone),
        "status_label": str(STATUS_LABELS[view.status]),
        "done": str(DONE[done]) if done in DONE and problem is None else None,
        "problem": problem,
        "outcomes": [(status.value, str(STATUS_LABELS[status])) for status in found.outcomes],
    }
    return render("appointment.html", request, context, status=status)


async def _act(
    request: web.Request,
    appointment_id: int,
    change: Awaitable[AppointmentView],
    done: str,
    claim: idempotency.Claim | None = None,
) -> web.StreamResponse:
    """Make the change; then the appointment's page (a move: the new one's) saying it was
    done, or this page again saying why it could not be (nothing written). `claim`: the
    form's idempotency key, which keeps the answer for the form sent again."""
    try:
        changed = await change
    except Conflict as refused:
        return await _page(request, appointment_id, problem=str(refused.message), status=409)
    location = request.app.router["appointment_page"].url_for(id=str(changed.id))
    raise await answered(request, claim, str(location.with_query(done=done)))


async def cancel(request: web.Request) -> web.StreamResponse:
    """Cancel, with the reason the citizen or the agent gave."""
    appointment_id = match_int(request, "id")
    form = await posted_form(request)
    change = transitions.cancel(
        request[DB], current_actor(request), appointment_id,
        reason=form.get("reason", "").strip()[:500], now=now(request), links=request.app[LINKS],
    )  # fmt: skip
    return await _act(request, appointment_id, change, "cancelled")


async def arrival(request: web.Request) -> web.StreamResponse:
    """Mark the citizen arrived, or take it back (`undo`) within five minutes."""
    appointment_id = match_int(request, "id")
    form = await posted_form(request)
    undo = form.get("undo") == "1"
    mark = transitions.undo_arrival if undo else transitions.mark_arrived
    change = mark(request[DB], current_actor(request), appointment_id, now=now(request))
    return await _act(request, appointment_id, change, "arrival_undone" if undo else "arrived")


async def outcome(request: web.Request) -> web.StreamResponse:
    """Held, the citizen absent, or the agent absent, with a note."""
    appointment_id = match_int(request, "id")
    form = await posted_form(request)
    try:
        chosen = AppointmentStatus(form.get("status", ""))
    except ValueError:
        problem = _("Choose how the appointment went.")
        return await _page(request, appointment_id, problem=problem, status=422)
    change = transitions.record_outcome(
        request[DB], current_actor(request), appointment_id, status=chosen,
        note=form.get("note", "").strip()[:2000], now=now(request),
    )  # fmt: skip
    return await _act(request, appointment_id, change, "outcome")


async def move(request: web.Request) -> web.StreamResponse:
    """Move to the time chosen on the free times screen (the booking's step 2)."""
    appointment_id = match_int(request, "id")
    # Who asks, and whether the appointment is theirs to see (404 otherwise), before the form.
    require(current_actor(request), Action.RESCHEDULE)
    await appointments.read(request[DB], current_actor(request), appointment_id, now=now(request))
    form = await posted_form(request)
    # The form sent again (a double click, a browser retrying): the first move's page.
    claim = await claim_form(request, form)
    start, agent_id, station_id = Draft.of(form).chosen_slot()
    change = booking.reschedule(
        request[DB], current_actor(request), appointment_id, start=start, agent_id=agent_id,
        station_id=station_id, now=now(request), links=request.app[LINKS],
    )  # fmt: skip
    return await _act(request, appointment_id, change, "moved", claim)
