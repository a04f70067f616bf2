"""Finding free slots: load what the slot engine needs, in a fixed number of queries.

Whatever the number of agents, days or bookings, one search runs the same ten statements
(site, opening hours, stations, closures, motive, rules, their sites, their motives,
absences, busy time): no query per agent, per day or per slot. They select plain rows
(Core), not ORM objects: this is the hot read path.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    ACTIVE_STATUSES,
    Absence,
    Agent,
    Appointment,
    Closure,
    Motive,
    OpeningHour,
    Role,
    Site,
    Station,
)
from visio.db.models import AvailabilityRule as RuleRow
from visio.db.models.agents import rule_motives, rule_sites
from visio.i18n import lazy_gettext as _l
from visio.scheduling import (
    AgentSchedule,
    AvailabilityRule,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    Slot,
    StationSchedule,
    find_slots,
    is_bookable,
    local_day_bounds,
    public_holidays,
)
from visio.scheduling.calendars import zone
from visio.services.accounts import Actor
from visio.services.errors import NotAllowed, NotFound

# Agents may live up to 26 hours of offset away from the site (Pacific to Réunion): load a
# day more on each side so their wall-clock windows are all seen.
ZONE_MARGIN = timedelta(days=1)
# "First available": look this many days at a time until the motive's horizon.
FIRST_SLOT_WINDOW_DAYS = 14


@dataclass(frozen=True, slots=True)
class SearchInputs:
    """Everything one search gives the engine, plus what explains an empty answer."""

    site: SiteCalendar
    site_name: str
    stations: tuple[StationSchedule, ...]
    motive: MotiveTiming
    partner_id: int
    agents: tuple[AgentSchedule, ...]


@dataclass(frozen=True, slots=True)
class SlotSearch:
    """The answer to a search: the slots, and why there are none when there are none."""

    site_id: int
    site_name: str
    timezone: str
    slots: list[Slot]
    # When there is no slot: why, as a code for programs and a message for the desk agent.
    reason_code: str | None = None
    reason: Any = None


def may_search(actor: Actor, site_id: int) -> None:
    """Desk agents search their own sites; admins every site; nobody else books."""
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    if not actor.may_see_site(site_id):
        raise NotFound()


async def load_inputs(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    first_day: date,
    last_day: date,
    agent_id: int | None = None,
) -> SearchInputs:
    """The engine's inputs for one site and motive over site-local days, in ten queries.

    Raises `NotFound` for an unknown site or an unknown or retired motive.
    """
    site_row = (
        await session.execute(
            select(Site.id, Site.name, Site.timezone, Site.holiday_calendar).where(
                Site.id == site_id
            )
        )
    ).one_or_none()
    if site_row is None:
        raise NotFound()
    range_start = local_day_bounds(first_day, site_row.timezone)[0] - ZONE_MARGIN
    range_end = local_day_bounds(last_day, site_row.timezone)[1] + ZONE_MARGIN

    hours = (
        await session.execute(
            select(OpeningHour.weekday, OpeningHour.start, OpeningHour.end).where(
                OpeningHour.site_id == site_id
            )
        )
    ).all()
    station_ids = list(
        (
            await session.scalars(
                select(Station.id).where(Station.site_id == site_id, Station.active)
            )
        ).all()
    )
    closures = (
        await session.execute(
            select(Closure.station_id, Closure.start_at, Closure.end_at).where(
                Closure.site_id == site_id,
                Closure.start_at < range_end,
                Closure.end_at > range_start,
            )
        )
    ).all()

    motive_row = (
        await session.execute(
            select(
                Motive.id,
                Motive.partner_id,
                Motive.duration_minutes,
                Motive.slot_step_minutes,
                Motive.buffer_before_minutes,
                Motive.buffer_after_minutes,
                Motive.min_notice_minutes,
                Motive.horizon_days,
            ).where(Motive.id == motive_id, Motive.active)
        )
    ).one_or_none()
    if motive_row is None:
        raise NotFound()

    # The partner's active agents (or the one asked for), through their rules.
    agents_query = select(Agent.id).where(Agent.partner_id == motive_row.partner_id, Agent.active)
    if agent_id is not None:
        agents_query = agents_query.where(Agent.id == agent_id)
    agent_ids = agents_query.scalar_subquery()
    rules_query = (
        select(
            RuleRow.id,
            RuleRow.agent_id,
            Agent.timezone,
            RuleRow.weekdays,
            RuleRow.start,
            RuleRow.end,
            RuleRow.every_weeks,
            RuleRow.anchor_date,
            RuleRow.valid_from,
            RuleRow.valid_until,
        )
        .join(Agent, Agent.id == RuleRow.agent_id)
        .where(
            Agent.partner_id == motive_row.partner_id,
            Agent.active,
            or_(RuleRow.valid_until.is_(None), RuleRow.valid_until >= first_day - ZONE_MARGIN),
            or_(RuleRow.valid_from.is_(None), RuleRow.valid_from <= last_day + ZONE_MARGIN),
        )
    )
    if agent_id is not None:
        rules_query = rules_query.where(RuleRow.agent_id == agent_id)
    rules = (await session.execute(rules_query)).all()
    rule_ids = rules_query.with_only_columns(RuleRow.id).scalar_subquery()
    sites_of_rule: dict[int, set[int]] = defaultdict(set)
    for rule_id, linked_site in await session.execute(
        select(rule_sites.c.rule_id, rule_sites.c.site_id).where(rule_sites.c.rule_id.in_(rule_ids))
    ):
        sites_of_rule[rule_id].add(linked_site)
    motives_of_rule: dict[int, set[int]] = defaultdict(set)
    for rule_id, linked_motive in await session.execute(
        select(rule_motives.c.rule_id, rule_motives.c.motive_id).where(
            rule_motives.c.rule_id.in_(rule_ids)
        )
    ):
        motives_of_rule[rule_id].add(linked_motive)

    absences = (
        await session.execute(
            select(Absence.agent_id, Absence.start_at, Absence.end_at).where(
                Absence.agent_id.in_(agent_ids),
                Absence.start_at < range_end,
                Absence.end_at > range_start,
            )
        )
    ).all()
    # Busy time of these agents anywhere, and of this site's stations with anyone.
    busy = (
        await session.execute(
            select(
                Appointment.agent_id,
                Appointment.station_id,
                Appointment.busy_from,
                Appointment.busy_until,
            ).where(
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.busy_from < range_end,
                Appointment.busy_until > range_start,
                or_(
                    Appointment.agent_id.in_(agent_ids),
                    and_(Appointment.site_id == site_id, Appointment.station_id.in_(station_ids)),
                ),
            )
        )
    ).all()

    return _assemble(
        site_row, hours, station_ids, closures, motive_row, rules, sites_of_rule,
        motives_of_rule, absences, busy, first_day, last_day,
    )  # fmt: skip


def _assemble(
    site_row: Any,
    hours: Any,
    station_ids: list[int],
    closures: Any,
    motive_row: Any,
    rules: Any,
    sites_of_rule: dict[int, set[int]],
    motives_of_rule: dict[int, set[int]],
    absences: Any,
    busy: Any,
    first_day: date,
    last_day: date,
) -> SearchInputs:
    site_closures = tuple((row.start_at, row.end_at) for row in closures if row.station_id is None)
    station_closures: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in closures:
        if row.station_id is not None:
            station_closures[row.station_id].append((row.start_at, row.end_at))
    agent_busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    station_busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    station_set = set(station_ids)
    for row in busy:
        agent_busy[row.agent_id].append((row.busy_from, row.busy_until))
        if row.station_id in station_set:
            station_busy[row.station_id].append((row.busy_from, row.busy_until))
    agent_absences: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in absences:
        agent_absences[row.agent_id].append((row.start_at, row.end_at))

    agent_rules: dict[int, list[AvailabilityRule]] = defaultdict(list)
    agent_zone: dict[int, str] = {}
    for row in rules:
        agent_zone[row.agent_id] = row.timezone
        agent_rules[row.agent_id].append(
            AvailabilityRule(
                weekdays=frozenset(row.weekdays),
                start=row.start,
                end=row.end,
                every_weeks=row.every_weeks,
                anchor_date=row.anchor_date,
                valid_from=row.valid_from,
                valid_until=row.valid_until,
                site_ids=frozenset(sites_of_rule[row.id]) if row.id in sites_of_rule else None,
                motive_ids=(
                    frozenset(motives_of_rule[row.id]) if row.id in motives_of_rule else None
                ),
            )
        )

    site = SiteCalendar(
        site_id=site_row.id,
        timezone=site_row.timezone,
        opening_hours=tuple(
            OpeningHours(weekday=row.weekday, start=row.start, end=row.end) for row in hours
        ),
        holidays=public_holidays(
            site_row.holiday_calendar, first_day - timedelta(days=1), last_day + timedelta(days=1)
        ),
        closures=site_closures,
    )
    stations = tuple(
        StationSchedule(
            station_id=station_id,
            closures=tuple(station_closures[station_id]),
            busy=tuple(station_busy[station_id]),
        )
        for station_id in station_ids
    )
    motive = MotiveTiming(
        motive_id=motive_row.id,
        duration=timedelta(minutes=motive_row.duration_minutes),
        step=(
            timedelta(minutes=motive_row.slot_step_minutes)
            if motive_row.slot_step_minutes
            else None
        ),
        buffer_before=timedelta(minutes=motive_row.buffer_before_minutes),
        buffer_after=timedelta(minutes=motive_row.buffer_after_minutes),
        min_notice=timedelta(minutes=motive_row.min_notice_minutes),
        horizon=timedelta(days=motive_row.horizon_days),
    )
    agents = tuple(
        AgentSchedule(
            agent_id=agent,
            timezone=agent_zone[agent],
            rules=tuple(agent_rules[agent]),
            absences=tuple(agent_absences[agent]),
            busy=tuple(agent_busy[agent]),
        )
        for agent in sorted(agent_rules)
    )
    return SearchInputs(
        site=site,
        site_name=site_row.name,
        stations=stations,
        motive=motive,
        partner_id=motive_row.partner_id,
        agents=agents,
    )


REASONS = {
    "no_station": _l("This site has no visio station: add one before booking."),
    "no_agent": _l("No partner agent holds a permanence for this motive at this site."),
    "no_opening_hours": _l("This site has no opening hours."),
    "all_taken": _l("No free slot in this period: try later dates."),
}


def _why_empty(inputs: SearchInputs) -> str:
    """The code of a reason the desk can act on when a search finds nothing."""
    if not inputs.stations:
        return "no_station"
    site_id, motive_id = inputs.site.site_id, inputs.motive.motive_id
    serving = [
        rule
        for agent in inputs.agents
        for rule in agent.rules
        if (rule.site_ids is None or site_id in rule.site_ids)
        and (rule.motive_ids is None or motive_id in rule.motive_ids)
    ]
    if not serving:
        return "no_agent"
    if not inputs.site.opening_hours:
        return "no_opening_hours"
    return "all_taken"


async def search_slots(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    motive_id: int,
    first_day: date,
    last_day: date,
    now: datetime,
    agent_id: int | None = None,
) -> SlotSearch:
    """Every bookable slot at a site for a motive, on site-local days `first_day`…`last_day`.

    `NotFound` for a site outside the actor's scope, an unknown site or motive.
    """
    may_search(actor, site_id)
    inputs = await load_inputs(
        session, site_id=site_id, motive_id=motive_id, first_day=first_day, last_day=last_day,
        agent_id=agent_id,
    )  # fmt: skip
    slots = find_slots(
        inputs.site, inputs.stations, inputs.motive, inputs.agents, first_day, last_day, now
    )
    code = None if slots else _why_empty(inputs)
    return SlotSearch(
        site_id=site_id,
        site_name=inputs.site_name,
        timezone=inputs.site.timezone,
        slots=slots,
        reason_code=code,
        reason=REASONS[code] if code else None,
    )


async def first_slots(
    session: AsyncSession,
    actor: Actor,
    *,
    motive_id: int,
    now: datetime,
    site_id: int | None = None,
) -> list[SlotSearch]:
    """The earliest free slot for a motive at each site of the actor's scope (or one site).

    Looks two weeks at a time up to the motive's horizon; sorted by the slot's start, sites
    with nothing free last (with their reason).
    """
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    if site_id is not None:
        may_search(actor, site_id)
        site_ids = [site_id]
    else:
        query = select(Site.id).order_by(Site.name)
        if not actor.is_admin:
            query = query.where(Site.id.in_(actor.site_ids))
        site_ids = list((await session.scalars(query)).all())
    horizon = await session.scalar(select(Motive.horizon_days).where(Motive.id == motive_id))
    if horizon is None:
        raise NotFound()
    results: list[SlotSearch] = []
    for site in site_ids:
        timezone = await session.scalar(select(Site.timezone).where(Site.id == site))
        assert timezone is not None
        today = now.astimezone(zone(timezone)).date()
        last_possible = today + timedelta(days=horizon)
        first_day = today
        found: SlotSearch | None = None
        while first_day <= last_possible:
            last_day = min(first_day + timedelta(days=FIRST_SLOT_WINDOW_DAYS - 1), last_possible)
            found = await search_slots(
                session, actor, site_id=site, motive_id=motive_id, first_day=first_day,
                last_day=last_day, now=now,
            )  # fmt: skip
            if found.reason_code != "all_taken":
                break  # found one, or nothing will ever be free here: say why
            first_day = last_day + timedelta(days=1)
        assert found is not None
        results.append(
            SlotSearch(
                site_id=found.site_id,
                site_name=found.site_name,
                timezone=found.timezone,
                slots=found.slots[:1],
                reason_code=found.reason_code,
                reason=found.reason,
            )
        )
    return sorted(
        results,
        key=lambda result: (not result.slots, result.slots[0].start if result.slots else now),
    )


async def check_bookable(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    start: datetime,
    agent_id: int,
    station_id: int | None,
    now: datetime,
) -> Slot | None:
    """The slot for a booking request if the engine offers it right now, else None."""
    timezone = await session.scalar(select(Site.timezone).where(Site.id == site_id))
    if timezone is None:
        raise NotFound()
    day = start.astimezone(zone(timezone)).date()
    inputs = await load_inputs(
        session, site_id=site_id, motive_id=motive_id, first_day=day, last_day=day,
        agent_id=agent_id,
    )  # fmt: skip
    return is_bookable(
        start, agent_id, station_id, inputs.site, inputs.stations, inputs.motive, inputs.agents,
        now,
    )  # fmt: skip
