"""Administrators' pages for partner agents: the list (a search, a partner, a house served,
working or gone, a page at a time), a new agent, an agent's page (their details, their
permanences as a week grid, their coming absences) and a permanence's form.

Administrators change things; coordinators and desks (and an agent, for themselves) read
the list and an agent's page within their scope, without any form. The set-up services
decide what is allowed and check each change as the JSON API does; these pages read the
forms, check them with the API's models and show the answers, each problem beside its
field. A change that would leave booked appointments without their agent is shown first
with those appointments (the form's second step); confirmed, it is made and the page says
how many appointments are now to rebook.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime

from aiohttp import web
from multidict import MultiMapping
from pydantic import ValidationError

from visio.handlers.agent_pages import AbsenceForm
from visio.handlers.api import current_actor, match_int, now
from visio.handlers.render import posted_form, render
from visio.handlers.schemas import (
    AbsenceCreate,
    AgentCreate,
    AgentListQuery,
    AgentPatch,
    RuleCreate,
    RulePatch,
)
from visio.handlers.setup_pages import (
    GridEntry,
    stranded_rows,
    week_days,
    weekday_names,
    zone_choices,
    zone_label,
)
from visio.handlers.validation import fields_of, parse_query
from visio.i18n import format_date, format_time, ngettext
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS
from visio.scheduling.calendars import time_zone
from visio.services import setup
from visio.services.errors import InUse, InvalidInput, NotFound
from visio.services.permissions import Action, Actor, may, require
from visio.services.rebooking import WouldStrand
from visio.services.records import AbsenceView, AgentView, RuleView, SiteSummary

AGENTS_PER_PAGE = 25

STATES = {
    "active": _l("Working"),
    "inactive": _l("Left"),
    "all": _l("Working or left"),
}
DONE = {
    "created": _l("The agent is created. Add their permanences below."),
    "saved": _l("The agent is saved."),
    "deleted": _l("The agent is deleted."),
    "rule_created": _l("The permanence is added."),
    "rule_saved": _l("The permanence is saved."),
    "rule_deleted": _l("The permanence is removed."),
    "absence_added": _l("The absence is saved: nobody can book this agent over it."),
    "absence_removed": _l("The absence is removed: their permanences offer slots again."),
}


def _reader(request: web.Request) -> Actor:
    """The signed-in person, if their role reads the set-up (nobody: to the sign-in page);
    which agents they see is the services' call."""
    actor = current_actor(request)
    require(actor, Action.READ_SET_UP)
    return actor


def _editor(request: web.Request) -> Actor:
    """The signed-in administrator: anyone else is refused before the form is read."""
    actor = current_actor(request)
    require(actor, Action.SET_UP)
    return actor


def _problems(
    refused: ValidationError | InvalidInput,
    form_fields: Sequence[str],
    renamed: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """One message per field of the form (`weekdays.2` is the days' field; `renamed` maps a
    model's field to the form's); a message about no field of the form goes beside the
    first."""
    found = fields_of(refused) if isinstance(refused, ValidationError) else refused.fields
    problems: dict[str, str] = {}
    for path, message in found.items():
        name = path.split(".", 1)[0]
        name = (renamed or {}).get(name, name)
        problems.setdefault(name if name in form_fields else form_fields[0], str(message))
    if not problems and not isinstance(refused, ValidationError):
        problems[form_fields[0]] = str(refused.message)
    return problems


@dataclass(frozen=True, slots=True)
class SecondStep:
    """The form's second step: the appointments the change would leave without their
    agent (as `confirm_stranded` shows them), where the confirmation posts what was typed
    again (`fields`, name and value pairs) and where cancelling leads."""

    stranded: list[tuple[str, object]]
    action: str
    fields: list[tuple[str, str]]
    cancel_url: str


def _second_step(
    refused: WouldStrand, action: str, typed: Sequence[tuple[str, str]], cancel_url: str
) -> SecondStep:
    return SecondStep(
        stranded=list(stranded_rows(refused.stranded)), action=action, fields=list(typed),
        cancel_url=cancel_url,
    )  # fmt: skip


async def _confirmed(change: Callable[[bool], Awaitable[object]], confirm: bool) -> int:
    """Make a change that may leave booked appointments without their agent: unconfirmed,
    `WouldStrand` as the service raises it (nothing written); confirmed, how many
    appointments it set aside to rebook (none: the change simply made)."""
    try:
        await change(False)
    except WouldStrand as refused:
        if not confirm:
            raise
        # The service wrote nothing before refusing: asked again, confirmed, it makes the
        # change and sets these same appointments aside.
        await change(True)
        return len(refused.stranded)
    return 0


def _done_location(
    request: web.Request, route: str, done: str, rebook: int = 0, **parts: int
) -> web.HTTPSeeOther:
    """Back to a page after a change, saying what was done (and how many appointments are
    now to rebook)."""
    location = request.app.router[route].url_for(
        **{key: str(value) for key, value in parts.items()}
    )
    query = {"done": done, **({"rebook": str(rebook)} if rebook else {})}
    return web.HTTPSeeOther(location=location.with_query(query))


def _outcome(request: web.Request) -> dict[str, object]:
    """What the page says of the change just made (`?done=`, `?rebook=`)."""
    done = request.query.get("done", "")
    count = request.query.get("rebook", "")
    rebook = int(count) if count.isdigit() and 0 < int(count) <= 100_000 else 0
    return {
        "done": str(DONE[done]) if done in DONE else None,
        "rebook": ngettext(
            "%(num)d appointment is now to rebook: its citizen and agent are told by email, "
            "and its house will set another time.",
            "%(num)d appointments are now to rebook: their citizens and agents are told by "
            "email, and their houses will set other times.",
            rebook,
        ) if rebook else None,
    }  # fmt: skip


# ---------------------------------------------------------------- the list


async def agents_page(request: web.Request) -> web.Response:
    """Agents by name: a search in names and emails, a partner, a house they serve,
    working or gone, a page at a time."""
    actor = _reader(request)
    known = ("q", "partner_id", "site_id", "state", "page")
    query = parse_query(AgentListQuery, {k: v for k in known if (v := request.query.get(k))})
    session = request[DB]
    found = await setup.find_agents(
        session, actor, partner_id=query.partner_id, site_id=query.site_id, search=query.q,
        state=query.state, page=query.page, per_page=AGENTS_PER_PAGE,
    )  # fmt: skip
    partners = (await setup.find_partners(session, actor, state="all")).items
    sites = (await setup.find_sites(session, actor, state="all")).items
    partner_names = {partner.id: partner.name for partner in partners}

    def page_url(number: int) -> str:
        return str(request.rel_url.update_query(page=str(number)))

    context = {
        "found": found,
        "rows": [(agent, partner_names.get(agent.partner_id, "")) for agent in found.items],
        "query": query,
        "partners": partners,
        "sites": sites,
        "states": [(value, str(label)) for value, label in STATES.items()],
        "page_url": page_url,
        "can_edit": may(actor, Action.SET_UP),
        **_outcome(request),
    }
    return render("admin_agents.html", request, context)


# ---------------------------------------------------------------- an agent


@dataclass(frozen=True, slots=True)
class AgentForm:
    """An agent's form as typed (or as the agent stands), kept as text to show again."""

    partner_id: str = ""
    name: str = ""
    email: str = ""
    timezone: str = "Europe/Paris"
    locale: str = "fr"
    left: bool = False

    @classmethod
    def posted(cls, form: Mapping[str, str]) -> AgentForm:
        return cls(
            partner_id=form.get("partner_id", ""), name=form.get("name", "").strip(),
            email=form.get("email", "").strip(), timezone=form.get("timezone", ""),
            locale=form.get("locale", ""), left=form.get("left") == "1",
        )  # fmt: skip

    @classmethod
    def of(cls, agent: AgentView) -> AgentForm:
        return cls(
            partner_id=str(agent.partner_id), name=agent.name, email=agent.email,
            timezone=agent.timezone, locale=agent.locale, left=not agent.active,
        )  # fmt: skip

    def details(self) -> dict[str, object]:
        """The fields both request models read."""
        return {"name": self.name, "email": self.email, "timezone": self.timezone,
                "locale": self.locale}  # fmt: skip

    def pairs(self) -> list[tuple[str, str]]:
        """The correction's fields, posted again by the second step."""
        pairs = [(name, str(value)) for name, value in self.details().items()]
        return pairs + ([("left", "1")] if self.left else [])


# The agent's form's fields, in their order on the page (the error summary follows it).
AGENT_FIELDS = ("partner_id", "name", "email", "timezone", "locale", "left")
# The absence's form's fields; the service names the range's ends, the form has a date
# and a time for each.
ABSENCE_FIELDS = ("start_date", "start_time", "end_date", "end_time", "reason")
_ABSENCE_FIELD_OF = {"start": "start_date", "end": "end_date"}


async def new_agent_form(request: web.Request) -> web.Response:
    actor = _editor(request)
    return await _new_agent_page(request, actor, AgentForm())


async def _new_agent_page(
    request: web.Request, actor: Actor, typed: AgentForm, *,
    errors: Mapping[str, str] | None = None, status: int = 200,
) -> web.Response:  # fmt: skip
    partners = (await setup.find_partners(request[DB], actor)).items
    context = {
        "agent": None,
        "typed": typed,
        "errors": dict(errors or {}),
        "partners": partners,
        "zones": zone_choices(typed.timezone),
        "can_edit": True,
        "second_step": None,
        "problem": None,
        "done": None,
    }
    return render("admin_agent.html", request, context, status=status)


async def create_agent(request: web.Request) -> web.StreamResponse:
    """Create the agent, checked as the API checks it; refused: the form again, 422, what
    was typed kept and each problem beside its field."""
    actor = _editor(request)
    typed = AgentForm.posted(await posted_form(request))
    try:
        checked = AgentCreate.model_validate(
            {**typed.details(), "partner_id": typed.partner_id or None}
        )
        agent = await setup.create_agent(
            request[DB], actor, partner_id=checked.partner_id, name=checked.name,
            email=checked.email, timezone=checked.timezone, locale=checked.locale,
            now=now(request),
        )  # fmt: skip
    except (ValidationError, InvalidInput) as refused:
        errors = _problems(refused, AGENT_FIELDS)
        if "partner_id" in errors:
            errors["partner_id"] = _("Choose one of the partners.")
        return await _new_agent_page(request, actor, typed, errors=errors, status=422)
    raise _done_location(request, "admin_agent", "created", id=agent.id)


async def agent_page(request: web.Request) -> web.Response:
    actor = _reader(request)
    return await _agent_page(request, actor, match_int(request, "id"))


async def _agent_page(
    request: web.Request,
    actor: Actor,
    agent_id: int,
    *,
    typed: AgentForm | None = None,
    absence: AbsenceForm | None = None,
    errors: Mapping[str, str] | None = None,
    second_step: SecondStep | None = None,
    problem: str | None = None,
    status: int = 200,
) -> web.Response:
    """An agent's page: their details (a form for an administrator), their permanences as
    a week grid and a list, their coming absences; when a form was refused, what was typed
    and its `errors`, the `second_step` of a change, or the `problem` that kept the agent
    from being deleted."""
    session, moment = request[DB], now(request)
    agent = await setup.get_agent(session, actor, agent_id)
    rules = await setup.list_rules(session, actor, agent_id)
    absences = await setup.list_absences(session, actor, agent_id, include_past=False, now=moment)
    partner = await setup.get_partner(session, actor, agent.partner_id)
    sites = (await setup.find_sites(session, actor, state="all")).items
    can_edit = may(actor, Action.SET_UP)
    site_names = {site.id: site.name for site in sites}
    motive_names = {motive.id: motive.name for motive in partner.motives}

    def rule_url(rule: RuleView) -> str:
        if not can_edit:
            return ""
        route = request.app.router["admin_rule"]
        return str(route.url_for(id=str(agent_id), rule_id=str(rule.id)))

    described = [_described(rule, site_names, motive_names, rule_url(rule)) for rule in rules]
    context = {
        "agent": agent,
        "partner": partner,
        "can_edit": can_edit,
        "typed": typed or AgentForm.of(agent),
        "absence": absence or AbsenceForm(),
        "errors": dict(errors or {}),
        "zones": zone_choices(agent.timezone),
        "zone_label": zone_label(agent.timezone),
        "days": week_days(_grid_entries(described)),
        "rules": described,
        "absences": [(view, _span(view, agent.timezone)) for view in absences],
        "second_step": second_step,
        "problem": problem,
        "today": moment.astimezone(time_zone(agent.timezone)).date().isoformat(),
        **_outcome(request),
    }
    return render("admin_agent.html", request, context, status=status)


@dataclass(frozen=True, slots=True)
class DescribedRule:
    """A permanence as the agent's page writes it."""

    view: RuleView
    days: str
    houses: str
    motives: str
    note: str
    url: str


def _described(
    rule: RuleView, site_names: Mapping[int, str], motive_names: Mapping[int, str], url: str
) -> DescribedRule:
    names = weekday_names()
    if rule.site_ids is None:
        houses = _("Every house")
    else:
        known = [site_names[site_id] for site_id in rule.site_ids if site_id in site_names]
        others = len(rule.site_ids) - len(known)
        if others:
            known.append(ngettext("%(num)d other house", "%(num)d other houses", others))
        houses = ", ".join(known)
    if rule.motive_ids is None:
        motives = _("Every motive")
    else:
        motives = ", ".join(
            motive_names.get(motive_id, _("motive no. %(id)s (retired)", id=motive_id))
            for motive_id in rule.motive_ids
        )
    notes = []
    if rule.every_weeks > 1:
        notes.append(_("every %(weeks)s weeks", weeks=rule.every_weeks))
    if rule.valid_from is not None:
        notes.append(_("from %(day)s", day=format_date(rule.valid_from, style="long")))
    if rule.valid_until is not None:
        notes.append(_("until %(day)s", day=format_date(rule.valid_until, style="long")))
    return DescribedRule(
        view=rule, days=", ".join(names[day - 1] for day in rule.weekdays), houses=houses,
        motives=motives, note=", ".join(notes), url=url,
    )  # fmt: skip


def _grid_entries(rules: Sequence[DescribedRule]) -> list[GridEntry]:
    """Each permanence on each of its days: its hours, the houses it serves, its notes."""
    return [
        GridEntry(weekday=day, start=rule.view.start, end=rule.view.end, label=rule.houses,
                  note=rule.note, url=rule.url)
        for rule in rules for day in rule.view.weekdays
    ]  # fmt: skip


def _span(view: AbsenceView, timezone: str) -> str:
    """An absence's range on the agent's clock: "16 mars 2026 00:00 to 17 mars 2026 12:00"."""

    def moment(instant: datetime) -> str:
        local = instant.astimezone(time_zone(timezone))
        return f"{format_date(local.date(), style='medium')} {format_time(instant, timezone)}"

    return _("%(start)s to %(end)s", start=moment(view.start), end=moment(view.end))


async def change_agent(request: web.Request) -> web.StreamResponse:
    """Correct the agent, or record that they left: with booked appointments to come,
    those are shown first (the second step); confirmed, they are set aside to rebook."""
    actor = _editor(request)
    agent_id = match_int(request, "id")
    form = await posted_form(request)
    typed = AgentForm.posted(form)
    session, links, moment = request[DB], request.app[LINKS], now(request)
    try:
        checked = AgentPatch.model_validate({**typed.details(), "active": not typed.left})
        given = {name: getattr(checked, name) for name in checked.model_fields_set}

        async def change(confirm: bool) -> None:
            await setup.change_agent(
                session, actor, agent_id, **given, confirm=confirm, links=links, now=moment
            )

        rebook = await _confirmed(change, form.get("confirm") == "1")
    except (ValidationError, InvalidInput) as refused:
        errors = _problems(refused, AGENT_FIELDS[1:])
        return await _agent_page(request, actor, agent_id, typed=typed, errors=errors, status=422)
    except WouldStrand as refused:
        action = request.app.router["admin_agent_change"].url_for(id=str(agent_id))
        step = _second_step(refused, str(action), typed.pairs(), _agent_url(request, agent_id))
        return await _agent_page(
            request, actor, agent_id, typed=typed, second_step=step, status=409
        )
    raise _done_location(request, "admin_agent", "saved", rebook, id=agent_id)


def _agent_url(request: web.Request, agent_id: int) -> str:
    return str(request.app.router["admin_agent"].url_for(id=str(agent_id)))


async def delete_agent(request: web.Request) -> web.StreamResponse:
    """Delete an agent created by mistake; one with a history is refused, the page saying
    what still uses them."""
    actor = _editor(request)
    agent_id = match_int(request, "id")
    await posted_form(request)
    try:
        await setup.delete_agent(request[DB], actor, agent_id, now=now(request))
    except InUse as refused:
        counted = refused.extra.get("uses")
        counts: dict[str, int] = dict(counted) if isinstance(counted, dict) else {}
        held = []
        if counts.get("appointments"):
            held.append(ngettext("%(num)d appointment", "%(num)d appointments",
                                 counts["appointments"]))  # fmt: skip
        if counts.get("users"):
            held.append(ngettext("%(num)d user account", "%(num)d user accounts",
                                 counts["users"]))  # fmt: skip
        problem = _(
            "This agent cannot be deleted: they have a history (%(uses)s). Tick “has left” "
            "and save instead: it stays.",
            uses=", ".join(held),
        )
        return await _agent_page(request, actor, agent_id, problem=problem, status=409)
    raise _done_location(request, "admin_agents", "deleted")


# ---------------------------------------------------------------- absences


async def create_absence(request: web.Request) -> web.StreamResponse:
    """Record an absence of the agent, on their clock: with booked appointments it falls
    on, those are shown first (the second step); confirmed, set aside to rebook."""
    actor = _editor(request)
    agent_id = match_int(request, "id")
    form = await posted_form(request)
    typed = AbsenceForm.of(form)
    session, links, moment = request[DB], request.app[LINKS], now(request)
    agent = await setup.get_agent(session, actor, agent_id)
    try:
        start, end = typed.range(agent.timezone)
        checked = AbsenceCreate.model_validate({"start": start, "end": end, "reason": typed.reason})

        async def add(confirm: bool) -> None:
            await setup.create_absence(
                session, actor, agent_id=agent_id, start=checked.start, end=checked.end,
                reason=checked.reason, confirm=confirm, links=links, now=moment,
            )  # fmt: skip

        rebook = await _confirmed(add, form.get("confirm") == "1")
    except (ValidationError, InvalidInput) as refused:
        errors = _problems(refused, ABSENCE_FIELDS, _ABSENCE_FIELD_OF)
        return await _agent_page(request, actor, agent_id, absence=typed, errors=errors, status=422)
    except WouldStrand as refused:
        action = request.app.router["admin_absence_create"].url_for(id=str(agent_id))
        pairs = [(field.name, getattr(typed, field.name)) for field in fields(AbsenceForm)]
        step = _second_step(refused, str(action), pairs, _agent_url(request, agent_id))
        return await _agent_page(
            request, actor, agent_id, absence=typed, second_step=step, status=409
        )
    raise _done_location(request, "admin_agent", "absence_added", rebook, id=agent_id)


async def delete_absence(request: web.Request) -> web.StreamResponse:
    actor = _editor(request)
    agent_id = match_int(request, "id")
    await posted_form(request)
    await setup.delete_absence(
        request[DB], actor, agent_id, match_int(request, "absence_id"), now=now(request)
    )
    raise _done_location(request, "admin_agent", "absence_removed", id=agent_id)


# ---------------------------------------------------------------- a permanence


@dataclass(frozen=True, slots=True)
class RuleForm:
    """A permanence's form as typed (or as the permanence stands), kept as text."""

    weekdays: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    every_weeks: str = "1"
    anchor_date: str = ""
    valid_from: str = ""
    valid_until: str = ""
    site_ids: tuple[str, ...] = ()
    motive_ids: tuple[str, ...] = ()

    @classmethod
    def posted(cls, form: MultiMapping[object]) -> RuleForm:
        def one(name: str) -> str:
            return str(form.get(name, "")).strip()

        def every(name: str) -> tuple[str, ...]:
            return tuple(str(value) for value in form.getall(name, []))

        return cls(
            weekdays=every("weekdays"), start=one("start"), end=one("end"),
            every_weeks=one("every_weeks"), anchor_date=one("anchor_date"),
            valid_from=one("valid_from"), valid_until=one("valid_until"),
            site_ids=every("site_ids"), motive_ids=every("motive_ids"),
        )  # fmt: skip

    @classmethod
    def of(cls, rule: RuleView) -> RuleForm:
        def day(value: date | None) -> str:
            return value.isoformat() if value is not None else ""

        return cls(
            weekdays=tuple(str(day) for day in rule.weekdays), start=rule.start, end=rule.end,
            every_weeks=str(rule.every_weeks), anchor_date=day(rule.anchor_date),
            valid_from=day(rule.valid_from), valid_until=day(rule.valid_until),
            site_ids=tuple(str(i) for i in rule.site_ids or ()),
            motive_ids=tuple(str(i) for i in rule.motive_ids or ()),
        )  # fmt: skip

    def values(self) -> dict[str, object]:
        """Every field as the permanence's request models read it: an empty date is none,
        no house ticked is every house, no motive every motive."""
        return {
            "weekdays": list(self.weekdays), "start": self.start, "end": self.end,
            "every_weeks": self.every_weeks or 1, "anchor_date": self.anchor_date or None,
            "valid_from": self.valid_from or None, "valid_until": self.valid_until or None,
            "site_ids": list(self.site_ids) or None, "motive_ids": list(self.motive_ids) or None,
        }  # fmt: skip

    def pairs(self) -> list[tuple[str, str]]:
        """Every field as the second step posts it again."""
        pairs: list[tuple[str, str]] = []
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                pairs += [(field.name, item) for item in value]
            else:
                pairs.append((field.name, value))
        return pairs


RULE_FIELDS = tuple(field.name for field in fields(RuleForm))


def _rule_problems(refused: ValidationError | InvalidInput, typed: RuleForm) -> dict[str, str]:
    problems = _problems(refused, RULE_FIELDS)
    if "weekdays" in problems and not typed.weekdays:
        problems["weekdays"] = _("Choose at least one day.")
    return problems


async def new_rule_form(request: web.Request) -> web.Response:
    actor = _editor(request)
    return await _rule_page(request, actor, match_int(request, "id"), None, RuleForm())


async def _rule_page(
    request: web.Request,
    actor: Actor,
    agent_id: int,
    rule: RuleView | None,
    typed: RuleForm,
    *,
    errors: Mapping[str, str] | None = None,
    second_step: SecondStep | None = None,
    status: int = 200,
) -> web.Response:
    """A permanence's form (a new one when `rule` is None), with the houses and the
    partner's motives to tick."""
    session = request[DB]
    agent = await setup.get_agent(session, actor, agent_id)
    partner = await setup.get_partner(session, actor, agent.partner_id)
    sites: list[SiteSummary] = (await setup.find_sites(session, actor, state="all")).items
    motives = [(motive.id, motive.name) for motive in partner.motives]
    offered = {motive_id for motive_id, _name in motives}
    for motive_id in rule.motive_ids or () if rule is not None else ():
        if motive_id not in offered:  # retired since: still named by this permanence
            retired = await setup.get_motive(session, actor, motive_id)
            motives.append((retired.id, _("%(name)s (retired)", name=retired.name)))
    context = {
        "agent": agent,
        "partner": partner,
        "rule": rule,
        "typed": typed,
        "errors": dict(errors or {}),
        "weekdays": list(enumerate(weekday_names(), start=1)),
        "sites": [site for site in sites if site.active or str(site.id) in typed.site_ids],
        "motives": motives,
        "zone_label": zone_label(agent.timezone),
        "second_step": second_step,
    }
    return render("admin_rule.html", request, context, status=status)


async def _rule_of(request: web.Request, actor: Actor, agent_id: int, rule_id: int) -> RuleView:
    for rule in await setup.list_rules(request[DB], actor, agent_id):
        if rule.id == rule_id:
            return rule
    raise NotFound()


async def create_rule(request: web.Request) -> web.StreamResponse:
    """Add a permanence, checked as the API checks it (hours in order, no other
    permanence of the agent at the same time…); refused: the form again, 422."""
    actor = _editor(request)
    agent_id = match_int(request, "id")
    await posted_form(request)
    typed = RuleForm.posted(await request.post())
    try:
        checked = RuleCreate.model_validate(typed.values())
        await setup.create_rule(
            request[DB], actor, agent_id=agent_id,
            rule=setup.RuleSettings(**checked.model_dump()), now=now(request),
        )  # fmt: skip
    except (ValidationError, InvalidInput) as refused:
        errors = _rule_problems(refused, typed)
        return await _rule_page(request, actor, agent_id, None, typed, errors=errors, status=422)
    raise _done_location(request, "admin_agent", "rule_created", id=agent_id)


async def rule_page(request: web.Request) -> web.Response:
    actor = _editor(request)
    agent_id = match_int(request, "id")
    rule = await _rule_of(request, actor, agent_id, match_int(request, "rule_id"))
    return await _rule_page(request, actor, agent_id, rule, RuleForm.of(rule))


async def change_rule(request: web.Request) -> web.StreamResponse:
    """Correct a permanence; booked appointments it would no longer hold are shown first
    (the second step); confirmed, set aside to rebook."""
    actor = _editor(request)
    agent_id, rule_id = match_int(request, "id"), match_int(request, "rule_id")
    form = await posted_form(request)
    typed = RuleForm.posted(await request.post())
    session, links, moment = request[DB], request.app[LINKS], now(request)
    rule = await _rule_of(request, actor, agent_id, rule_id)
    try:
        checked = RulePatch.model_validate(typed.values())
        changes = {name: getattr(checked, name) for name in checked.model_fields_set}

        async def change(confirm: bool) -> None:
            await setup.change_rule(
                session, actor, agent_id, rule_id, changes=changes, confirm=confirm,
                links=links, now=moment,
            )  # fmt: skip

        rebook = await _confirmed(change, form.get("confirm") == "1")
    except (ValidationError, InvalidInput) as refused:
        errors = _rule_problems(refused, typed)
        return await _rule_page(request, actor, agent_id, rule, typed, errors=errors, status=422)
    except WouldStrand as refused:
        router = request.app.router
        action = router["admin_rule_change"].url_for(id=str(agent_id), rule_id=str(rule_id))
        cancel = router["admin_rule"].url_for(id=str(agent_id), rule_id=str(rule_id))
        step = _second_step(refused, str(action), typed.pairs(), str(cancel))
        return await _rule_page(request, actor, agent_id, rule, typed, second_step=step, status=409)
    raise _done_location(request, "admin_agent", "rule_saved", rebook, id=agent_id)


async def delete_rule(request: web.Request) -> web.StreamResponse:
    """Remove a permanence; booked appointments only it held are shown first (the second
    step); confirmed, set aside to rebook."""
    actor = _editor(request)
    agent_id, rule_id = match_int(request, "id"), match_int(request, "rule_id")
    form = await posted_form(request)
    session, links, moment = request[DB], request.app[LINKS], now(request)
    rule = await _rule_of(request, actor, agent_id, rule_id)

    async def remove(confirm: bool) -> None:
        await setup.delete_rule(
            session, actor, agent_id, rule_id, confirm=confirm, links=links, now=moment
        )

    try:
        rebook = await _confirmed(remove, form.get("confirm") == "1")
    except WouldStrand as refused:
        router = request.app.router
        action = router["admin_rule_delete"].url_for(id=str(agent_id), rule_id=str(rule_id))
        cancel = router["admin_rule"].url_for(id=str(agent_id), rule_id=str(rule_id))
        step = _second_step(refused, str(action), [], str(cancel))
        return await _rule_page(
            request, actor, agent_id, rule, RuleForm.of(rule), second_step=step, status=409
        )
    raise _done_location(request, "admin_agent", "rule_deleted", rebook, id=agent_id)
