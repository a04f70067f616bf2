"""Finding free slots: load what the slot engine needs, in a fixed number of queries.

Whatever the number of agents, days or bookings, one search runs the same three statements
(the site with its hours and the motive, the permanences with their sites and motives,
and the stations with every interval that blocks time): no query per agent, per day or per slot.
They select plain rows (Core), not ORM objects: this is the hot read path.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, bindparam, literal, null, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.base import UTCDateTime
from visio.db.models import (
    Absence,
    Agent,
    Appointment,
    AppointmentStatus,
    Closure,
    Motive,
    OpeningHour,
    Partner,
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
from visio.scheduling.calendars import time_zone
from visio.services.accounts import Actor
from visio.services.errors import NotAllowed, NotFound

# Agents may live up to 26 hours of offset away from the site (Pacific to Réunion): load a
# day more on each side so their wall-clock windows are all seen.
ZONE_MARGIN = timedelta(days=1)
# "First available": look this many days at a time until the motive's horizon.
FIRST_SLOT_WINDOW_DAYS = 14


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
class SearchInputs:
    """Everything one search gives the engine, plus what explains an empty answer."""

    site: SiteCalendar
    site_name: str
    stations: tuple[StationSchedule, ...]
    motive: MotiveTiming
    partner_id: int
    agents: tuple[AgentSchedule, ...]
    head: SiteAndMotive
    # Each agent's name, email, language and zone, for the messages of a booking.
    agent_details: dict[int, tuple[str, str, str, str]]


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


@dataclass(frozen=True, slots=True)
class _Statements:
    head: Any
    rules: Any
    blocking: Any


@functools.cache
def _statements() -> _Statements:
    """The three statements of a search, built once with bound parameters.

    Building a select costs more than running it on a warm database: a search only binds
    new values (site_id, motive_id, partner_id, agent_id — None for every agent — and the
    range) into statements already built and compiled.
    """
    site_id = bindparam("site_id", type_=Integer)
    partner_id = bindparam("partner_id", type_=Integer)
    agent_id = bindparam("agent_id", type_=Integer)
    range_start = bindparam("range_start", type_=UTCDateTime())
    range_end = bindparam("range_end", type_=UTCDateTime())
    agent_filter = (
        Agent.partner_id == partner_id,
        Agent.active,
        or_(agent_id.is_(None), Agent.id == agent_id),
    )
    # The site, once per opening-hours row, each with the (active) motive and its partner.
    head = (
        select(
            Site.name,
            Site.timezone,
            Site.holiday_calendar,
            Site.address,
            Site.email,
            Motive.partner_id,
            Motive.duration_minutes,
            Motive.slot_step_minutes,
            Motive.buffer_before_minutes,
            Motive.buffer_after_minutes,
            Motive.min_notice_minutes,
            Motive.horizon_days,
            Partner.name,
            Motive.name,
            Motive.documents,
            Motive.instructions,
            Motive.reminder_offsets,
            OpeningHour.weekday,
            OpeningHour.start,
            OpeningHour.end,
        )
        .select_from(Site)
        .join(Motive, (Motive.id == bindparam("motive_id", type_=Integer)) & Motive.active)
        .join(Partner, Partner.id == Motive.partner_id)
        .outerjoin(OpeningHour, OpeningHour.site_id == Site.id)
        .where(Site.id == site_id)
    )
    # The permanences of the partner's active agents (or of the one asked for), each with
    # the sites and motives it is limited to (none: every one).
    rules = (
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
            rule_sites.c.site_id,
            rule_motives.c.motive_id,
            Agent.name,
            Agent.email,
            Agent.locale,
        )
        .join(Agent, Agent.id == RuleRow.agent_id)
        .outerjoin(rule_sites, rule_sites.c.rule_id == RuleRow.id)
        .outerjoin(rule_motives, rule_motives.c.rule_id == RuleRow.id)
        .where(
            *agent_filter,
            or_(RuleRow.valid_until.is_(None), RuleRow.valid_until >= bindparam("first_day")),
            or_(RuleRow.valid_from.is_(None), RuleRow.valid_from <= bindparam("last_day")),
        )
    )
    # Everything that blocks time in the range, in one statement: closures of the site (or
    # of one of its stations), absences of the agents, and the busy time of appointments;
    # and, last, the site's active stations themselves.
    agent_ids = select(Agent.id).where(*agent_filter).scalar_subquery()
    no_id = null().cast(Integer)
    no_time = null().cast(UTCDateTime())
    # "Not cancelled" rather than "status IN (the active ones)": the same rows (see
    # ACTIVE_STATUSES), but a filter planners do not mistake for the best index to use.
    occupies = Appointment.status != AppointmentStatus.CANCELLED
    busy_columns = (
        literal(_BUSY),
        Appointment.agent_id,
        Appointment.station_id,
        Appointment.busy_from,
        Appointment.busy_until,
    )
    in_range = (Appointment.busy_until > range_start, Appointment.busy_from < range_end)
    blocking: Any = union_all(
        select(
            literal(_CLOSURE).label("kind"),
            no_id.label("agent_id"),
            Closure.station_id.label("station_id"),
            Closure.start_at.label("start_at"),
            Closure.end_at.label("end_at"),
        ).where(
            Closure.site_id == site_id, Closure.end_at > range_start, Closure.start_at < range_end
        ),
        select(literal(_ABSENCE), Absence.agent_id, no_id, Absence.start_at, Absence.end_at).where(
            Absence.agent_id.in_(agent_ids),
            Absence.end_at > range_start,
            Absence.start_at < range_end,
        ),
        # Busy time of these agents anywhere, then of this site's stations with anyone else;
        # each branch searches its own (…, busy_until) index.
        select(*busy_columns).where(Appointment.agent_id.in_(agent_ids), *in_range, occupies),
        select(*busy_columns).where(
            Appointment.site_id == site_id,
            Appointment.agent_id.not_in(agent_ids),
            *in_range,
            occupies,
        ),
        select(literal(_STATION), no_id, Station.id, no_time, no_time).where(
            Station.site_id == site_id, Station.active
        ),
    )
    return _Statements(head, rules, blocking)


async def load_head(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    lock: tuple[int, int] | None = None,
) -> SiteAndMotive:
    """The site and the motive (one statement); `NotFound` for an unknown site or an
    unknown or retired motive.

    `lock` (PostgreSQL), an agent's and a station's ids: the same statement takes their
    row locks, the agent's first (see `visio.services.booking`).
    """
    connection = await session.connection()
    parameters = {"site_id": site_id, "motive_id": motive_id}
    if lock is not None:
        locked = {**parameters, "lock_agent_id": lock[0], "lock_station_id": lock[1]}
        rows = (await connection.execute(_head_locking(), locked)).all()
        if not rows:
            # No such agent or station (nothing to lock; the booking will find no slot),
            # or no such site or motive: the plain statement tells.
            rows = (await connection.execute(_statements().head, parameters)).all()
    else:
        rows = (await connection.execute(_statements().head, parameters)).all()
    if not rows:
        raise NotFound()
    (name, timezone, holiday_calendar, address, email, partner_id, *timing, partner_name,
     motive_name, documents, instructions, offsets, _weekday, _start, _end) = rows[0]  # fmt: skip
    return SiteAndMotive(
        site_id=site_id,
        site_name=name,
        timezone=timezone,
        holiday_calendar=holiday_calendar,
        opening_hours=tuple(
            OpeningHours(weekday=row[-3], start=row[-2], end=row[-1])
            for row in rows
            if row[-3] is not None
        ),
        site_address=address,
        site_email=email,
        motive=_motive_timing(motive_id, timing),
        partner_id=partner_id,
        partner_name=partner_name,
        motive_name=motive_name,
        documents=list(documents or []),
        instructions=instructions,
        reminder_offsets=list(offsets or []),
    )


@functools.cache
def _head_locking() -> Any:
    # PostgreSQL locks the rows of a joined tuple in the order the tables come in FROM.
    return (
        _statements()
        .head.join(Agent, Agent.id == bindparam("lock_agent_id", type_=Integer))
        .join(Station, Station.id == bindparam("lock_station_id", type_=Integer))
        .with_for_update(of=[Agent, Station])
    )


async def load_inputs(
    session: AsyncSession,
    *,
    site_id: int,
    motive_id: int,
    first_day: date,
    last_day: date,
    agent_id: int | None = None,
) -> SearchInputs:
    """The engine's inputs for one site and motive over site-local days, in three queries.

    Raises `NotFound` for an unknown site or an unknown or retired motive.
    """
    head = await load_head(session, site_id=site_id, motive_id=motive_id)
    return await load_schedules(
        session, head, first_day=first_day, last_day=last_day, agent_id=agent_id
    )


async def load_schedules(
    session: AsyncSession,
    head: SiteAndMotive,
    *,
    first_day: date,
    last_day: date,
    agent_id: int | None = None,
) -> SearchInputs:
    """The rest of the engine's inputs, once the site and motive are known: two queries."""
    statements = _statements()
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
    rule_rows = (await connection.execute(statements.rules, parameters)).all()
    blocked = (await connection.execute(statements.blocking, parameters)).all()

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
            if kind == _CLOSURE and station is None
        ),
    )
    return SearchInputs(
        site=site,
        site_name=head.site_name,
        stations=_stations(blocked),
        motive=head.motive,
        partner_id=head.partner_id,
        agents=_agents(rule_rows, blocked),
        head=head,
        agent_details={row[1]: (row[12], row[13], row[14], row[2]) for row in rule_rows},
    )


_CLOSURE, _ABSENCE, _BUSY, _STATION = "c", "a", "b", "s"
Interval = tuple[datetime, datetime]


def _stations(blocked: Sequence[Any]) -> tuple[StationSchedule, ...]:
    closures: dict[int, list[Interval]] = defaultdict(list)
    busy: dict[int, list[Interval]] = defaultdict(list)
    station_ids = []
    for kind, _agent, station, start, end in blocked:
        if kind == _STATION:
            station_ids.append(station)
        elif kind == _BUSY:
            busy[station].append((start, end))
        elif kind == _CLOSURE and station is not None:
            closures[station].append((start, end))
    return tuple(
        StationSchedule(
            station_id=station, closures=tuple(closures[station]), busy=tuple(busy[station])
        )
        for station in sorted(station_ids)
    )


def _motive_timing(motive_id: int, row: Sequence[Any]) -> MotiveTiming:
    duration, step, before, after, notice, horizon = row
    return MotiveTiming(
        motive_id=motive_id,
        duration=timedelta(minutes=duration),
        step=timedelta(minutes=step) if step else None,
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        min_notice=timedelta(minutes=notice),
        horizon=timedelta(days=horizon),
    )


def _agents(rule_rows: Sequence[Any], blocked: Sequence[Any]) -> tuple[AgentSchedule, ...]:
    # One row per (rule, linked site, linked motive): fold them back into rules.
    rules: dict[int, tuple[Any, ...]] = {}
    sites_of: dict[int, set[int]] = defaultdict(set)
    motives_of: dict[int, set[int]] = defaultdict(set)
    for row in rule_rows:
        rule_id = row[0]
        rules[rule_id] = tuple(row[:10])
        if row[10] is not None:
            sites_of[rule_id].add(row[10])
        if row[11] is not None:
            motives_of[rule_id].add(row[11])
    absences: dict[int, list[Interval]] = defaultdict(list)
    busy: dict[int, list[Interval]] = defaultdict(list)
    for kind, agent, _station, start, end in blocked:
        if kind == _BUSY:
            busy[agent].append((start, end))
        elif kind == _ABSENCE:
            absences[agent].append((start, end))
    agent_rules: dict[int, list[AvailabilityRule]] = defaultdict(list)
    agent_zone: dict[int, str] = {}
    for rule_id, (
        _id,
        agent,
        zone_name,
        weekdays,
        start,
        end,
        every,
        anchor,
        since,
        until,
    ) in rules.items():
        agent_zone[agent] = zone_name
        agent_rules[agent].append(
            AvailabilityRule(
                weekdays=frozenset(weekdays),
                start=start,
                end=end,
                every_weeks=every,
                anchor_date=anchor,
                valid_from=since,
                valid_until=until,
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
        today = now.astimezone(time_zone(timezone)).date()
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
    head: SiteAndMotive,
    *,
    start: datetime,
    agent_id: int,
    station_id: int | None,
    now: datetime,
) -> tuple[Slot | None, SearchInputs]:
    """The slot for a booking request if the engine offers it right now (else None), with
    the inputs it was judged on."""
    day = start.astimezone(time_zone(head.timezone)).date()
    inputs = await load_schedules(session, head, first_day=day, last_day=day, agent_id=agent_id)
    slot = is_bookable(
        start, agent_id, station_id, inputs.site, inputs.stations, inputs.motive, inputs.agents,
        now,
    )  # fmt: skip
    return slot, inputs
