"""Partner agents, their remote permanences and absences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from visio.db.models import (
    Absence,
    Agent,
    Appointment,
    AvailabilityRule,
    Motive,
    Partner,
    Site,
    User,
)
from visio.db.models.agents import rule_motives, rule_sites
from visio.domain import RebookReason
from visio.i18n import lazy_gettext as _l
from visio.scheduling import schedules
from visio.scheduling.calendars import time_zone
from visio.scheduling.schedules import rules_overlap
from visio.scheduling.slots import within_permanences
from visio.services import audit, rebooking
from visio.services.accounts import load_by_ids
from visio.services.changes import KEEP, ActiveState, Keep, matching
from visio.services.errors import AlreadyExists, InvalidInput, Message, NotFound
from visio.services.notifications import Links
from visio.services.permissions import Action, Actor, require, site_scope
from visio.services.records import (
    AbsenceView,
    AgentView,
    Listing,
    RuleView,
)
from visio.services.setup.common import (
    flush_unique,
    hhmm,
    refuse_if_used,
    require_admin,
)


def agent_view(agent: Agent) -> AgentView:
    return AgentView(
        id=agent.id, partner_id=agent.partner_id, name=agent.name, email=agent.email,
        timezone=agent.timezone, locale=agent.locale, active=agent.active,
    )  # fmt: skip


def rule_view(rule: AvailabilityRule, sites: Sequence[Site], motives: Sequence[Motive]) -> RuleView:
    return RuleView(
        id=rule.id, agent_id=rule.agent_id, weekdays=list(rule.weekdays),
        start=hhmm(rule.start), end=hhmm(rule.end), every_weeks=rule.every_weeks,
        anchor_date=rule.anchor_date, valid_from=rule.valid_from, valid_until=rule.valid_until,
        site_ids=sorted(site.id for site in sites) or None,
        motive_ids=sorted(motive.id for motive in motives) or None,
    )  # fmt: skip


def absence_view(absence: Absence, timezone: str) -> AbsenceView:
    zone = time_zone(timezone)
    return AbsenceView(
        id=absence.id, agent_id=absence.agent_id, start=absence.start_at.astimezone(zone),
        end=absence.end_at.astimezone(zone), reason=absence.reason,
    )  # fmt: skip


# ---------------------------------------------------------------- agents


async def create_agent(
    session: AsyncSession,
    actor: Actor,
    *,
    partner_id: int,
    name: str,
    email: str,
    timezone: str,
    locale: str,
    now: datetime,
) -> AgentView:
    """A remote agent of a partner, with their own time zone and language."""
    require_admin(actor)
    if await session.get(Partner, partner_id) is None:
        raise InvalidInput(fields={"partner_id": _l("Unknown partner.")})
    conflict = _email_taken()
    if await session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise conflict
    agent = Agent(
        partner_id=partner_id, name=name, email=email, timezone=timezone, locale=locale,
        active=True, created_at=now,
    )  # fmt: skip
    session.add(agent)
    await flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="agent.create", entity="agent",
        entity_id=agent.id, now=now, details={"partner_id": partner_id},
    )  # fmt: skip
    return agent_view(agent)


def _email_taken() -> AlreadyExists:
    return AlreadyExists(
        _l("An agent with this email already exists."), fields={"email": _l("Already used.")}
    )


async def find_agents(
    session: AsyncSession, actor: Actor, *, partner_id: int | None = None,
    site_id: int | None = None, search: str = "", state: ActiveState = "active",
    page: int = 1, per_page: int | None = None,
) -> Listing[AgentView]:  # fmt: skip
    """The agents the actor may see, by name: an administrator every one, a desk or a
    coordinator those whose permanences serve their houses, an agent themselves; of one
    partner, serving one house (a permanence naming no house serves them all), whose name
    or email holds `search`; still working (`state`), gone, or all; a page of `per_page`."""
    criteria = _visible(actor)
    if site_id is not None:
        criteria.append(Agent.id.in_(_serving([site_id])))
    if partner_id is not None:
        criteria.append(Agent.partner_id == partner_id)
    if state != "all":
        criteria.append(Agent.active.is_(state == "active"))
    criteria += matching(search, Agent.name, Agent.email)
    total = int(await session.scalar(select(func.count()).select_from(Agent).where(*criteria)) or 0)
    query = select(Agent).where(*criteria).order_by(Agent.name, Agent.id)
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [agent_view(agent) for agent in await session.scalars(query)]
    return Listing(items, total, page, per_page)


def _visible(actor: Actor) -> list[ColumnElement[bool]]:
    """Which agents the actor may see, as conditions."""
    require(actor, Action.READ_SET_UP)
    scope = site_scope(actor)
    if scope.served_by_agent is not None:
        return [Agent.id == scope.served_by_agent]
    if not scope.every:
        return [Agent.id.in_(_serving(sorted(scope.site_ids)))]
    return []


def _serving(site_ids: list[int]) -> Select[int]:
    """The agents with a permanence serving one of these houses: naming one of them, or
    naming none (then it serves every house)."""
    named = select(rule_sites.c.rule_id)
    return (
        select(AvailabilityRule.agent_id)
        .outerjoin(rule_sites, rule_sites.c.rule_id == AvailabilityRule.id)
        .where(or_(rule_sites.c.site_id.in_(site_ids),
                   AvailabilityRule.id.not_in(named)))
    )  # fmt: skip


async def get_agent(session: AsyncSession, actor: Actor, agent_id: int) -> AgentView:
    """An agent, if the actor may see them (else `NotFound`)."""
    agent = await session.scalar(select(Agent).where(Agent.id == agent_id, *_visible(actor)))
    if agent is None:
        raise NotFound()
    return agent_view(agent)


async def change_agent(
    session: AsyncSession, actor: Actor, agent_id: int, *, name: str | Keep = KEEP,
    email: str | Keep = KEEP, timezone: str | Keep = KEEP, locale: str | Keep = KEEP,
    active: bool | Keep = KEEP, confirm: bool = False, links: Links, now: datetime,
) -> AgentView:  # fmt: skip
    """Correct an agent (an email another agent has: refused by field), or record that they
    left (`active` false; their calendar feed stops) or came back. Their booked appointments
    to come are shown before they leave (`WouldStrand`, nothing written); once `confirm`ed,
    set aside to rebook, their citizens and the agent told."""
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    conflict = _email_taken()
    if isinstance(email, str) and email != agent.email:
        taken = select(Agent.id).where(Agent.email == email, Agent.id != agent_id)
        if await session.scalar(taken) is not None:
            raise conflict
    if active is False and agent.active:
        booked = await rebooking.booked_to_come(session, Appointment.agent_id == agent_id, now=now)
        await rebooking.set_aside(
            session, actor, booked, RebookReason.AGENT_LEFT, confirm=confirm, links=links,
            now=now,
        )  # fmt: skip
    changed = []
    for field, value in (("name", name), ("email", email), ("timezone", timezone),
                         ("locale", locale), ("active", active)):  # fmt: skip
        if not isinstance(value, Keep) and value != getattr(agent, field):
            setattr(agent, field, value)
            changed.append(field)
    await flush_unique(session, conflict)
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="agent.change", entity="agent",
            entity_id=agent_id, now=now, details={"fields": ", ".join(changed)},
        )  # fmt: skip
    return agent_view(agent)


async def delete_agent(
    session: AsyncSession, actor: Actor, agent_id: int, *, now: datetime
) -> None:
    """Remove an agent created by mistake, with their permanences and absences. One with
    appointments or a user account is refused (`InUse`, saying what): they are marked as
    left instead."""
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    uses = {
        "appointments": select(func.count()).select_from(Appointment)
        .where(Appointment.agent_id == agent_id),
        "users": select(func.count()).select_from(User).where(User.agent_id == agent_id),
    }  # fmt: skip
    await refuse_if_used(
        session,
        uses,
        _l("This agent has appointments or an account: mark them as left instead (active: false)."),
    )
    rules = select(AvailabilityRule.id).where(AvailabilityRule.agent_id == agent_id)
    await session.execute(delete(rule_sites).where(rule_sites.c.rule_id.in_(rules)))
    await session.execute(delete(rule_motives).where(rule_motives.c.rule_id.in_(rules)))
    await session.execute(delete(AvailabilityRule).where(AvailabilityRule.agent_id == agent_id))
    await session.execute(delete(Absence).where(Absence.agent_id == agent_id))
    await session.execute(delete(Agent).where(Agent.id == agent_id))
    session.expunge(agent)
    audit.record(
        session, actor_id=actor.user_id, action="agent.delete", entity="agent",
        entity_id=agent_id, now=now, details={"partner_id": agent.partner_id},
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RuleSettings:
    weekdays: list[int]
    start: time
    end: time
    every_weeks: int
    anchor_date: date | None
    valid_from: date | None
    valid_until: date | None
    site_ids: list[int] | None
    motive_ids: list[int] | None


async def create_rule(
    session: AsyncSession, actor: Actor, *, agent_id: int, rule: RuleSettings, now: datetime
) -> RuleView:
    """A remote permanence of an agent, in the agent's wall-clock time.

    No `site_ids` means every site; no `motive_ids` every motive of the agent's partner.
    Named sites must exist, named motives must belong to the agent's partner, and it may
    not run at the same time as another permanence of the agent (`InvalidInput` by field).
    """
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    sites, motives = await _checked(session, agent, rule, await _rules_of(session, agent_id))
    record = AvailabilityRule(agent_id=agent_id, created_at=now)
    _write(record, rule, sites, motives)
    session.add(record)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="rule.create", entity="agent",
        entity_id=agent_id, now=now, details={"rule_id": record.id},
    )  # fmt: skip
    return rule_view(record, sites, motives)


async def change_rule(
    session: AsyncSession, actor: Actor, agent_id: int, rule_id: int, *,
    changes: Mapping[str, object], confirm: bool = False, links: Links, now: datetime,
) -> RuleView:  # fmt: skip
    """Correct a permanence: the fields in `changes` (those of `RuleSettings`), checked as
    at creation. Booked appointments to come that it held and would no longer hold are
    shown first (`WouldStrand`, nothing written); once `confirm`ed, set aside to rebook,
    their citizens and agent told."""
    require_admin(actor)
    agent, record, others = await _rule_of(session, agent_id, rule_id)
    unknown = set(changes) - {field.name for field in fields(RuleSettings)}
    if unknown:
        raise ValueError(f"not fields of a permanence: {sorted(unknown)}")
    before = _settings_of(record)
    after = replace(before, **changes)  # type: ignore[arg-type]
    sites, motives = await _checked(session, agent, after, others)
    if after == before:
        return rule_view(record, record.sites, record.motives)
    kept = [_schedule_rule(settings) for settings in others]
    await _set_aside_uncovered(
        session, actor, agent, [*kept, _schedule_rule(before)], [*kept, _schedule_rule(after)],
        confirm=confirm, links=links, now=now,
    )  # fmt: skip
    _write(record, after, sites, motives)
    await session.flush()
    changed = [field.name for field in fields(RuleSettings)
               if getattr(before, field.name) != getattr(after, field.name)]  # fmt: skip
    audit.record(
        session, actor_id=actor.user_id, action="rule.change", entity="agent",
        entity_id=agent_id, now=now, details={"rule_id": rule_id, "fields": ", ".join(changed)},
    )  # fmt: skip
    return rule_view(record, sites, motives)


async def delete_rule(
    session: AsyncSession, actor: Actor, agent_id: int, rule_id: int, *,
    confirm: bool = False, links: Links, now: datetime,
) -> None:  # fmt: skip
    """Remove a permanence (its appointments stay in history). Booked appointments to come
    that only it held are shown first (`WouldStrand`, nothing written); once `confirm`ed,
    set aside to rebook, their citizens and agent told."""
    require_admin(actor)
    agent, record, others = await _rule_of(session, agent_id, rule_id)
    kept = [_schedule_rule(settings) for settings in others]
    await _set_aside_uncovered(
        session, actor, agent, [*kept, _schedule_rule(_settings_of(record))], kept,
        confirm=confirm, links=links, now=now,
    )  # fmt: skip
    await session.execute(delete(rule_sites).where(rule_sites.c.rule_id == rule_id))
    await session.execute(delete(rule_motives).where(rule_motives.c.rule_id == rule_id))
    await session.execute(delete(AvailabilityRule).where(AvailabilityRule.id == rule_id))
    session.expunge(record)
    audit.record(
        session, actor_id=actor.user_id, action="rule.delete", entity="agent",
        entity_id=agent_id, now=now, details={"rule_id": rule_id},
    )  # fmt: skip


async def _rules_of(
    session: AsyncSession, agent_id: int, *, but: int | None = None
) -> list[RuleSettings]:
    """The agent's permanences as settings (all, or all but rule `but`)."""
    query = (
        select(AvailabilityRule)
        .where(AvailabilityRule.agent_id == agent_id)
        .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
    )
    if but is not None:
        query = query.where(AvailabilityRule.id != but)
    return [_settings_of(rule) for rule in await session.scalars(query)]


async def _rule_of(
    session: AsyncSession, agent_id: int, rule_id: int
) -> tuple[Agent, AvailabilityRule, list[RuleSettings]]:
    """The agent, their permanence `rule_id` (`NotFound` if not theirs) and the others."""
    agent = await session.get(Agent, agent_id)
    record = await session.scalar(
        select(AvailabilityRule)
        .where(AvailabilityRule.id == rule_id, AvailabilityRule.agent_id == agent_id)
        .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
    )
    if agent is None or record is None:
        raise NotFound()
    return agent, record, await _rules_of(session, agent_id, but=rule_id)


def _settings_of(rule: AvailabilityRule) -> RuleSettings:
    return RuleSettings(
        weekdays=sorted(rule.weekdays), start=rule.start, end=rule.end,
        every_weeks=rule.every_weeks, anchor_date=rule.anchor_date, valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        site_ids=sorted(site.id for site in rule.sites) or None,
        motive_ids=sorted(motive.id for motive in rule.motives) or None,
    )  # fmt: skip


def _schedule_rule(settings: RuleSettings) -> schedules.AvailabilityRule:
    """The permanence as the slot engine reads it."""
    return schedules.AvailabilityRule(
        weekdays=frozenset(settings.weekdays), start=settings.start, end=settings.end,
        every_weeks=settings.every_weeks, anchor_date=settings.anchor_date,
        valid_from=settings.valid_from, valid_until=settings.valid_until,
        site_ids=frozenset(settings.site_ids) if settings.site_ids else None,
        motive_ids=frozenset(settings.motive_ids) if settings.motive_ids else None,
    )  # fmt: skip


async def _checked(
    session: AsyncSession, agent: Agent, rule: RuleSettings, others: Sequence[RuleSettings]
) -> tuple[list[Site], list[Motive]]:
    """The sites and motives `rule` names, once every field is right: its hours in order,
    its validity in order, known houses, motives of the agent's partner, and no other
    permanence of the agent (`others`) at the same time. `InvalidInput` by field."""
    errors: dict[str, Message] = {}
    sites: list[Site] = []
    motives: list[Motive] = []
    if not rule.weekdays:
        errors["weekdays"] = _l("Choose at least one day.")
    if rule.end <= rule.start:
        errors["end"] = _l("The end must come after the start.")
    if rule.valid_from and rule.valid_until and rule.valid_until < rule.valid_from:
        errors["valid_until"] = _l("The last day must not come before the first.")
    if rule.site_ids:
        sites, missing = await load_by_ids(session, Site, rule.site_ids)
        if missing:
            errors["site_ids"] = _l("Unknown site: %(ids)s.", ids=missing)
    if rule.motive_ids:
        motives, missing = await load_by_ids(
            session, Motive, rule.motive_ids, Motive.partner_id == agent.partner_id
        )
        if missing:
            errors["motive_ids"] = _l("Not a motive of this agent's partner: %(ids)s.", ids=missing)
    if not errors:
        candidate = _schedule_rule(rule)
        for other in others:
            if rules_overlap(candidate, _schedule_rule(other)):
                errors["start"] = _l(
                    "This agent already has a permanence at that time (%(days)s, "
                    "%(start)s-%(end)s): change that one, or choose other hours.",
                    days=", ".join(str(day) for day in other.weekdays),
                    start=hhmm(other.start), end=hhmm(other.end),
                )  # fmt: skip
                break
    if errors:
        raise InvalidInput(fields=errors)
    return sites, motives


def _write(
    record: AvailabilityRule, rule: RuleSettings, sites: list[Site], motives: list[Motive]
) -> None:
    record.weekdays = sorted(set(rule.weekdays))
    record.start, record.end = rule.start, rule.end
    record.every_weeks, record.anchor_date = rule.every_weeks, rule.anchor_date
    record.valid_from, record.valid_until = rule.valid_from, rule.valid_until
    record.sites, record.motives = sites, motives


async def _set_aside_uncovered(
    session: AsyncSession, actor: Actor, agent: Agent,
    before: list[schedules.AvailabilityRule], after: list[schedules.AvailabilityRule], *,
    confirm: bool, links: Links, now: datetime,
) -> None:  # fmt: skip
    """The agent's booked appointments to come that the permanences `before` held and those
    `after` no longer hold, set aside to rebook (`rebooking.set_aside`)."""
    booked = await rebooking.booked_to_come(session, Appointment.agent_id == agent.id, now=now)
    uncovered = [
        view for view in booked
        if within_permanences(agent.timezone, before, view.start, view.end, view.site_id,
                              view.motive_id)
        and not within_permanences(agent.timezone, after, view.start, view.end, view.site_id,
                                   view.motive_id)
    ]  # fmt: skip
    await rebooking.set_aside(
        session, actor, uncovered, RebookReason.PERMANENCE_CHANGED, confirm=confirm,
        links=links, now=now,
    )  # fmt: skip


async def create_absence(
    session: AsyncSession,
    actor: Actor,
    *,
    agent_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    confirm: bool = False,
    links: Links,
    now: datetime,
) -> AbsenceView:
    """An agent away for a while: no slot with them in that range. Their booked
    appointments it falls on are shown first (`WouldStrand`, nothing written); once
    `confirm`ed, set aside to rebook, their citizens and the agent told."""
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    falls_on = await rebooking.booked_to_come(
        session, Appointment.agent_id == agent_id, Appointment.start_at < end,
        Appointment.end_at > start, now=now,
    )  # fmt: skip
    await rebooking.set_aside(
        session, actor, falls_on, RebookReason.AGENT_ABSENT, confirm=confirm, links=links,
        now=now,
    )  # fmt: skip
    absence = Absence(agent_id=agent_id, start_at=start, end_at=end, reason=reason)
    session.add(absence)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="absence.create", entity="agent",
        entity_id=agent_id, now=now,
        details={"absence_id": absence.id, "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    return absence_view(absence, agent.timezone)


async def list_rules(session: AsyncSession, actor: Actor, agent_id: int) -> list[RuleView]:
    """An agent's permanences, oldest first, if the actor may see the agent."""
    agent = await session.scalar(select(Agent).where(Agent.id == agent_id, *_visible(actor)))
    if agent is None:
        raise NotFound()
    rules = await session.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.agent_id == agent_id)
        .order_by(AvailabilityRule.id)
        .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
    )
    return [rule_view(rule, rule.sites, rule.motives) for rule in rules]


async def permanences_serving(
    session: AsyncSession, actor: Actor, site_id: int
) -> list[tuple[AgentView, RuleView]]:
    """The permanences that serve a house (naming it, or naming no house) of the agents
    still working that the actor may see, with their agents, by agent name: what the
    house's week grid shows."""
    query = (
        select(AvailabilityRule, Agent)
        .join(Agent, Agent.id == AvailabilityRule.agent_id)
        .where(
            Agent.active.is_(True),
            AvailabilityRule.agent_id.in_(_serving([site_id])),
            AvailabilityRule.id.in_(
                select(rule_sites.c.rule_id).where(rule_sites.c.site_id == site_id)
            )
            | AvailabilityRule.id.not_in(select(rule_sites.c.rule_id)),
            *_visible(actor),
        )
        .order_by(Agent.name, AvailabilityRule.id)
        .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
    )
    return [
        (agent_view(agent), rule_view(rule, rule.sites, rule.motives))
        for rule, agent in await session.execute(query)
    ]


async def list_absences(
    session: AsyncSession, actor: Actor, agent_id: int, *, include_past: bool, now: datetime
) -> list[AbsenceView]:
    """An agent's absences by start, those not over yet (all with `include_past`), in the
    agent's time, if the actor may see the agent."""
    agent = await session.scalar(select(Agent).where(Agent.id == agent_id, *_visible(actor)))
    if agent is None:
        raise NotFound()
    query = select(Absence).where(Absence.agent_id == agent_id)
    if not include_past:
        query = query.where(Absence.end_at > now)
    absences = await session.scalars(query.order_by(Absence.start_at, Absence.id))
    return [absence_view(absence, agent.timezone) for absence in absences]


async def delete_absence(
    session: AsyncSession, actor: Actor, agent_id: int, absence_id: int, *, now: datetime
) -> None:
    """Remove an agent's absence (recorded by mistake, or the agent back early): their
    permanences offer slots again in that range."""
    require_admin(actor)
    absence = await session.get(Absence, absence_id)
    if absence is None or absence.agent_id != agent_id:
        raise NotFound()
    await session.delete(absence)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="absence.delete", entity="agent",
        entity_id=agent_id, now=now,
        details={"absence_id": absence_id, "start": absence.start_at.isoformat(),
                 "end": absence.end_at.isoformat()},
    )  # fmt: skip
