"""The desk books a visio in four screens: (1) house and motive, (2) a free slot, (3) the
citizen, (4) the summary, then the printable confirmation.

Each screen is a plain GET form carrying what was chosen before as hidden fields, so the
back button, a reload and a bookmark all work without JavaScript; only the last step
writes (POST, with the form token). A slot taken meanwhile brings the desk back to the
slots, with the reason and everything typed kept.

The summary draws an idempotency key into its form (as the times screen does to move an
appointment): the form sent twice, by a double click or a browser retrying after a lost
answer, books once and shows the first booking's confirmation.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import date, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from visio import web_session
from visio.handlers.api import IDEMPOTENT_REPLAYED, MAX_ID, current_actor, now
from visio.handlers.meeting_pages import clock_time
from visio.handlers.reads import ids_of, record_read
from visio.handlers.render import posted_form, render
from visio.handlers.schemas import CitizenIn
from visio.handlers.validation import day_query, fields_of
from visio.i18n import format_date
from visio.i18n import gettext as _
from visio.keys import DB, LINKS
from visio.services import booking, citizens, idempotency, slots
from visio.services.citizens import CitizenDetails
from visio.services.errors import Conflict, InvalidInput, Malformed, NotFound, SlotUnavailable
from visio.services.permissions import Action, require
from visio.services.records import CitizenView

# How many days the slots screen shows at once.
DAYS_SHOWN = 7
# The hidden field carrying a form's idempotency key, drawn when the form is shown.
RETRY_KEY_FIELD = "idempotency_key"
CITIZEN_FIELDS = ("first_name", "last_name", "birth_date", "email", "phone", "locale")


@dataclass(frozen=True, slots=True)
class Draft:
    """What the desk has chosen so far, as the forms carry it (text, as typed)."""

    site_id: str = ""
    motive_id: str = ""
    slot: str = ""  # "start|agent_id|station_id"
    citizen_id: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: str = ""
    email: str = ""
    phone: str = ""
    locale: str = "fr"
    # Moving an appointment: its id (the free times screen then moves it there).
    move: str = ""

    @classmethod
    def of(cls, values: MultiMapping[str] | Mapping[str, object]) -> Draft:
        return cls(**{f.name: str(values.get(f.name, "") or "") for f in fields(cls)})

    def hidden(self, *leave_out: str) -> list[tuple[str, str]]:
        """The fields to carry to the next screen, but those it asks for again."""
        return [
            (f.name, getattr(self, f.name))
            for f in fields(self)
            if f.name not in leave_out and getattr(self, f.name)
        ]

    def ids(self) -> tuple[int, int]:
        """The house and the motive: both needed past the first screen."""
        try:
            return form_id(self.site_id), form_id(self.motive_id)
        except ValueError:
            raise Malformed(_("Choose a house and a motive first.")) from None

    def chosen_slot(self) -> tuple[datetime, int | None, int | None]:
        """The start, and the agent and station when one time offers only them (None:
        the booking picks among those free then)."""
        try:
            start, agent_id, station_id = self.slot.split("|")
            moment = datetime.fromisoformat(start)
            if moment.tzinfo is None:
                raise ValueError(start)
            return moment, _optional_id(agent_id), _optional_id(station_id)
        except ValueError:
            raise Malformed(_("Choose a free slot first.")) from None


def _private(response: web.Response) -> web.Response:
    """The booking screens carry what the desk typed about a citizen: no cache keeps them
    (a shared desk computer), and the back button asks the server again."""
    response.headers["Cache-Control"] = "no-store"
    return response


def form_id(text: str) -> int:
    """An id as a form or a link carries it: ValueError when it is no number, `NotFound`
    when no record can have it (ids stop at MAX_ID, and PostgreSQL refuses larger numbers
    in a query rather than find nothing)."""
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise NotFound()
    return value


def _optional_id(text: str) -> int | None:
    return form_id(text) if text else None


@dataclass(frozen=True, slots=True)
class TimeChoice:
    """One start time on the free times screen, whoever is free then."""

    value: str  # what the form sends: "start|agent_id|station_id", ids empty for "any"
    time: str
    agents_free: int


# ---------------------------------------------------------------- 1. house and motive


async def book_start(request: web.Request) -> web.Response:
    """Screen 1: the house (preselected when the desk has one), the partner and motive."""
    draft = Draft.of(request.query)
    offered = await booking.options(request[DB], current_actor(request))
    site_id = draft.site_id or (str(offered.sites[0].id) if len(offered.sites) == 1 else "")
    context = {"draft": replace(draft, site_id=site_id), "offered": offered, "step": 1}
    return _private(render("book_start.html", request, context))


# ---------------------------------------------------------------- 2. a free slot


async def book_slots(request: web.Request) -> web.Response:
    """Screen 2: the free slots, day by day from today (or a chosen day), with the agent."""
    return await _slots_page(request, Draft.of(request.query), day_query(request.query, "day"))


async def _slots_page(
    request: web.Request,
    draft: Draft,
    first_day: date | None,
    *,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    site_id, motive_id = draft.ids()
    moment = now(request)
    found = await slots.days_of_slots(
        request[DB], current_actor(request), site_id=site_id, motive_id=motive_id,
        first_day=first_day, days=DAYS_SHOWN, now=moment,
    )  # fmt: skip
    assert found.first_day is not None
    # One choice per start time: the desk picks a time, the booking an agent free then.
    days: dict[date, list[TimeChoice]] = {}
    zone = ZoneInfo(found.timezone)
    for free in found.free_times:
        local = free.start.astimezone(zone)
        days.setdefault(local.date(), []).append(
            TimeChoice(f"{local.isoformat()}||", clock_time(free.start, found.timezone),
                       free.agents_free)
        )  # fmt: skip
    context = {
        "draft": draft,
        "found": found,
        "days": [(format_date(day), day.isoformat(), rows) for day, rows in days.items()],
        "first": format_date(found.first_day, style="long"),
        "next_day": (found.first_day + timedelta(days=DAYS_SHOWN)).isoformat(),
        "previous_day": (found.first_day - timedelta(days=DAYS_SHOWN)).isoformat(),
        "first_iso": found.first_day.isoformat(),
        "carried": urlencode(draft.hidden("slot")),
        "problem": problem,
        "step": 2,
        "retry_key": new_retry_key() if draft.move else "",
    }
    return _private(render("book_slots.html", request, context, status=status))


# ---------------------------------------------------------------- 3. the citizen


async def book_citizen(request: web.Request) -> web.Response:
    """Screen 3: a citizen already known at the desk's houses (search), or a new one."""
    draft = Draft.of(request.query)
    draft.ids()
    draft.chosen_slot()
    return await _citizen_page(request, draft, request.query.get("q", "").strip())


async def _citizen_page(
    request: web.Request,
    draft: Draft,
    search: str,
    *,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    found: list[CitizenView] = []
    if len(search) >= 2:
        found = await citizens.search_citizens(request[DB], current_actor(request), text=search)
        await record_read(request, ids_of(found))
    context = {
        "draft": draft,
        "search": search,
        "found": found,
        "errors": errors or {},
        "fields_typed": CITIZEN_FIELDS,
        "step": 3,
    }
    return _private(render("book_citizen.html", request, context, status=status))


# ---------------------------------------------------------------- 4. the summary


async def book_summary(request: web.Request) -> web.Response:
    """Screen 4: everything at a glance, with the documents to bring; then confirm."""
    draft = Draft.of(request.query)
    return await _summary_page(request, draft)


async def _summary_page(
    request: web.Request, draft: Draft, *, problem: str | None = None, status: int = 200
) -> web.Response:
    site_id, motive_id = draft.ids()
    start, agent_id, _station_id = draft.chosen_slot()
    actor, session = current_actor(request), request[DB]
    try:
        person = await _citizen(request, draft)
    except InvalidInput as invalid:
        errors = {name: str(message) for name, message in invalid.fields.items()}
        return await _citizen_page(request, draft, "", errors=errors, status=422)
    found = await slots.booking_facts(
        session, actor, site_id=site_id, motive_id=motive_id, agent_id=agent_id
    )
    if draft.citizen_id:  # a record picked: its details, read from visio, are shown
        await record_read(request, [int(draft.citizen_id)])
    context = {
        "draft": draft,
        "found": found,
        "person": person,
        "when": format_date(start.date()) + ", " + clock_time(start, found.timezone),
        "agent": found.agent_name,
        "back_to_citizen": urlencode(draft.hidden("citizen_id")),
        "back_to_slots": urlencode(draft.hidden("slot")),
        "problem": problem,
        "step": 4,
        "retry_key": new_retry_key(),
    }
    return _private(render("book_summary.html", request, context, status=status))


async def _citizen(request: web.Request, draft: Draft) -> CitizenDetails:
    """The citizen the draft names (picked, or typed and checked field by field)."""
    if draft.citizen_id:
        try:
            known = await citizens.get_citizen(
                request[DB], current_actor(request), form_id(draft.citizen_id)
            )
        except ValueError:
            raise Malformed() from None
        # The record picked, as the booking takes it: the same fields by name.
        return CitizenDetails(**asdict(known))
    typed = {name: getattr(draft, name) for name in CITIZEN_FIELDS if getattr(draft, name)}
    try:
        checked = CitizenIn.model_validate(typed)
    except ValidationError as error:
        raise InvalidInput(fields=fields_of(error)) from None
    return CitizenDetails(**checked.model_dump())


# ---------------------------------------------------------------- booking


async def book_submit(request: web.Request) -> web.StreamResponse:
    """Book what the summary showed; a slot taken meanwhile goes back to the slots."""
    # Who asks comes first: nobody signed in is sent to sign in, a role that never books is
    # refused, whatever the form holds.
    require(current_actor(request), Action.BOOK)
    form = await posted_form(request)
    claim = await claim_form(request, form)
    draft = Draft.of(form)
    site_id, motive_id = draft.ids()
    start, agent_id, station_id = draft.chosen_slot()
    try:
        person = await _citizen(request, draft)
    except InvalidInput as invalid:
        errors = {name: str(message) for name, message in invalid.fields.items()}
        return await _citizen_page(request, draft, "", errors=errors, status=422)
    wanted = booking.BookingRequest(
        site_id=site_id, motive_id=motive_id, start=start, citizen=person, agent_id=agent_id,
        station_id=station_id,
    )  # fmt: skip
    # The same form sent twice (a double click, a reload): the first booking is the answer,
    # and nothing more is written.
    first = await booking.booked_just_now(
        request[DB], current_actor(request), wanted, now=now(request)
    )
    if first is not None:
        raise await answered(request, claim, _confirmation(request, first))
    try:
        view = await booking.book(
            request[DB], current_actor(request), wanted, now=now(request),
            links=request.app[LINKS],
        )  # fmt: skip
    except SlotUnavailable:
        # Someone else took it: the free slots of that day on, nothing typed lost.
        problem = _("This slot was taken meanwhile: choose another one.")
        return await _slots_page(
            request, replace(draft, slot=""), start.date(), problem=problem,
            status=409,
        )  # fmt: skip
    except Conflict as conflict:
        return await _summary_page(request, draft, problem=str(conflict.message), status=409)
    raise await answered(request, claim, _confirmation(request, view.id))


def _confirmation(request: web.Request, appointment_id: int) -> str:
    location = request.app.router["confirmation"].url_for(id=str(appointment_id))
    return str(location.with_query(booked="1"))


# ---------------------------------------------------------------- a form sent again


def new_retry_key() -> str:
    """A fresh idempotency key for a form about to be shown."""
    return secrets.token_urlsafe(24)


async def claim_form(request: web.Request, form: Mapping[str, str]) -> idempotency.Claim | None:
    """Hold the posted form's idempotency key for its answer (`answered`); None for a
    form without one. A form this desk already sent and had answered (the same key, the
    same fields): its first answer again, the same page, nothing written."""
    sent = form.get(RETRY_KEY_FIELD)
    if not sent:
        return None
    key = idempotency.checked_key(sent, field=RETRY_KEY_FIELD)
    fields = {
        name: value
        for name, value in form.items()
        if name not in (web_session.CSRF_FIELD, RETRY_KEY_FIELD)
    }
    fingerprint = idempotency.request_hash(request.method, request.path, fields)
    claim = await idempotency.claim(
        request[DB], current_actor(request), key, fingerprint, now=now(request),
        field=RETRY_KEY_FIELD,
    )  # fmt: skip
    if claim.first is not None:
        # A form's answer is a redirect: to the page it led to.
        location = claim.first.location or request.path
        raise web.HTTPSeeOther(location=location, headers={IDEMPOTENT_REPLAYED: "true"})
    return claim


async def answered(
    request: web.Request, claim: idempotency.Claim | None, location: str
) -> web.HTTPSeeOther:
    """The redirect that answers a form, kept under its key (if it came with one) for
    the same form sent again."""
    if claim is not None:
        await idempotency.keep(request[DB], claim, idempotency.Answer(303, {}, location))
    return web.HTTPSeeOther(location=location)
