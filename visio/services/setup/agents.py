"""Partner agents, their remote permanences and absences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    Absence,
    Agent,
    AvailabilityRule,
    Motive,
    Partner,
    Site,
)
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services import audit
from visio.services.accounts import load_by_ids
from visio.services.errors import AlreadyExists, InvalidInput, Message, NotFound
from visio.services.permissions import Actor
from visio.services.records import (
    AbsenceView,
    AgentView,
    RuleView,
)
from visio.services.setup.common import flush_unique, hhmm, require_admin


def agent_view(agent: Agent) -> AgentView:
    return AgentView(
        id=agent.id, partner_id=agent.partner_id, name=agent.name, email=agent.email,
        timezone=agent.timezone, locale=agent.locale,
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
    conflict = AlreadyExists(
        _l("An agent with this email already exists."), fields={"email": _l("Already used.")}
    )
    if await session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise conflict
    agent = Agent(
        partner_id=partner_id, name=name, email=email, timezone=timezone, locale=locale,
        created_at=now,
    )  # fmt: skip
    session.add(agent)
    await flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="agent.create", entity="agent",
        entity_id=agent.id, now=now, details={"partner_id": partner_id},
    )  # fmt: skip
    return agent_view(agent)


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
