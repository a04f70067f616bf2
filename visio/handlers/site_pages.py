"""The set-up pages of houses: the list, a house's form (its week of opening hours), its
stations, its closures (with the second step when one falls on booked appointments), the
permanences that serve it as a week grid; the administration's front page; and the list of
appointments to rebook that set-up changes left without agent or station.

Administrators change; coordinators and desks read what the services let them see, with
no form (`Action.READ_SET_UP`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import ValidationError

from visio.handlers.agent_pages import AbsenceForm
from visio.handlers.api import current_actor, match_int, now
from visio.handlers.reads import record_read, shown_in
from visio.handlers.render import posted_form, render
from visio.handlers.schemas import ClosureCreate, SiteCreate, SitePatch, StationCreate
from visio.handlers.setup_pages import (
    GridEntry,
    field_errors,
    rebook_reason,
    stranded_rows,
    week_days,
    zone_choices,
)
from visio.handlers.validation import fields_of
from visio.i18n import format_datetime, ngettext
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS
from visio.scheduling.calendars import HOLIDAY_CALENDARS, holiday_calendar_place
from visio.services import rebooking, setup
from visio.services.errors import InUse, InvalidInput
from visio.services.permissions import Action, Actor, may, require
from visio.services.rebooking import WouldStrand
from visio.services.records import ClosureView, SiteView

PER_PAGE = 25
# Two ranges a day: the morning and the afternoon.
RANGES_A_DAY = 2
DONE = {
    "created": _l("The house is created. Add its visio stations below."),
    "saved": _l("The house is saved."),
    "station": _l("The station is saved."),
    "closure": _l("The closure is saved: no one can book over it."),
    "closure_removed": _l("The closure is removed: its times can be booked again."),
    "removed": _l("The house is removed."),
}


def _calendar_choices() -> list[tuple[str, str]]:
    return [("", _("Metropolitan France"))] + [
        (code, f"{holiday_calendar_place(code)} ({code})") for code in HOLIDAY_CALENDARS if code
    ]


def _is_admin(actor: Actor) -> bool:
    return may(actor, Action.SET_UP)


# ---------------------------------------------------------------- front page


async def admin_home(request: web.Request) -> web.Response:
    """Where each part of the set-up lives, and how many appointments wait to be rebooked."""
    actor = current_actor(request)
    require(actor, Action.READ_SET_UP)
    waiting = []
    if may(actor, Action.READ_APPOINTMENTS):
        waiting = await rebooking.to_rebook(request[DB], actor, now=now(request))
    return render(
        "admin_home.html", request,
        {"to_rebook": len(waiting), "sees_appointments": may(actor, Action.READ_APPOINTMENTS)},
    )  # fmt: skip


async def to_rebook(request: web.Request) -> web.Response:
    """The booked appointments a set-up change left without agent or station, by start,
    with why, for their desks to move (a link to each appointment's page)."""
    waiting = await rebooking.to_rebook(request[DB], current_actor(request), now=now(request))
    rows = [(when, view, rebook_reason(view)) for when, view in stranded_rows(waiting)]
    await record_read(request, shown_in(view for _when, view, _why in rows))
    return render("admin_to_rebook.html", request, {"rows": rows})


# ---------------------------------------------------------------- the list


async def sites_page(request: web.Request) -> web.Response:
    query = request.query
    search = query.get("q", "").strip()[:120]
    state = query.get("state", "active")
    if state not in ("active", "inactive", "all"):
        state = "active"
    page = int(query["page"]) if query.get("page", "").isdigit() else 1
    found = await setup.find_sites(
        request[DB], current_actor(request), search=search, state=state,  # type: ignore[arg-type]
        page=max(1, min(page, 10_000)), per_page=PER_PAGE,
    )  # fmt: skip
    router = request.app.router["admin_sites"]

    def page_url(number: int) -> str:
        return str(router.url_for().with_query(q=search, state=state, page=str(number)))

    context = {
        "found": found, "search": search, "state": state, "page_url": page_url,
        "may_change": _is_admin(current_actor(request)),
    }  # fmt: skip
    return render("admin_sites.html", request, context)


# ---------------------------------------------------------------- a house's form


@dataclass(frozen=True, slots=True)
class SiteForm:
    """A house's form as typed: its fields, and its week of opening hours by field name
    (`hours_<weekday>_<n>_start` / `_end`, n = 1 the morning, 2 the afternoon)."""

    name: str = ""
    commune: str = ""
    timezone: str = "Europe/Paris"
    holiday_calendar: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    hours: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, form: Mapping[str, str]) -> SiteForm:
        hours = {name: form.get(name, "").strip() for name in _hour_fields()}
        return cls(
            name=form.get("name", "").strip(), commune=form.get("commune", "").strip(),
            timezone=form.get("timezone", "").strip(),
            holiday_calendar=form.get("holiday_calendar", "").strip(),
            address=form.get("address", "").strip(), email=form.get("email", "").strip(),
            phone=form.get("phone", "").strip(), hours=hours,
        )  # fmt: skip

    @classmethod
    def of_site(cls, site: SiteView, email: str = "", phone: str = "") -> SiteForm:
        hours: dict[str, str] = {}
        count: dict[int, int] = {}
        for opening in site.opening_hours:
            count[opening.weekday] = count.get(opening.weekday, 0) + 1
            n = count[opening.weekday]
            if n <= RANGES_A_DAY:
                hours[f"hours_{opening.weekday}_{n}_start"] = opening.start
                hours[f"hours_{opening.weekday}_{n}_end"] = opening.end
        return cls(
            name=site.name, commune=site.commune, timezone=site.timezone,
            holiday_calendar=site.holiday_calendar or "", address=site.address, email=email,
            phone=phone, hours=hours,
        )  # fmt: skip

    def document(self) -> dict[str, object]:
        """What the API would be sent, for its models to check; a range half typed is an
        error of its own (`errors`)."""
        opening = []
        for weekday in range(1, 8):
            for n in range(1, RANGES_A_DAY + 1):
                start = self.hours.get(f"hours_{weekday}_{n}_start", "")
                end = self.hours.get(f"hours_{weekday}_{n}_end", "")
                if start or end:
                    opening.append({"weekday": weekday, "start": start, "end": end})
        return {
            "name": self.name, "commune": self.commune, "timezone": self.timezone,
            "holiday_calendar": self.holiday_calendar or None,
            "opening_hours": opening, "address": self.address,
            "email": self.email or None, "phone": self.phone or None,
        }  # fmt: skip

    def hidden(self) -> list[tuple[str, str]]:
        names = ("name", "commune", "timezone", "holiday_calendar", "address", "email", "phone")
        return [(name, getattr(self, name)) for name in names] + sorted(self.hours.items())


def _hour_fields() -> list[str]:
    return [
        f"hours_{weekday}_{n}_{end}"
        for weekday in range(1, 8)
        for n in range(1, RANGES_A_DAY + 1)
        for end in ("start", "end")
    ]


def _form_errors(error: ValidationError, typed: SiteForm) -> dict[str, str]:
    """The API's messages put beside the form's fields: an opening range's by its day."""
    errors: dict[str, str] = {}
    ranges = [
        (weekday, n)
        for weekday in range(1, 8)
        for n in range(1, RANGES_A_DAY + 1)
        if typed.hours.get(f"hours_{weekday}_{n}_start")
        or typed.hours.get(f"hours_{weekday}_{n}_end")
    ]
    for name, message in fields_of(error).items():
        if name.startswith("opening_hours."):
            index = int(name.split(".")[1])
            weekday, _range = ranges[index] if index < len(ranges) else (1, 1)
            errors.setdefault(f"hours_{weekday}", message)
        else:
            errors[name] = message
    return errors


def _opening(body: SiteCreate | SitePatch) -> list[setup.OpeningRange]:
    return [
        setup.OpeningRange(weekday=hours.weekday, start=hours.start, end=hours.end)
        for hours in body.opening_hours or []
    ]


async def new_site_form(request: web.Request) -> web.Response:
    setup.require_admin(current_actor(request))
    return _site_page(request, None, SiteForm())


async def create_site(request: web.Request) -> web.StreamResponse:
    actor = current_actor(request)
    setup.require_admin(actor)
    typed = SiteForm.of(await posted_form(request))
    try:
        body = SiteCreate.model_validate(typed.document())
        site = await setup.create_site(
            request[DB], actor, name=body.name, commune=body.commune, timezone=body.timezone,
            holiday_calendar=body.holiday_calendar, opening_hours=_opening(body),
            address=body.address, email=body.email, phone=body.phone, now=now(request),
        )  # fmt: skip
    except ValidationError as refused:
        return _site_page(request, None, typed, errors=_form_errors(refused, typed), status=422)
    except InvalidInput as refused:
        return _site_page(request, None, typed, errors=_site_errors(refused), status=422)
    raise _back(request, "admin_site", site.id, "created")


def _site_errors(refused: InvalidInput) -> dict[str, str]:
    errors = field_errors(refused)
    if "opening_hours" in errors:
        errors["hours_1"] = errors.pop("opening_hours")
    return errors


def _back(request: web.Request, name: str, site_id: int, done: str) -> web.HTTPSeeOther:
    url = request.app.router[name].url_for(id=str(site_id)).with_query(done=done)
    return web.HTTPSeeOther(str(url))


def _site_page(
    request: web.Request, site: SiteView | None, typed: SiteForm, *,
    errors: Mapping[str, str] | None = None, status: int = 200,
    extra: Mapping[str, object] | None = None,
) -> web.Response:  # fmt: skip
    context: dict[str, object] = {
        "site": site, "typed": typed, "errors": dict(errors or {}),
        "timezones": zone_choices(typed.timezone),
        "calendars": _calendar_choices(), "ranges": range(1, RANGES_A_DAY + 1),
        "weekdays": list(enumerate((name for name, _entries in week_days([])), start=1)),
        "may_change": _is_admin(current_actor(request)),
        "done": None, "closures": [], "grid": [], "stranded": None, "closure_typed": AbsenceForm(),
        "closure_station": "", "closure_errors": {}, "problem": None, "stations_by_id": {},
    }  # fmt: skip
    context.update(extra or {})
    return render("admin_site.html", request, context, status=status)


async def site_page(request: web.Request) -> web.Response:
    return await _full_site_page(request, match_int(request, "id"))


async def _full_site_page(
    request: web.Request, site_id: int, *, typed: SiteForm | None = None,
    errors: Mapping[str, str] | None = None, status: int = 200, **extra: object,
) -> web.Response:  # fmt: skip
    """The house's page: its form (or its details, read-only), stations, closures to come
    and the permanences that serve it as a week grid."""
    session, actor, moment = request[DB], current_actor(request), now(request)
    site = await setup.get_site(session, actor, site_id)
    closures = await setup.list_closures(session, actor, site_id, include_past=False, now=moment)
    serving = await setup.permanences_serving(session, actor, site_id)
    router = request.app.router
    entries = []
    for agent, rule in serving:
        notes = []
        if rule.every_weeks > 1:
            notes.append(_("every %(count)s weeks", count=rule.every_weeks))
        if rule.valid_until is not None:
            notes.append(_("until %(day)s", day=rule.valid_until.isoformat()))
        url = (
            str(router["admin_agent"].url_for(id=str(agent.id))) if "admin_agent" in router else ""
        )
        entries += [
            GridEntry(weekday, rule.start, rule.end, agent.name, ", ".join(notes), url)
            for weekday in rule.weekdays
        ]
    done = request.query.get("done", "")
    context = {
        "done": str(DONE[done]) if done in DONE and status == 200 else None,
        "closures": [(_closure_when(closure, site.timezone), closure) for closure in closures],
        "grid": week_days(entries),
        "stations_by_id": {station.id: station for station in site.stations},
        **extra,
    }
    return _site_page(request, site, typed or SiteForm.of_site(site), errors=errors, status=status,
                      extra=context)  # fmt: skip


def _closure_when(closure: ClosureView, timezone: str) -> str:
    return (
        f"{format_datetime(closure.start, timezone, style='medium')} – "
        f"{format_datetime(closure.end, timezone, style='medium')}"
    )


async def change_site(request: web.Request) -> web.StreamResponse:
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    typed = SiteForm.of(await posted_form(request))
    try:
        body = SitePatch.model_validate(typed.document())
        given = {name: getattr(body, name) for name in body.model_fields_set}
        given["opening_hours"] = _opening(body)
        await setup.change_site(
            request[DB], actor, site_id, setup.SiteChanges(**given), now=now(request)
        )
    except ValidationError as refused:
        errors = _form_errors(refused, typed)
        return await _full_site_page(request, site_id, typed=typed, errors=errors, status=422)
    except InvalidInput as refused:
        errors = _site_errors(refused)
        return await _full_site_page(request, site_id, typed=typed, errors=errors, status=422)
    raise _back(request, "admin_site", site_id, "saved")


async def change_site_state(request: web.Request) -> web.StreamResponse:
    """Close the house for good (refused while appointments are to come there: the page
    says so) or open it again."""
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    form = await posted_form(request)
    try:
        await setup.change_site(
            request[DB], actor, site_id, setup.SiteChanges(active=form.get("active") == "1"),
            now=now(request),
        )  # fmt: skip
    except InUse as refused:
        return await _full_site_page(request, site_id, status=409, problem=_in_use(refused))
    raise _back(request, "admin_site", site_id, "saved")


def _in_use(refused: InUse) -> str:
    count = refused.extra.get("appointments_count")
    if isinstance(count, int):
        return ngettext(
            "%(num)d appointment to come is booked here: move or cancel it first.",
            "%(num)d appointments to come are booked here: move or cancel them first.",
            count,
        )
    return str(refused.message)


async def delete_site(request: web.Request) -> web.StreamResponse:
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    await posted_form(request)
    try:
        await setup.delete_site(request[DB], actor, site_id, now=now(request))
    except InUse as refused:
        return await _full_site_page(request, site_id, status=409, problem=str(refused.message))
    url = request.app.router["admin_sites"].url_for().with_query(done="removed")
    raise web.HTTPSeeOther(str(url))


# ---------------------------------------------------------------- stations


async def create_station(request: web.Request) -> web.StreamResponse:
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    form = await posted_form(request)
    try:
        body = StationCreate.model_validate({"name": form.get("station_name", "").strip()})
        await setup.create_station(
            request[DB], actor, site_id=site_id, name=body.name, now=now(request)
        )
    except ValidationError as refused:
        errors = {"station_name": next(iter(fields_of(refused).values()))}
        return await _full_site_page(request, site_id, errors=errors, status=422)
    except InvalidInput as refused:
        errors = field_errors(refused, {"name": "station_name"})
        return await _full_site_page(request, site_id, errors=errors, status=422)
    raise _back(request, "admin_site", site_id, "station")


async def change_station(request: web.Request) -> web.StreamResponse:
    """Take a station out of service (with the second step when appointments are booked
    on it) or back into service."""
    actor, site_id = current_actor(request), match_int(request, "id")
    station_id = match_int(request, "station_id")
    setup.require_admin(actor)
    form = await posted_form(request)
    active = form.get("active") == "1"
    try:
        await setup.change_station(
            request[DB], actor, site_id, station_id, active=active,
            confirm=form.get("confirm") == "1", links=request.app[LINKS], now=now(request),
        )  # fmt: skip
    except WouldStrand as asked:
        action = request.app.router["admin_station_change"].url_for(
            id=str(site_id), station_id=str(station_id)
        )
        stranded = {"rows": stranded_rows(asked.stranded), "action": str(action),
                    "fields": [("active", "0")]}  # fmt: skip
        return await _full_site_page(request, site_id, status=409, stranded=stranded)
    raise _back(request, "admin_site", site_id, "station")


# ---------------------------------------------------------------- closures


async def create_closure(request: web.Request) -> web.StreamResponse:
    """Close the house or one station for a while, on the house's clock; the second step
    when it falls on booked appointments."""
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    session = request[DB]
    form = await posted_form(request)
    typed = AbsenceForm.of(form)
    station = form.get("station_id", "")
    site = await setup.get_site(session, actor, site_id)
    try:
        start, end = typed.range(site.timezone)
        body = ClosureCreate.model_validate({
            "start": start, "end": end, "reason": typed.reason,
            "station_id": int(station) if station.isdigit() else None,
        })  # fmt: skip
        await setup.create_closure(
            session, actor, site_id=site_id, start=body.start, end=body.end, reason=body.reason,
            station_id=body.station_id, confirm=form.get("confirm") == "1",
            links=request.app[LINKS], now=now(request),
        )  # fmt: skip
    except (InvalidInput, ValidationError) as refused:
        if isinstance(refused, ValidationError):
            errors = fields_of(refused)
        else:
            errors = field_errors(refused)
        errors = {_CLOSURE_FIELD.get(name, name): text for name, text in errors.items()}
        return await _full_site_page(
            request, site_id, status=422, closure_typed=typed, closure_station=station,
            closure_errors=errors,
        )  # fmt: skip
    except WouldStrand as asked:
        action = request.app.router["admin_closure_create"].url_for(id=str(site_id))
        fields = [(name, getattr(typed, name)) for name in (
            "start_date", "start_time", "end_date", "end_time", "reason")]  # fmt: skip
        stranded = {"rows": stranded_rows(asked.stranded), "action": str(action),
                    "fields": [*fields, ("station_id", station)]}  # fmt: skip
        return await _full_site_page(
            request, site_id, status=409, stranded=stranded, closure_typed=typed,
            closure_station=station,
        )  # fmt: skip
    raise _back(request, "admin_site", site_id, "closure")


# The service's names of a closure's fields → the form's.
_CLOSURE_FIELD = {"start": "start_date", "end": "end_date", "station_id": "station_id"}


async def delete_closure(request: web.Request) -> web.StreamResponse:
    actor, site_id = current_actor(request), match_int(request, "id")
    setup.require_admin(actor)
    await posted_form(request)
    await setup.delete_closure(
        request[DB], actor, site_id, match_int(request, "closure_id"), now=now(request)
    )
    raise _back(request, "admin_site", site_id, "closure_removed")
