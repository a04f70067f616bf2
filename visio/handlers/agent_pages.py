"""The partner agent's own pages besides the agenda: their absences (add, with the booked
appointments they fall on shown before saving; take back one not yet begun) and their
private calendar link (make, renew, stop)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta

from aiohttp import web

from visio.handlers.api import current_actor, match_int, now
from visio.handlers.calendar_feed import feed_urls
from visio.handlers.meeting_pages import clock_time
from visio.handlers.reads import record_read, shown_in
from visio.handlers.render import posted_form, render
from visio.handlers.validation import EARLIEST, LATEST
from visio.i18n import format_date
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS
from visio.scheduling.calendars import time_zone
from visio.services import absences, calendar_feed
from visio.services.absences import AgentAbsences, WouldHit
from visio.services.errors import Conflict, InvalidInput
from visio.services.records import AbsenceView, AppointmentView

DONE = {
    "added": _l("The absence is saved: no one can book you over it."),
    "removed": _l("The absence is taken back."),
    "stopped": _l("Your calendar link is stopped: calendars subscribed to it get nothing more."),
}


# ---------------------------------------------------------------- absences


@dataclass(frozen=True, slots=True)
class AbsenceForm:
    """What the agent typed: dates and times on their own clock, kept as typed."""

    start_date: str = ""
    start_time: str = ""
    end_date: str = ""
    end_time: str = ""
    reason: str = ""

    @classmethod
    def of(cls, form: Mapping[str, str]) -> AbsenceForm:
        return cls(**{field.name: form.get(field.name, "").strip() for field in fields(cls)})

    def range(self, timezone: str) -> tuple[datetime, datetime]:
        """The absence as instants: from the start date's time (none: the day's start) to
        the end date's time (none: the end of that day), on the agent's clock."""
        errors: dict[str, str] = {}
        first = _date(self.start_date, "start_date", errors)
        last = _date(self.end_date, "end_date", errors)
        opens = _time(self.start_time, "start_time", errors)
        closes = _time(self.end_time, "end_time", errors)
        if errors or first is None or last is None:
            raise InvalidInput(fields=errors)
        zone = time_zone(timezone)
        start = datetime.combine(first, opens or time(), zone)
        if closes is None:
            end = datetime.combine(last + timedelta(days=1), time(), zone)
        else:
            end = datetime.combine(last, closes, zone)
        return start, end


def _date(text: str, name: str, errors: dict[str, str]) -> date | None:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[name] = _("Enter a date (day, month, year).") if text else _("Enter a date.")
        return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = _("This date is out of range.")
        return None
    return day


def _time(text: str, name: str, errors: dict[str, str]) -> time | None:
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        errors[name] = _("A time HH:MM is expected.")
        return None


def _when(view: AbsenceView | AppointmentView, timezone: str) -> str:
    """ "Monday 7 December 2026, 09:00 – Friday 11 December 2026, 18:00", on `timezone`'s clock."""
    zone = time_zone(timezone)
    start, end = view.start.astimezone(zone), view.end.astimezone(zone)
    if end.date() == start.date():
        return (
            f"{format_date(start.date())}, {clock_time(start, timezone)} – "
            f"{clock_time(end, timezone)}"
        )
    return (
        f"{format_date(start.date())}, {clock_time(start, timezone)} – "
        f"{format_date(end.date())}, {clock_time(end, timezone)}"
    )


async def absences_page(request: web.Request) -> web.Response:
    return await _absences_page(request)


async def _absences_page(
    request: web.Request,
    *,
    typed: AbsenceForm | None = None,
    errors: Mapping[str, str] | None = None,
    hit: tuple[AppointmentView, ...] = (),
    problem: str | None = None,
    status: int = 200,
    found: AgentAbsences | None = None,
) -> web.Response:
    moment = now(request)
    if found is None:
        found = await absences.own_absences(request[DB], current_actor(request), now=moment)
    await record_read(request, shown_in([*found.hit, *hit]))
    done = request.query.get("done", "")
    context = {
        "found": found,
        "absences": [
            {"view": view, "when": _when(view, found.timezone), "begun": view.start <= moment}
            for view in found.absences
        ],
        "hit_by_saved": [(view, _when(view, found.timezone)) for view in found.hit],
        "typed": typed or AbsenceForm(),
        "errors": dict(errors or {}),
        "hit": [(view, _when(view, found.timezone)) for view in hit],
        "problem": problem,
        "done": str(DONE[done]) if done in DONE and problem is None and not errors else None,
        "today": moment.astimezone(time_zone(found.timezone)).date().isoformat(),
    }
    return render("agent_absences.html", request, context, status=status)


async def add_absence(request: web.Request) -> web.StreamResponse:
    """Save the absence; when it falls on booked appointments, show them and ask again
    (the form's second step, `confirm`), everything typed kept."""
    form = await posted_form(request)
    typed = AbsenceForm.of(form)
    actor = current_actor(request)
    moment = now(request)
    found = await absences.own_absences(request[DB], actor, now=moment)
    try:
        start, end = typed.range(found.timezone)
        await absences.add_own_absence(
            request[DB], actor, start=start, end=end, reason=typed.reason,
            confirm=form.get("confirm") == "1", links=request.app[LINKS], now=moment,
        )  # fmt: skip
    except InvalidInput as refused:
        errors = {_FIELD_OF.get(name, name): str(text) for name, text in refused.fields.items()}
        return await _absences_page(request, typed=typed, errors=errors, status=422, found=found)
    except WouldHit as refused:
        return await _absences_page(request, typed=typed, hit=refused.hit, status=409, found=found)
    location = request.app.router["agent_absences"].url_for().with_query(done="added")
    raise web.HTTPSeeOther(location=location)


# The service names the range's ends; the form has a date and a time for each.
_FIELD_OF = {"start": "start_date", "end": "end_date"}


async def remove_absence(request: web.Request) -> web.StreamResponse:
    """Take back an absence that has not begun."""
    await posted_form(request)
    try:
        await absences.remove_own_absence(
            request[DB], current_actor(request), match_int(request, "id"), now=now(request)
        )
    except Conflict as refused:
        return await _absences_page(request, problem=str(refused.message), status=409)
    location = request.app.router["agent_absences"].url_for().with_query(done="removed")
    raise web.HTTPSeeOther(location=location)


# ---------------------------------------------------------------- the calendar link


async def calendar_page(request: web.Request) -> web.Response:
    active = await calendar_feed.feed_active(request[DB], current_actor(request))
    done = request.query.get("done", "")
    context = {
        "active": active,
        "urls": None,
        "done": str(DONE[done]) if done in DONE else None,
    }
    return render("agent_calendar.html", request, context)


async def make_calendar_link(request: web.Request) -> web.Response:
    """A new link, shown this once (the previous one stops working)."""
    await posted_form(request)
    token = await calendar_feed.new_feed_token(
        request[DB], current_actor(request), now=now(request)
    )
    context = {"active": True, "urls": feed_urls(request, token), "done": None}
    response = render("agent_calendar.html", request, context)
    # The page holds the secret: no cache keeps it, no back button shows it again.
    response.headers["Cache-Control"] = "no-store"
    return response


async def stop_calendar_link(request: web.Request) -> web.StreamResponse:
    await posted_form(request)
    await calendar_feed.revoke_feed(request[DB], current_actor(request), now=now(request))
    location = request.app.router["agent_calendar"].url_for().with_query(done="stopped")
    raise web.HTTPSeeOther(location=location)
