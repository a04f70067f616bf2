"""Administrators' pages for partners and their motives: the partners' list (a search, in
the network or gone, a page at a time), a partner's page with its motives, a motive's page
with every setting explained in plain words.

Administrators edit. The other roles that read the set-up (coordinators, desks, partner
agents) see the same pages as text, without a form or a button, and their posts are
refused as the JSON API refuses them. The set-up services decide what is allowed and the
API's request models check the forms; these pages only read the forms and show the
answers, each problem beside its field, what was typed kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal
from pydantic import ValidationError

from visio.handlers.api import current_actor, match_int, now
from visio.handlers.render import posted_form, render
from visio.handlers.schemas import (
    MotiveCreate,
    MotivePatch,
    PartnerCreate,
    PartnerListQuery,
    PartnerPatch,
)
from visio.handlers.setup_pages import field_errors
from visio.handlers.validation import fields_of, parse_query
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.i18n import ngettext
from visio.keys import DB, LOCALE
from visio.services import setup
from visio.services.errors import DomainError, InUse, InvalidInput
from visio.services.permissions import Action, Actor, may, require
from visio.services.records import MotiveView, PartnerView, reference_of
from visio.services.setup.partners import partner_motives

PARTNERS_PER_PAGE = 25

DONE = {
    "partner_created": _l("The partner is created: add the motives it offers."),
    "partner_saved": _l("The partner is saved."),
    "partner_deleted": _l("The partner is removed, with its motives."),
    "motive_created": _l("The motive is created: it is offered wherever the partner's "
                         "permanences take it."),
    "motive_saved": _l("The motive is saved. Appointments already booked keep their times."),
    "motive_deleted": _l("The motive is removed."),
}  # fmt: skip
STATES = {
    "active": _l("In the network"),
    "inactive": _l("Gone from the network"),
    "all": _l("All partners"),
}

# What the API's models say of the motives' settings: the hints say the same limits.
_MOTIVE_SCHEMA: dict[str, Any] = MotiveCreate.model_json_schema()["properties"]


def _reader(request: web.Request) -> Actor:
    """The signed-in person, if their role reads the set-up (nobody signed in: to the
    sign-in page; others: refused as the API refuses them)."""
    actor = current_actor(request)
    require(actor, Action.READ_SET_UP)
    return actor


def _editor(request: web.Request) -> Actor:
    """The signed-in administrator: anyone else is refused before the form is read."""
    actor = current_actor(request)
    require(actor, Action.SET_UP)
    return actor


def _done(request: web.Request) -> str | None:
    done = request.query.get("done", "")
    return str(DONE[done]) if done in DONE else None


def span(minutes: int) -> str:
    """A number of minutes in plain words: whole days or hours as such, else minutes."""
    if minutes and minutes % (24 * 60) == 0:
        return ngettext("%(num)d day", "%(num)d days", minutes // (24 * 60))
    if minutes and minutes % 60 == 0:
        return ngettext("%(num)d hour", "%(num)d hours", minutes // 60)
    return ngettext("%(num)d minute", "%(num)d minutes", minutes)


def uses_words(uses: Mapping[str, int]) -> list[str]:
    """What still uses a record (a refusal's `uses`), in words: "2 agents"."""
    words: dict[str, Callable[[int], str]] = {
        "agents": lambda n: ngettext("%(num)d agent", "%(num)d agents", n),
        "appointments": lambda n: ngettext("%(num)d appointment", "%(num)d appointments", n),
        "desk_requests": lambda n: ngettext(
            "%(num)d request recorded at a desk", "%(num)d requests recorded at a desk", n
        ),
        "permanences": lambda n: ngettext("%(num)d permanence", "%(num)d permanences", n),
    }
    return [
        words[name](count) if name in words else f"{name}: {count}" for name, count in uses.items()
    ]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A change or a removal refused because something still needs the record: the
    service's message, what uses it, and the appointments to come it would leave."""

    message: str
    uses: list[str] = field(default_factory=list)
    appointments: list[tuple[int, str, str]] = field(default_factory=list)  # id, ref, when
    appointments_count: int = 0

    @classmethod
    def of(cls, refused: InUse, locale: str) -> Refusal:
        extra: Mapping[str, Any] = refused.extra
        appointments = []
        for listed in extra.get("appointments", []):
            start = datetime.fromisoformat(str(listed["start"]))  # in its house's time
            when = babel_format_datetime(start, "medium", tzinfo=start.tzinfo, locale=locale)
            appointments.append((int(listed["id"]), reference_of(int(listed["id"])), when))
        return cls(
            message=str(refused.message),
            uses=uses_words(extra.get("uses", {})),
            appointments=appointments,
            appointments_count=int(extra.get("appointments_count", len(appointments))),
        )


@dataclass(frozen=True, slots=True)
class FormField:
    """A field as a page writes it: its name (the API's), label, hint, and how it is
    typed: a line of text, a number, one item a line, a long text, or a tick box."""

    name: str
    label: str
    hint: str = ""
    kind: Literal["text", "number", "lines", "long", "check"] = "text"
    maxlength: int | None = None
    required: bool = False


def _problems(
    found: Mapping[str, str], fields: Sequence[FormField], items: Mapping[str, list[str]]
) -> dict[str, str]:
    """One message per field of the form, in the form's words: a field's item (`documents.2`)
    is said by its line or its value; anything not a field of the form goes to the first."""
    names = [form_field.name for form_field in fields]
    problems: dict[str, str] = {}
    for path, message in found.items():
        name, _dot, index = path.partition(".")
        if name not in names:
            name = names[0]
        elif index.isdigit() and name in items and int(index) < len(items[name]):
            if name == "documents":
                message = _("Line %(number)s: %(message)s", number=int(index) + 1,
                            message=message)  # fmt: skip
            else:
                message = _("%(value)s: %(message)s", value=items[name][int(index)],
                            message=message)  # fmt: skip
        problems.setdefault(name, message)
    return problems


def _refused(error: ValidationError | DomainError) -> dict[str, str]:
    return fields_of(error) if isinstance(error, ValidationError) else field_errors(error)


# ---------------------------------------------------------------- the list


async def partners_page(request: web.Request) -> web.Response:
    """The partners by code: a search in codes and names, in the network or gone, a page at
    a time; each links to its page."""
    actor = _reader(request)
    known = ("q", "state", "page")
    query = parse_query(PartnerListQuery, {k: v for k in known if (v := request.query.get(k))})
    found = await setup.find_partners(
        request[DB], actor, search=query.q, state=query.state, page=query.page,
        per_page=PARTNERS_PER_PAGE,
    )  # fmt: skip

    def page_url(number: int) -> str:
        return str(request.rel_url.update_query(page=str(number)))

    context = {
        "found": found,
        "query": query,
        "states": [(value, str(label)) for value, label in STATES.items()],
        "page_url": page_url,
        "editable": may(actor, Action.SET_UP),
        "done": _done(request),
    }
    return render("admin_partners.html", request, context)


# ---------------------------------------------------------------- one partner


@dataclass(frozen=True, slots=True)
class PartnerForm:
    """A partner's form as typed (or as the partner stands), kept as text to show again."""

    code: str = ""
    name: str = ""
    active: bool = True

    @classmethod
    def posted(cls, form: Mapping[str, str]) -> PartnerForm:
        return cls(
            code=form.get("code", "").strip(),
            name=form.get("name", "").strip(),
            active=form.get("active") == "1",
        )

    @classmethod
    def of(cls, partner: PartnerView) -> PartnerForm:
        return cls(code=partner.code, name=partner.name, active=partner.active)


def partner_fields(*, new: bool) -> list[FormField]:
    """The partner's form, in its order on the page (the error summary follows it)."""
    fields = [
        FormField("code", _("Code"), _("2 to 32 letters, digits, - or _, unique; written in "
                  "capitals. Pages and exports show it."), maxlength=32, required=True),
        FormField("name", _("Name"), _("The organisation's name as people know it."),
                  maxlength=160, required=True),
    ]  # fmt: skip
    if not new:
        fields.append(FormField(
            "active", _("In the network"), _("Untick when the partner leaves the network: it "
            "is no longer offered for booking and keeps its history. Refused while "
            "appointments with it are to come."), kind="check",
        ))  # fmt: skip
    return fields


def partner_facts(partner: PartnerView) -> list[tuple[str, str | list[str]]]:
    """The partner as text, for those who read the set-up without changing it."""
    state = _("in the network") if partner.active else _("gone from the network")
    return [(_("Code"), partner.code), (_("Name"), partner.name), (_("State"), state)]


async def _partner_page(
    request: web.Request,
    actor: Actor,
    *,
    partner: PartnerView | None,
    typed: PartnerForm,
    errors: Mapping[str, str] | None = None,
    refusal: Refusal | None = None,
    removal: Refusal | None = None,
    status: int = 200,
) -> web.Response:
    """The new partner's form (`partner` None), or a partner with its form (or its facts,
    read-only) and its motives, offered and retired."""
    motives = [] if partner is None else await partner_motives(request[DB], actor, partner.id)
    context = {
        "partner": partner,
        "typed": typed,
        "errors": dict(errors or {}),
        "fields": partner_fields(new=partner is None),
        "facts": partner_facts(partner) if partner is not None else [],
        "motives": motives,
        "span": span,
        "refusal": refusal,
        "removal": removal,
        "editable": may(actor, Action.SET_UP),
        "done": None if errors or refusal or removal else _done(request),
    }
    return render("admin_partner.html", request, context, status=status)


def _to(request: web.Request, route: str, done: str, **parts: int) -> web.HTTPSeeOther:
    """A redirect after a change, the page saying it is done."""
    url = request.app.router[route].url_for(**{k: str(v) for k, v in parts.items()})
    return web.HTTPSeeOther(location=url.with_query(done=done))


async def new_partner_form(request: web.Request) -> web.Response:
    actor = _editor(request)
    return await _partner_page(request, actor, partner=None, typed=PartnerForm())


async def create_partner(request: web.Request) -> web.StreamResponse:
    """Create the partner, checked as the API checks it; refused: the form again, 422, what
    was typed kept and each problem beside its field."""
    actor = _editor(request)
    typed = PartnerForm.posted(await posted_form(request))
    try:
        checked = PartnerCreate.model_validate({"code": typed.code, "name": typed.name})
        partner = await setup.create_partner(
            request[DB], actor, code=checked.code, name=checked.name, now=now(request)
        )
    except (ValidationError, InvalidInput) as refused:
        errors = _problems(_refused(refused), partner_fields(new=True), {})
        return await _partner_page(
            request, actor, partner=None, typed=typed, errors=errors, status=422
        )
    raise _to(request, "admin_partner", "partner_created", id=partner.id)


async def partner_page(request: web.Request) -> web.Response:
    actor = _reader(request)
    partner = await setup.get_partner(request[DB], actor, match_int(request, "id"))
    return await _partner_page(request, actor, partner=partner, typed=PartnerForm.of(partner))


async def change_partner(request: web.Request) -> web.StreamResponse:
    """Correct the partner's code or name, or mark it gone from the network or back: every
    field of the form is given. Marking it gone while appointments with it are to come is
    refused (409), those appointments listed beside the field."""
    actor = _editor(request)
    partner_id = match_int(request, "id")
    typed = PartnerForm.posted(await posted_form(request))
    session = request[DB]
    partner = await setup.get_partner(session, actor, partner_id)
    try:
        checked = PartnerPatch.model_validate(
            {"code": typed.code, "name": typed.name, "active": typed.active}
        )
        given = {name: getattr(checked, name) for name in checked.model_fields_set}
        await setup.change_partner(session, actor, partner_id, **given, now=now(request))
    except InUse as refused:
        refusal = Refusal.of(refused, request[LOCALE])
        return await _partner_page(
            request, actor, partner=partner, typed=typed, errors={"active": refusal.message},
            refusal=refusal, status=409,
        )  # fmt: skip
    except (ValidationError, InvalidInput) as refused:
        errors = _problems(_refused(refused), partner_fields(new=False), {})
        return await _partner_page(
            request, actor, partner=partner, typed=typed, errors=errors, status=422
        )
    raise _to(request, "admin_partner", "partner_saved", id=partner_id)


async def delete_partner(request: web.Request) -> web.StreamResponse:
    """Remove a partner created by mistake, with its motives; one with agents or a history
    is kept (409), the page saying what uses it."""
    actor = _editor(request)
    partner_id = match_int(request, "id")
    await posted_form(request)
    session = request[DB]
    partner = await setup.get_partner(session, actor, partner_id)
    try:
        await setup.delete_partner(session, actor, partner_id, now=now(request))
    except InUse as refused:
        return await _partner_page(
            request, actor, partner=partner, typed=PartnerForm.of(partner),
            removal=Refusal.of(refused, request[LOCALE]), status=409,
        )  # fmt: skip
    location = request.app.router["admin_partners"].url_for().with_query(done="partner_deleted")
    raise web.HTTPSeeOther(location=location)


# ---------------------------------------------------------------- one motive


def _limits(name: str) -> tuple[int, int]:
    """The least and greatest value the API's model admits for a motive's number."""
    schema = _MOTIVE_SCHEMA[name]
    if "anyOf" in schema:  # may be left empty
        schema = next(kind for kind in schema["anyOf"] if kind.get("type") == "integer")
    return int(schema["minimum"]), int(schema["maximum"])


def _text_of(name: str, value: object) -> str:
    """A motive's setting as its form field holds it."""
    if value is None:
        return ""
    if name == "documents" and isinstance(value, list):
        return "\n".join(str(line) for line in value)
    if name == "reminder_offsets_minutes" and isinstance(value, list):
        return ", ".join(str(minutes) for minutes in value)
    return str(value)


def _one_a_line(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _pieces(text: str) -> list[str]:
    return [piece for piece in re.split(r"[\s,;]+", text) if piece]


# The settings of a motive, in their order on the page; `active` on a motive's own page only.
MOTIVE_SETTINGS = (
    "name", "duration_minutes", "slot_step_minutes", "buffer_before_minutes",
    "buffer_after_minutes", "min_notice_minutes", "horizon_days", "documents", "instructions",
    "reminder_offsets_minutes",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MotiveForm:
    """A motive's form as typed (or as the motive stands), kept as text to show again;
    numbers stay text until the API's model reads them, so a slip is shown as typed."""

    name: str = ""
    duration_minutes: str = ""
    slot_step_minutes: str = ""
    buffer_before_minutes: str = ""
    buffer_after_minutes: str = ""
    min_notice_minutes: str = ""
    horizon_days: str = ""
    documents: str = ""
    instructions: str = ""
    reminder_offsets_minutes: str = ""
    active: bool = True

    @classmethod
    def new(cls) -> MotiveForm:
        """An empty form holding the API's defaults (no buffer, an hour's notice…)."""
        defaults = {
            name: _text_of(name, info.get_default(call_default_factory=True))
            for name, info in MotiveCreate.model_fields.items()
            if not info.is_required()
        }
        return cls(**defaults, active=True)

    @classmethod
    def posted(cls, form: Mapping[str, str]) -> MotiveForm:
        # Text areas come with the browser's line ends (\r\n): one kind is kept.
        text = {name: form.get(name, "").replace("\r\n", "\n") for name in MOTIVE_SETTINGS}
        return cls(
            **{name: value if name in ("documents", "instructions") else value.strip()
               for name, value in text.items()},
            active=form.get("active") == "1",
        )  # fmt: skip

    @classmethod
    def of(cls, motive: MotiveView) -> MotiveForm:
        return cls(
            **{name: _text_of(name, getattr(motive, name)) for name in MOTIVE_SETTINGS},
            active=motive.active,
        )

    def values(self) -> dict[str, object]:
        """The settings as the API's motive models read them: the documents one a line,
        the reminders' minutes separated by commas or spaces, an empty step for none."""
        values: dict[str, object] = {name: getattr(self, name) for name in MOTIVE_SETTINGS}
        values["slot_step_minutes"] = self.slot_step_minutes or None
        values["documents"] = _one_a_line(self.documents)
        values["reminder_offsets_minutes"] = _pieces(self.reminder_offsets_minutes)
        return values

    def items(self) -> dict[str, list[str]]:
        """The listed settings' items as typed, to name the one refused."""
        return {
            "documents": _one_a_line(self.documents),
            "reminder_offsets_minutes": _pieces(self.reminder_offsets_minutes),
        }


def motive_labels() -> dict[str, str]:
    """Each setting's label, in the reader's language."""
    return {
        "name": _("Name"),
        "duration_minutes": _("Duration"),
        "slot_step_minutes": _("Time between the start times offered"),
        "buffer_before_minutes": _("Time kept free before"),
        "buffer_after_minutes": _("Time kept free after"),
        "min_notice_minutes": _("Minimum notice"),
        "horizon_days": _("How far ahead"),
        "documents": _("Documents to bring"),
        "instructions": _("Instructions"),
        "reminder_offsets_minutes": _("Reminders"),
        "active": _("Offered for booking"),
    }


def motive_fields(locale: str, *, new: bool) -> list[FormField]:
    """The motive's form, in its order on the page, each hint saying the limits the API's
    model checks (numbers written as `locale` writes them)."""

    def number(value: int) -> str:
        return format_decimal(value, locale=locale)

    def between(name: str) -> dict[str, str]:
        least, most = _limits(name)
        return {"least": number(least), "most": number(most)}

    label = motive_labels()
    reminders = _MOTIVE_SCHEMA["reminder_offsets_minutes"]
    documents = _MOTIVE_SCHEMA["documents"]
    notice_most = _limits("min_notice_minutes")[1]
    reminder_least, reminder_most = reminders["items"]["minimum"], reminders["items"]["maximum"]
    fields = [
        FormField("name", label["name"], _("The démarche as desks, agents and citizens read "
                  "it; unique among the partner's motives."), maxlength=160, required=True),
        FormField("duration_minutes", label["duration_minutes"], _("In minutes, from "
                  "%(least)s to %(most)s: how long the appointment lasts.",
                  **between("duration_minutes")), kind="number", required=True),
        FormField("slot_step_minutes", label["slot_step_minutes"],
                  _("In minutes, from %(least)s to %(most)s: how far apart the times offered "
                    "for booking are. Leave empty to use the duration.",
                    **between("slot_step_minutes")), kind="number"),
        FormField("buffer_before_minutes", label["buffer_before_minutes"],
                  _("In minutes, from %(least)s to %(most)s: the agent's time before each "
                    "appointment, to prepare it; 0 for none.",
                    **between("buffer_before_minutes")), kind="number", required=True),
        FormField("buffer_after_minutes", label["buffer_after_minutes"],
                  _("In minutes, from %(least)s to %(most)s: the agent's time after each "
                    "appointment, to follow it up; 0 for none.",
                    **between("buffer_after_minutes")), kind="number", required=True),
        FormField("min_notice_minutes", label["min_notice_minutes"],
                  _("In minutes, from %(least)s to %(most)s (%(span)s): how long before its "
                    "start an appointment may still be booked. 60 is an hour, 1440 a day.",
                    **between("min_notice_minutes"), span=span(notice_most)),
                  kind="number", required=True),
        FormField("horizon_days", label["horizon_days"],
                  _("In days, from %(least)s to %(most)s: how far ahead appointments may be "
                    "booked.", **between("horizon_days")), kind="number", required=True),
        FormField("documents", label["documents"],
                  _("One a line, at most %(count)s lines of %(length)s characters: what the "
                    "citizen brings. The confirmation and the emails list them.",
                    count=number(documents["maxItems"]),
                    length=number(documents["items"]["maxLength"])), kind="lines"),
        FormField("instructions", label["instructions"],
                  _("At most %(length)s characters: what the citizen should know before the "
                    "appointment. The confirmation and the emails give them.",
                    length=number(_MOTIVE_SCHEMA["instructions"]["maxLength"])), kind="long"),
        FormField("reminder_offsets_minutes", label["reminder_offsets_minutes"],
                  _("How long before the appointment the citizen and the agent get an email "
                    "reminder, in minutes separated by commas: at most %(count)s, each from "
                    "%(least)s to %(most)s (%(span)s). 1440 is the day before, 60 an hour "
                    "before; empty: no reminder.", count=number(reminders["maxItems"]),
                    least=number(reminder_least), most=number(reminder_most),
                    span=span(reminder_most))),
    ]  # fmt: skip
    if not new:
        fields.append(FormField(
            "active", label["active"], _("Untick to retire the motive: no new booking; "
            "appointments already booked keep it, with their history."), kind="check",
        ))  # fmt: skip
    return fields


def motive_facts(motive: MotiveView) -> list[tuple[str, str | list[str]]]:
    """The motive's settings as text, for those who read the set-up without changing it."""
    label = motive_labels()
    step = motive.slot_step_minutes
    reminders = [_("%(span)s before", span=span(minutes))
                 for minutes in motive.reminder_offsets_minutes]  # fmt: skip
    return [
        (label["name"], motive.name),
        (label["duration_minutes"], span(motive.duration_minutes)),
        (label["slot_step_minutes"],
         span(step) if step is not None else _("the duration (%(span)s)",
                                                span=span(motive.duration_minutes))),
        (label["buffer_before_minutes"], span(motive.buffer_before_minutes)),
        (label["buffer_after_minutes"], span(motive.buffer_after_minutes)),
        (label["min_notice_minutes"], span(motive.min_notice_minutes)),
        (label["horizon_days"], ngettext("%(num)d day", "%(num)d days", motive.horizon_days)),
        (label["documents"], list(motive.documents) or _("no document")),
        (label["instructions"], motive.instructions or _("no instructions")),
        (label["reminder_offsets_minutes"], reminders or _("no reminder")),
        (_("State"), _("offered") if motive.active else _("retired")),
    ]  # fmt: skip


async def _motive_page(
    request: web.Request,
    actor: Actor,
    *,
    partner: PartnerView,
    motive: MotiveView | None,
    typed: MotiveForm,
    errors: Mapping[str, str] | None = None,
    removal: Refusal | None = None,
    status: int = 200,
) -> web.Response:
    """A new motive's form for `partner` (`motive` None), or a motive's form (or its
    settings as text, read-only)."""
    context = {
        "partner": partner,
        "motive": motive,
        "typed": typed,
        "errors": dict(errors or {}),
        "fields": motive_fields(request[LOCALE], new=motive is None),
        "facts": motive_facts(motive) if motive is not None else [],
        "removal": removal,
        "editable": may(actor, Action.SET_UP),
        "done": None if errors or removal else _done(request),
    }
    return render("admin_motive.html", request, context, status=status)


async def new_motive_form(request: web.Request) -> web.Response:
    actor = _editor(request)
    partner = await setup.get_partner(request[DB], actor, match_int(request, "id"))
    return await _motive_page(request, actor, partner=partner, motive=None, typed=MotiveForm.new())


async def create_motive(request: web.Request) -> web.StreamResponse:
    """Add a motive to the partner, every setting checked as the API checks it; refused:
    the form again, 422, what was typed kept and each problem beside its field."""
    actor = _editor(request)
    partner_id = match_int(request, "id")
    typed = MotiveForm.posted(await posted_form(request))
    session = request[DB]
    partner = await setup.get_partner(session, actor, partner_id)
    try:
        checked = MotiveCreate.model_validate(typed.values())
        motive = await setup.create_motive(
            session, actor, partner_id=partner_id,
            motive=setup.MotiveSettings(**checked.model_dump()), now=now(request),
        )  # fmt: skip
    except (ValidationError, InvalidInput) as refused:
        fields = motive_fields(request[LOCALE], new=True)
        errors = _problems(_refused(refused), fields, typed.items())
        return await _motive_page(
            request, actor, partner=partner, motive=None, typed=typed, errors=errors, status=422
        )
    raise _to(request, "admin_motive", "motive_created", id=motive.id)


async def motive_page(request: web.Request) -> web.Response:
    actor = _reader(request)
    session = request[DB]
    motive = await setup.get_motive(session, actor, match_int(request, "id"))
    partner = await setup.get_partner(session, actor, motive.partner_id)
    return await _motive_page(
        request, actor, partner=partner, motive=motive, typed=MotiveForm.of(motive)
    )


async def change_motive(request: web.Request) -> web.StreamResponse:
    """Correct the motive's settings, or retire it or offer it again: every field of the
    form is given, each checked as the API checks a correction."""
    actor = _editor(request)
    motive_id = match_int(request, "id")
    typed = MotiveForm.posted(await posted_form(request))
    session = request[DB]
    motive = await setup.get_motive(session, actor, motive_id)
    partner = await setup.get_partner(session, actor, motive.partner_id)
    try:
        checked = MotivePatch.model_validate({**typed.values(), "active": typed.active})
        given = {name: getattr(checked, name) for name in checked.model_fields_set}
        await setup.change_motive(
            session, actor, motive_id, setup.MotiveChanges(**given), now=now(request)
        )
    except (ValidationError, InvalidInput) as refused:
        fields = motive_fields(request[LOCALE], new=False)
        errors = _problems(_refused(refused), fields, typed.items())
        return await _motive_page(
            request, actor, partner=partner, motive=motive, typed=typed, errors=errors,
            status=422,
        )  # fmt: skip
    raise _to(request, "admin_motive", "motive_saved", id=motive_id)


async def delete_motive(request: web.Request) -> web.StreamResponse:
    """Remove a motive created by mistake; one with appointments or permanences is kept
    (409), the page saying what uses it: retire it instead."""
    actor = _editor(request)
    motive_id = match_int(request, "id")
    await posted_form(request)
    session = request[DB]
    motive = await setup.get_motive(session, actor, motive_id)
    partner = await setup.get_partner(session, actor, motive.partner_id)
    try:
        await setup.delete_motive(session, actor, motive_id, now=now(request))
    except InUse as refused:
        return await _motive_page(
            request, actor, partner=partner, motive=motive, typed=MotiveForm.of(motive),
            removal=Refusal.of(refused, request[LOCALE]), status=409,
        )  # fmt: skip
    raise _to(request, "admin_partner", "motive_deleted", id=partner.id)
