"""Finding free slots: load what the slot engine needs, in a fixed number of queries.

Whatever the number of agents, days or bookings, one search runs the same three statements
(the site with its hours and the motive, the permanences with their sites and motives,
and the stations with every interval that blocks time): no query per agent, per day or per slot.
They select plain rows (Core), not ORM objects: this is the hot read path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.direct import direct
from visio.db.statements import availability as statements
from visio.db.statements.availability import (
    ABSENCE,
    BUSY,
    CLOSURE,
    STATION,
    BlockingRow,
    HeadRow,
    RuleRow,
)
from visio.notify.facts import AgentFacts
from visio.scheduling import (
    AgentSchedule,
    AvailabilityRule,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    StationSchedule,
    local_day_bounds,
    public_holidays,
)
from visio.scheduling.calendars import time_zone
from visio.services.errors import NotFound

# Agents may live up to 26 hours of offset away from the site (Pacific to Réunion): load a
# day more on each side so their wall-clock windows are all seen.
ZONE_MARGIN = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SiteAndMotive:
    """The first statement's answer: the site with its hours, the motive with its partner,
    and what a booking's messages say of them."""

    site_id: int
    site_name: str
    timezone: str
    holiday_calendar: str | None
    opening_hours: tuple[OpeningHours, ...]
    site_address: str
    site_email: str | None
    motive: MotiveTiming
    partner_id: int
    partner_name: str
    motive_name: str
    documents: list[str]
    instructions: str
    reminder_offsets: list[int]


@dataclass(frozen=True, slots=True)
class AgentContact:
    """How to reach a partner agent: read with the permanences, used by a booking."""

    name: str
    email: str
    locale: str
    timezone: str

    def facts(self) -> AgentFacts:
        """As the messages of a booking report them."""
        return AgentFacts(
            name=self.name, email=self.email, locale=self.locale, timezone=self.timezone
        )


@dataclass(frozen=True, slots=True)
class SearchInputs:
    """Everything one search gives the engine, plus what explains an empty answer."""

    site: SiteCalendar
    stations: tuple[StationSchedule, ...]
    agents: tuple[AgentSchedule, ...]
    head: SiteAndMotive
    # Each agent's name, email, language and zone, for the pages and messages of a booking.
    agent_details: dict[int, AgentContact]
    # The site-local days searched.
    first_day: date
    last_day: date

    @property
    def motive(self) -> MotiveTiming:
        return self.head.motive


async def load_head(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    lock: tuple[int, int] | None = None,
) -> SiteAndMotive:
    """The site and the motive (one statement); `NotFound` for an unknown site or an
    unknown or retired motive.

    `lock`, an agent's and a station's ids: where writers do not take turns (PostgreSQL),
    the same statement takes their row locks, the agent's first (see
    `visio.services.booking`).
    """
    connection = await session.connection()
    parameters = {"site_id": site_id, "motive_id": motive_id}
    rows: list[HeadRow] = []
    if lock is not None:
        locked = {**parameters, "lock_agent_id": lock[0], "lock_station_id": lock[1]}
        rows = [
            HeadRow._make(row)
            for row in await direct(statements.head_locking()).rows(connection, locked)
        ]
        # No row: no such agent or station (nothing to lock; the booking will find no
        # slot), or no such site or motive: the plain statement tells.
    if not rows:
        rows = [
            HeadRow._make(row)
            for row in await direct(statements.head()).rows(connection, parameters)
        ]
    if not rows:
        raise NotFound()
    first = rows[0]
    return SiteAndMotive(
        site_id=site_id,
        site_name=first.site_name,
        timezone=first.timezone,
        holiday_calendar=first.holiday_calendar,
        opening_hours=tuple(
            OpeningHours(weekday=row.weekday, start=row.opens, end=row.closes)
            for row in rows
            if row.weekday is not None and row.opens is not None and row.closes is not None
        ),
        site_address=first.site_address,
        site_email=first.site_email,
        motive=MotiveTiming(
            motive_id=motive_id,
            duration=timedelta(minutes=first.duration_minutes),
            step=timedelta(minutes=first.slot_step_minutes) if first.slot_step_minutes else None,
            buffer_before=timedelta(minutes=first.buffer_before_minutes),
            buffer_after=timedelta(minutes=first.buffer_after_minutes),
            min_notice=timedelta(minutes=first.min_notice_minutes),
            horizon=timedelta(days=first.horizon_days),
        ),
        partner_id=first.partner_id,
        partner_name=first.partner_name,
        motive_name=first.motive_name,
        documents=list(first.documents or []),
        instructions=first.instructions,
        reminder_offsets=list(first.reminder_offsets or []),
    )


async def load_inputs(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    first_day: date,
    last_day: date,
    agent_id: int | None = None,
    lock: tuple[int, int] | None = None,
) -> SearchInputs:
    """The engine's inputs for one site and motive over site-local days, in three
    statements (`lock`: see `load_head`).

    Raises `NotFound` for an unknown site or an unknown or retired motive.
    """
    head = await load_head(session, site_id=site_id, motive_id=motive_id, lock=lock)
    return await load_schedules(
        session, head, first_day=first_day, last_day=last_day, agent_id=agent_id
    )


async def load_day_of(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    start: datetime,
    agent_id: int | None = None,
    lock: tuple[int, int] | None = None,
) -> SearchInputs:
    """What a booking at `start` is judged on: the engine's inputs for the house's
    calendar day of `start`, in three statements (`lock`: see `load_head`)."""
    head = await load_head(session, site_id=site_id, motive_id=motive_id, lock=lock)
    day = start.astimezone(time_zone(head.timezone)).date()
    return await load_schedules(session, head, first_day=day, last_day=day, agent_id=agent_id)


async def load_schedules(
    session: AsyncSession,
    head: SiteAndMotive,
    *,
    first_day: date,
    last_day: date,
    agent_id: int | None = None,
) -> SearchInputs:
    """The rest of the engine's inputs, once the site and motive are known: two statements."""
    timezone = head.timezone
    parameters = {
        "site_id": head.site_id,
        "partner_id": head.partner_id,
        "agent_id": agent_id,
        "first_day": first_day - ZONE_MARGIN,
        "last_day": last_day + ZONE_MARGIN,
        "range_start": local_day_bounds(first_day, timezone)[0] - ZONE_MARGIN,
        "range_end": local_day_bounds(last_day, timezone)[1] + ZONE_MARGIN,
    }
    connection = await session.connection()
    rule_rows = [
        RuleRow._make(row) for row in await direct(statements.rules()).rows(connection, parameters)
    ]
    blocked = await direct(statements.blocking()).rows(connection, parameters)
    site = SiteCalendar(
        site_id=head.site_id,
        timezone=timezone,
        opening_hours=head.opening_hours,
        holidays=public_holidays(
            head.holiday_calendar, first_day - timedelta(days=1), last_day + timedelta(days=1)
        ),
        closures=tuple(
            (start, end)
            for kind, _agent, station, start, end in blocked
            if kind == CLOSURE and station is None and start and end
        ),
    )
    return SearchInputs(
        site=site,
        stations=_stations(blocked),
        agents=_agents(rule_rows, blocked),
        head=head,
        first_day=first_day,
        last_day=last_day,
        agent_details={
            row.agent_id: AgentContact(
                row.agent_name, row.agent_email, row.agent_locale, row.timezone
            )
            for row in rule_rows
        },
    )


Interval = tuple[datetime, datetime]


def _stations(blocked: Sequence[BlockingRow]) -> tuple[StationSchedule, ...]:
    closures: dict[int, list[Interval]] = defaultdict(list)
    busy: dict[int, list[Interval]] = defaultdict(list)
    station_ids = []
    for kind, _agent, station, start, end in blocked:
        if station is None:
            continue
        if kind == STATION:
            station_ids.append(station)
        elif start is None or end is None:
            continue
        elif kind == BUSY:
            busy[station].append((start, end))
        elif kind == CLOSURE:
            closures[station].append((start, end))
    return tuple(
        StationSchedule(
            station_id=station, closures=tuple(closures[station]), busy=tuple(busy[station])
        )
        for station in sorted(station_ids)
    )


def _agents(
    rule_rows: Sequence[RuleRow], blocked: Sequence[BlockingRow]
) -> tuple[AgentSchedule, ...]:
    # One row per (rule, linked site, linked motive): fold them back into rules.
    rules: dict[int, RuleRow] = {}
    sites_of: dict[int, set[int]] = defaultdict(set)
    motives_of: dict[int, set[int]] = defaultdict(set)
    for row in rule_rows:
        rules[row.rule_id] = row
        if row.site_id is not None:
            sites_of[row.rule_id].add(row.site_id)
        if row.motive_id is not None:
            motives_of[row.rule_id].add(row.motive_id)
    absences: dict[int, list[Interval]] = defaultdict(list)
    busy: dict[int, list[Interval]] = defaultdict(list)
    for kind, agent, _station, start, end in blocked:
        if agent is None or start is None or end is None:
            continue
        if kind == BUSY:
            busy[agent].append((start, end))
        elif kind == ABSENCE:
            absences[agent].append((start, end))
    agent_rules: dict[int, list[AvailabilityRule]] = defaultdict(list)
    agent_zone: dict[int, str] = {}
    for rule_id, rule in rules.items():
        agent_zone[rule.agent_id] = rule.timezone
        agent_rules[rule.agent_id].append(
            AvailabilityRule(
                weekdays=frozenset(rule.weekdays),
                start=rule.start,
                end=rule.end,
                every_weeks=rule.every_weeks,
                anchor_date=rule.anchor_date,
                valid_from=rule.valid_from,
                valid_until=rule.valid_until,
                site_ids=frozenset(sites_of[rule_id]) if rule_id in sites_of else None,
                motive_ids=frozenset(motives_of[rule_id]) if rule_id in motives_of else None,
            )
        )
    return tuple(
        AgentSchedule(
            agent_id=agent,
            timezone=agent_zone[agent],
            rules=tuple(agent_rules[agent]),
            absences=tuple(absences[agent]),
            busy=tuple(busy[agent]),
        )
        for agent in sorted(agent_rules)
    )
