"""Partner agents, their remote permanences and absences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services import audit
from visio.services.accounts import load_by_ids
from visio.services.changes import KEEP, ActiveState, Keep, matching
from visio.services.errors import AlreadyExists, InvalidInput, Message, NotFound
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
    refuse_if_booked,
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
    active: bool | Keep = KEEP, now: datetime,
) -> AgentView:  # fmt: skip
    """Correct an agent (an email another agent has: refused by field), or record that they
    left (`active` false: refused while appointments with them are to come, listed; their
    calendar feed stops) or came back."""
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
        await refuse_if_booked(session, Appointment.agent_id == agent_id, now)
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
    Named sites must exist, named motives must belong to the agent's partner.
    """
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    errors: dict[str, Message] = {}
    sites: list[Site] = []
    motives: list[Motive] = []
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
    if errors:
        raise InvalidInput(fields=errors)
    record = AvailabilityRule(
        agent_id=agent_id,
        weekdays=sorted(set(rule.weekdays)),
        start=rule.start,
        end=rule.end,
        every_weeks=rule.every_weeks,
        anchor_date=rule.anchor_date,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        created_at=now,
    )
    record.sites = sites
    record.motives = motives
    session.add(record)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="rule.create", entity="agent",
        entity_id=agent_id, now=now, details={"rule_id": record.id},
    )  # fmt: skip
    return rule_view(record, sites, motives)


async def create_absence(
    session: AsyncSession,
    actor: Actor,
    *,
    agent_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    now: datetime,
) -> AbsenceView:
    """An agent away for a while: no slot with them in that range."""
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
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
