"""Setting visio up: sites, stations, closures, partners, motives, agents, permanences, absences.

Administrators only (a partner's or a department's IT scripts these through the API).
Each function checks what the request models cannot (references, uniqueness, overlaps),
reports every problem field by field, and writes nothing unless all is well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.models import (
    Absence,
    Agent,
    AvailabilityRule,
    Closure,
    Motive,
    OpeningHour,
    Partner,
    Role,
    Site,
    Station,
)
from visio.db.models.agents import rule_sites
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.accounts import Actor, load_by_ids
from visio.services.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound


def require_admin(actor: Actor) -> None:
    """Set-up is for administrators: `NotAllowed` for anyone else."""
    if not actor.is_admin:
        raise NotAllowed()


async def _flush_unique(session: AsyncSession, conflict: AlreadyExists) -> None:
    """Flush; a unique index refusing the row (two scripts at once) becomes `conflict`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise conflict from None


# ---------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class OpeningRange:
    weekday: int
    start: time
    end: time


def _overlapping_hours(hours: Sequence[OpeningRange]) -> int | None:
    """The index of the first range overlapping an earlier one of the same weekday."""
    for index, current in enumerate(hours):
        for earlier in hours[:index]:
            if (
                earlier.weekday == current.weekday
                and current.start < earlier.end
                and earlier.start < current.end
            ):
                return index
    return None


async def create_site(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    commune: str,
    timezone: str,
    holiday_calendar: str | None,
    opening_hours: Sequence[OpeningRange],
    address: str,
    email: str | None,
    phone: str | None,
    now: datetime,
) -> Site:
    """A new France Services house with its weekly opening hours (site-local wall clock)."""
    require_admin(actor)
    overlap = _overlapping_hours(opening_hours)
    if overlap is not None:
        raise InvalidInput(
            fields={f"opening_hours.{overlap}": _l("Overlaps another range of the same day.")}
        )
    if await session.scalar(select(Site.id).where(Site.name == name)) is not None:
        raise _site_exists()
    site = Site(
        name=name,
        commune=commune,
        timezone=timezone,
        holiday_calendar=holiday_calendar,
        address=address,
        email=email,
        phone=phone,
        created_at=now,
    )
    site.opening_hours = [
        OpeningHour(weekday=hours.weekday, start=hours.start, end=hours.end)
        for hours in sorted(opening_hours, key=lambda hours: (hours.weekday, hours.start))
    ]
    site.stations = []
    session.add(site)
    await _flush_unique(session, _site_exists())
    audit.record(
        session, actor_id=actor.user_id, action="site.create", entity="site",
        entity_id=site.id, now=now, details={"name": name, "timezone": timezone},
    )  # fmt: skip
    return site


def _site_exists() -> AlreadyExists:
    return AlreadyExists(
        _l("A site with this name already exists."), fields={"name": _l("Already used.")}
    )


async def get_site(session: AsyncSession, actor: Actor, site_id: int) -> Site:
    """A site with its hours and stations, if the actor may see it (else `NotFound`)."""
    if not await _may_see_site(session, actor, site_id):
        raise NotFound()
    site = await session.scalar(
        select(Site)
        .where(Site.id == site_id)
        .options(selectinload(Site.opening_hours), selectinload(Site.stations))
    )
    if site is None:
        raise NotFound()
    return site


async def _may_see_site(session: AsyncSession, actor: Actor, site_id: int) -> bool:
    if actor.role is Role.AGENT:
        return site_id in set(await _agent_site_ids(session, actor))
    return actor.may_see_site(site_id)


async def _agent_site_ids(session: AsyncSession, actor: Actor) -> list[int]:
    """The sites an agent serves: those named by their rules, or all when a rule names none."""
    if actor.agent_id is None:
        return []
    rules = select(AvailabilityRule.id).where(AvailabilityRule.agent_id == actor.agent_id)
    rule_ids = list((await session.scalars(rules)).all())
    if not rule_ids:
        return []
    named = select(rule_sites.c.rule_id, rule_sites.c.site_id).where(
        rule_sites.c.rule_id.in_(rule_ids)
    )
    links = (await session.execute(named)).all()
    if {rule_id for rule_id, _site in links} != set(rule_ids):
        return list((await session.scalars(select(Site.id))).all())
    return sorted({site_id for _rule, site_id in links})


async def list_sites(session: AsyncSession, actor: Actor) -> list[Site]:
    """The sites the actor may see, by name."""
    query = select(Site).order_by(Site.name)
    if actor.role is Role.AGENT:
        query = query.where(Site.id.in_(await _agent_site_ids(session, actor)))
    elif not actor.is_admin:
        query = query.where(Site.id.in_(actor.site_ids))
    return list((await session.scalars(query)).all())


async def create_station(
    session: AsyncSession, actor: Actor, *, site_id: int, name: str, now: datetime
) -> Station:
    """A new visio station (cabin, kiosk) at a site."""
    require_admin(actor)
    if await session.get(Site, site_id) is None:
        raise NotFound()
    station = Station(site_id=site_id, name=name, created_at=now)
    session.add(station)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="station.create", entity="station",
        entity_id=station.id, now=now, details={"site_id": site_id, "name": name},
    )  # fmt: skip
    return station


async def create_closure(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    station_id: int | None,
    now: datetime,
) -> Closure:
    """Close a whole site, or one of its stations, for a while (no slot in that range)."""
    require_admin(actor)
    if await session.get(Site, site_id) is None:
        raise NotFound()
    if station_id is not None:
        station = await session.get(Station, station_id)
        if station is None or station.site_id != site_id:
            raise InvalidInput(fields={"station_id": _l("Not a station of this site.")})
    closure = Closure(
        site_id=site_id, station_id=station_id, start_at=start, end_at=end, reason=reason
    )
    session.add(closure)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="closure.create", entity="site",
        entity_id=site_id, now=now,
        details={"closure_id": closure.id, "station_id": station_id,
                 "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    return closure


# ---------------------------------------------------------------- partners and motives


async def create_partner(
    session: AsyncSession, actor: Actor, *, code: str, name: str, now: datetime
) -> Partner:
    """A partner organisation (CAF, CPAM…), known by a unique short code."""
    require_admin(actor)
    conflict = AlreadyExists(
        _l("A partner with this code already exists."), fields={"code": _l("Already used.")}
    )
    if await session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise conflict
    partner = Partner(code=code, name=name, created_at=now)
    partner.motives = []
    session.add(partner)
    await _flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="partner.create", entity="partner",
        entity_id=partner.id, now=now, details={"code": code},
    )  # fmt: skip
    return partner


async def list_partners(session: AsyncSession) -> list[Partner]:
    """Every partner with its active motives, by code."""
    query = select(Partner).order_by(Partner.code).options(selectinload(Partner.motives))
    partners = list((await session.scalars(query)).all())
    for partner in partners:
        partner.motives = [motive for motive in partner.motives if motive.active]
    return partners


@dataclass(frozen=True, slots=True)
class MotiveSettings:
    name: str
    duration_minutes: int
    slot_step_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    documents: list[str]
    instructions: str
    reminder_offsets_minutes: list[int]


async def create_motive(
    session: AsyncSession, actor: Actor, *, partner_id: int, motive: MotiveSettings, now: datetime
) -> Motive:
    """A démarche of a partner: how long it lasts, its buffers, notice, horizon, documents."""
    require_admin(actor)
    if await session.get(Partner, partner_id) is None:
        raise NotFound()
    conflict = AlreadyExists(
        _l("This partner already has a motive with this name."),
        fields={"name": _l("Already used.")},
    )
    taken = select(Motive.id).where(Motive.partner_id == partner_id, Motive.name == motive.name)
    if await session.scalar(taken) is not None:
        raise conflict
    record = Motive(
        partner_id=partner_id,
        name=motive.name,
        duration_minutes=motive.duration_minutes,
        slot_step_minutes=motive.slot_step_minutes,
        buffer_before_minutes=motive.buffer_before_minutes,
        buffer_after_minutes=motive.buffer_after_minutes,
        min_notice_minutes=motive.min_notice_minutes,
        horizon_days=motive.horizon_days,
        documents=list(motive.documents),
        instructions=motive.instructions,
        reminder_offsets=sorted(set(motive.reminder_offsets_minutes), reverse=True),
        active=True,
    )
    session.add(record)
    await _flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="motive.create", entity="motive",
        entity_id=record.id, now=now, details={"partner_id": partner_id, "name": motive.name},
    )  # fmt: skip
    return record


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
) -> Agent:
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
    await _flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="agent.create", entity="agent",
        entity_id=agent.id, now=now, details={"partner_id": partner_id},
    )  # fmt: skip
    return agent


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
) -> AvailabilityRule:
    """A remote permanence of an agent, in the agent's wall-clock time.

    No `site_ids` means every site; no `motive_ids` every motive of the agent's partner.
    Named sites must exist, named motives must belong to the agent's partner.
    """
    require_admin(actor)
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound()
    errors: dict[str, object] = {}
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
    return record


async def create_absence(
    session: AsyncSession,
    actor: Actor,
    *,
    agent_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    now: datetime,
) -> Absence:
    """An agent away for a while: no slot with them in that range."""
    require_admin(actor)
    if await session.get(Agent, agent_id) is None:
        raise NotFound()
    absence = Absence(agent_id=agent_id, start_at=start, end_at=end, reason=reason)
    session.add(absence)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="absence.create", entity="agent",
        entity_id=agent_id, now=now,
        details={"absence_id": absence.id, "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    return absence


async def site_timezone(session: AsyncSession, site_id: int) -> str:
    """The zone a site's times are shown in; `NotFound` for an unknown site."""
    zone = await session.scalar(select(Site.timezone).where(Site.id == site_id))
    if zone is None:
        raise NotFound()
    return zone


async def agent_timezone(session: AsyncSession, agent_id: int) -> str:
    """The zone an agent's times are shown in; `NotFound` for an unknown agent."""
    zone = await session.scalar(select(Agent.timezone).where(Agent.id == agent_id))
    if zone is None:
        raise NotFound()
    return zone
