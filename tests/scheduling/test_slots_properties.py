"""Properties of the slot engine on generated small worlds.

A world is one site (Paris, La Réunion, Guyane or UTC) with a few opening hours, holidays and
closures, one to three stations, one to three agents in any of those zones with a few rules,
absences and appointments, and one motive, around a Saturday-to-Monday that is either the
spring change, the autumn change or an ordinary June weekend in Paris.

Windows are drawn either by day (between 05:00 and 22:00) or overnight (from 20:00 or later to
04:00 at the latest), so that windows of consecutive dates never overlap: the one case where the
engine joins windows across dates is left to the explicit tests.

Beside the per-slot checks, :func:`reference_slots` recomputes the answer the slow and obvious
way (every grid point of every pair of windows, every condition checked on datetimes) and the
engine must agree with it exactly.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from visio.scheduling.calendars import to_local, to_utc
from visio.scheduling.slots import (
    AgentSchedule,
    AvailabilityRule,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    Slot,
    StationSchedule,
    find_free_times,
    find_slots,
)

ZONES = ("Europe/Paris", "Indian/Reunion", "America/Cayenne", "UTC")
# Saturdays before the spring change, before the autumn change, and an ordinary one.
BASE_DAYS = (date(2026, 3, 28), date(2026, 10, 24), date(2026, 6, 13))
SITE_ID = 1
MOTIVE_ID = 10
QUARTER = timedelta(minutes=15)
Span = tuple[datetime, datetime]
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


# --- generated worlds ------------------------------------------------------------------------


@st.composite
def wall_windows(draw: st.DrawFn) -> tuple[time, time]:
    """A wall-clock window: by day within 05:00-22:00, or overnight from 20:00+ to 04:00-."""
    if draw(st.integers(0, 3)) == 0:
        start = draw(st.integers(20 * 4, 24 * 4 - 1))
        end = draw(st.integers(0, 4 * 4))
    else:
        start = draw(st.integers(5 * 4, 21 * 4))
        end = draw(st.integers(start + 1, 22 * 4))
    return quarter_time(start), quarter_time(end)


def quarter_time(quarters: int) -> time:
    return time(quarters // 4, quarters % 4 * 15)


@st.composite
def spans(draw: st.DrawFn, base: date, max_size: int) -> tuple[Span, ...]:
    """Intervals of up to 4 hours in five-minute steps from the day before ``base`` over five
    days, some of them empty."""
    origin = datetime.combine(base - timedelta(days=1), time(0), tzinfo=UTC)
    result = []
    for _ in range(draw(st.integers(0, max_size))):
        start = origin + timedelta(minutes=5 * draw(st.integers(0, 5 * 288)))
        result.append((start, start + timedelta(minutes=5 * draw(st.integers(0, 48)))))
    return tuple(result)


def optional_days(base: date, low: int, high: int) -> st.SearchStrategy[date | None]:
    return st.none() | st.integers(low, high).map(lambda offset: base + timedelta(days=offset))


EVERY_DAY = frozenset(range(1, 8))
WEEKDAY_SETS = st.sampled_from(
    (EVERY_DAY, frozenset(range(1, 6)), frozenset({6, 7}))
) | st.frozensets(st.integers(1, 7), min_size=1)


def mostly_none(wanted: int, other: int) -> st.SearchStrategy[frozenset[int] | None]:
    """``None`` half of the time, else a set with or without ``wanted``."""
    return st.sampled_from(
        (
            None,
            None,
            None,
            frozenset({wanted}),
            frozenset({other}),
            frozenset({wanted, other}),
        )
    )


@st.composite
def rules(
    draw: st.DrawFn, base: date, windows: st.SearchStrategy[tuple[time, time]]
) -> AvailabilityRule:
    start, end = draw(windows)
    valid_from = draw(st.none() | optional_days(base, -2, 4))
    valid_until = draw(st.none() | optional_days(base, -2, 4))
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        valid_from, valid_until = valid_until, valid_from
    return AvailabilityRule(
        weekdays=draw(WEEKDAY_SETS),
        start=start,
        end=end,
        every_weeks=draw(st.sampled_from((1, 1, 1, 2, 3))),
        anchor_date=draw(optional_days(base, -14, 14)),
        valid_from=valid_from,
        valid_until=valid_until,
        site_ids=draw(mostly_none(SITE_ID, 2)),
        motive_ids=draw(mostly_none(MOTIVE_ID, 11)),
    )


@st.composite
def worlds(draw: st.DrawFn) -> World:
    base = draw(st.sampled_from(BASE_DAYS))
    site_zone = draw(st.sampled_from(ZONES))
    # Site hours and rules draw their windows mostly from one small palette, and agents are
    # mostly in the site's zone, so that windows often meet and slots exist to be checked.
    palette = draw(st.lists(wall_windows(), min_size=1, max_size=2))
    windows = st.sampled_from(palette) | wall_windows()
    opening_hours = tuple(
        OpeningHours(weekday, start, end)
        for weekdays, (start, end) in draw(
            st.lists(st.tuples(WEEKDAY_SETS, windows), min_size=1, max_size=3)
        )
        for weekday in sorted(weekdays)
    )
    site = SiteCalendar(
        SITE_ID,
        site_zone,
        opening_hours,
        frozenset(
            base + timedelta(days=offset)
            for offset in draw(st.sets(st.integers(-1, 4), max_size=1))
        ),
        draw(spans(base, 1)),
    )
    station_ids = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True))
    stations = tuple(
        StationSchedule(station_id, draw(spans(base, 2)), draw(spans(base, 3)))
        for station_id in station_ids
    )
    agent_ids = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True))
    # Rules on every day, with no filter, half of the time: the others rarely all apply.
    plain_rules = windows.map(lambda window: AvailabilityRule(EVERY_DAY, *window))
    agents = tuple(
        AgentSchedule(
            agent_id,
            draw(st.sampled_from((site_zone, site_zone, site_zone, *ZONES))),
            tuple(draw(st.lists(plain_rules | rules(base, windows), min_size=1, max_size=3))),
            draw(spans(base, 2)),
            draw(spans(base, 3)),
        )
        for agent_id in agent_ids
    )
    buffers = st.sampled_from((0, 5, 15)).map(lambda count: timedelta(minutes=count))
    motive = MotiveTiming(
        MOTIVE_ID,
        timedelta(minutes=draw(st.sampled_from((15, 30, 45, 60, 90)))),
        step=draw(st.sampled_from((None, 10, 15, 20, 30, 60)).map(optional_minutes)),
        buffer_before=draw(buffers),
        buffer_after=draw(buffers),
        min_notice=draw(st.sampled_from((timedelta(0), timedelta(hours=1), timedelta(days=1)))),
        horizon=draw(
            st.sampled_from(
                (timedelta(days=1), timedelta(days=3), timedelta(days=60), timedelta(days=60))
            )
        ),
    )
    first_day = base + timedelta(days=draw(st.integers(0, 1)))
    last_day = first_day + timedelta(days=draw(st.integers(0, 2)))
    now = datetime.combine(base, time(0), tzinfo=UTC) + QUARTER * draw(st.integers(-96, 48))
    return World(site, stations, motive, agents, first_day, last_day, now)


def optional_minutes(count: int | None) -> timedelta | None:
    return None if count is None else timedelta(minutes=count)


@dataclass(frozen=True)
class World:
    """The arguments of one find_slots call."""

    site: SiteCalendar
    stations: tuple[StationSchedule, ...]
    motive: MotiveTiming
    agents: tuple[AgentSchedule, ...]
    first_day: date
    last_day: date
    now: datetime

    def slots(self) -> list[Slot]:
        return find_slots(
            self.site,
            self.stations,
            self.motive,
            self.agents,
            self.first_day,
            self.last_day,
            self.now,
        )


# --- the slow, obvious answer ----------------------------------------------------------------


def overlaps(first: Span, second: Span) -> bool:
    return (
        first[0] < first[1]
        and second[0] < second[1]
        and first[0] < second[1]
        and second[0] < first[1]
    )


def join(windows: list[Span], *, touching: bool) -> list[Span]:
    joined: list[Span] = []
    for start, end in sorted(windows):
        if joined and (start < joined[-1][1] or (touching and start == joined[-1][1])):
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return joined


def windows_of(zone: str, entries: list[tuple[date, time, time]]) -> list[Span]:
    """Windows of (date, start, end) wall-clock entries: joined within a date, and across dates
    only where they overlap."""
    by_date: dict[date, list[Span]] = {}
    for day, start, end in entries:
        window = (
            to_utc(day, start, zone),
            to_utc(day + timedelta(days=int(end <= start)), end, zone),
        )
        if window[0] < window[1]:
            by_date.setdefault(day, []).append(window)
    every_date = [window for day in sorted(by_date) for window in join(by_date[day], touching=True)]
    return join(every_date, touching=False)


def rule_applies_on(rule: AvailabilityRule, day: date) -> bool:
    anchor = rule.anchor_date or rule.valid_from or date(2001, 1, 1)
    cycle_monday = anchor - timedelta(days=anchor.weekday())
    return (
        day.isoweekday() in rule.weekdays
        and (rule.valid_from is None or rule.valid_from <= day)
        and (rule.valid_until is None or day <= rule.valid_until)
        and ((day - cycle_monday).days // 7) % rule.every_weeks == 0
        and (rule.site_ids is None or SITE_ID in rule.site_ids)
        and (rule.motive_ids is None or MOTIVE_ID in rule.motive_ids)
    )


def days_around(world: World) -> list[date]:
    # Zones differ by at most 7 hours here: three days of margin are plenty.
    count = (world.last_day - world.first_day).days + 7
    return [world.first_day - timedelta(days=3) + timedelta(days=n) for n in range(count)]


def site_windows(world: World) -> list[Span]:
    return windows_of(
        world.site.timezone,
        [
            (day, hours.start, hours.end)
            for day in days_around(world)
            for hours in world.site.opening_hours
            if hours.weekday == day.isoweekday()
        ],
    )


def rule_windows(world: World, agent: AgentSchedule) -> list[Span]:
    return windows_of(
        agent.timezone,
        [
            (day, rule.start, rule.end)
            for day in days_around(world)
            for rule in agent.rules
            if rule_applies_on(rule, day)
        ],
    )


def holiday_spans(world: World) -> list[Span]:
    zone = world.site.timezone
    return [
        (to_utc(day, time(0), zone), to_utc(day + timedelta(days=1), time(0), zone))
        for day in world.site.holidays
    ]


def widened(world: World, start: datetime) -> Span:
    motive = world.motive
    return start - motive.buffer_before, start + motive.duration + motive.buffer_after


def station_is_free(world: World, station: StationSchedule, start: datetime) -> bool:
    plain = (start, start + world.motive.duration)
    return not any(overlaps(widened(world, start), busy) for busy in station.busy) and not any(
        overlaps(plain, closed) for closed in station.closures
    )


def agent_is_free(world: World, agent: AgentSchedule, start: datetime) -> bool:
    return not any(
        overlaps(widened(world, start), taken) for taken in (*agent.busy, *agent.absences)
    )


def site_is_open(world: World, start: datetime) -> bool:
    plain = (start, start + world.motive.duration)
    return not any(
        overlaps(plain, closed) for closed in (*world.site.closures, *holiday_spans(world))
    )


def in_request(world: World, start: datetime) -> bool:
    local_day = to_local(start, world.site.timezone).date()
    return (
        world.first_day <= local_day <= world.last_day
        and world.now + world.motive.min_notice <= start <= world.now + world.motive.horizon
    )


def reference_slots(world: World) -> list[Slot]:
    motive = world.motive
    step = motive.step or motive.duration
    stations = sorted(world.stations, key=lambda station: station.station_id)
    opening = site_windows(world)
    found = []
    for agent in world.agents:
        availability = rule_windows(world, agent)
        for opening_window in opening:
            for rule_window in availability:
                low = max(opening_window[0], rule_window[0])
                high = min(opening_window[1], rule_window[1])
                start = low
                while start + motive.duration <= high:
                    if (
                        in_request(world, start)
                        and site_is_open(world, start)
                        and agent_is_free(world, agent, start)
                    ):
                        for station in stations:
                            if station_is_free(world, station, start):
                                found.append(
                                    Slot(
                                        start,
                                        start + motive.duration,
                                        agent.agent_id,
                                        station.station_id,
                                    )
                                )
                                break
                    start += step
    return sorted(found, key=lambda slot: (slot.start, slot.agent_id))


def keys(slots: Sequence[Slot]) -> set[tuple[datetime, int]]:
    return {(slot.start, slot.agent_id) for slot in slots}


# --- properties ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(worlds())
def test_engine_agrees_with_the_reference(world: World) -> None:
    assert world.slots() == reference_slots(world)


@PROPERTY_SETTINGS
@given(worlds())
def test_every_slot_meets_every_condition(world: World) -> None:
    slots = world.slots()
    agents = {agent.agent_id: agent for agent in world.agents}
    stations = {station.station_id: station for station in world.stations}
    opening = site_windows(world)
    for slot in slots:
        plain = (slot.start, slot.end)
        agent = agents[slot.agent_id]
        assert slot.start.tzinfo is UTC and slot.end - slot.start == world.motive.duration
        # within the request, the notice and the horizon
        assert in_request(world, slot.start)
        # inside one opening window and one window of the agent's applicable rules
        assert any(low <= slot.start and slot.end <= high for low, high in opening)
        assert any(
            low <= slot.start and slot.end <= high for low, high in rule_windows(world, agent)
        )
        # no closure, no holiday
        assert site_is_open(world, slot.start)
        # agent free, buffers included, of busy intervals and absences
        assert agent_is_free(world, agent, slot.start)
        # the station free, and no station of smaller id free
        assert station_is_free(world, stations[slot.station_id], slot.start)
        assert not any(
            station_is_free(world, station, slot.start)
            for station_id, station in stations.items()
            if station_id < slot.station_id
        )
        assert plain[0] < plain[1]


@PROPERTY_SETTINGS
@given(worlds())
def test_slots_are_sorted_and_unique_per_start_and_agent(world: World) -> None:
    slots = world.slots()
    order = [(slot.start, slot.agent_id) for slot in slots]
    assert order == sorted(order)
    assert len(set(order)) == len(order)


Item = TypeVar("Item")


@PROPERTY_SETTINGS
@given(worlds(), st.randoms(use_true_random=False))
def test_order_of_every_input_sequence_does_not_matter(world: World, rng: random.Random) -> None:
    def shuffled(items: Sequence[Item]) -> tuple[Item, ...]:
        copy = list(items)
        rng.shuffle(copy)
        return tuple(copy)

    site = replace(
        world.site,
        opening_hours=shuffled(world.site.opening_hours),
        closures=shuffled(world.site.closures),
    )
    stations = shuffled(
        [
            replace(station, closures=shuffled(station.closures), busy=shuffled(station.busy))
            for station in world.stations
        ]
    )
    agents = shuffled(
        [
            replace(
                agent,
                rules=shuffled(agent.rules),
                absences=shuffled(agent.absences),
                busy=shuffled(agent.busy),
            )
            for agent in world.agents
        ]
    )
    permuted = replace(world, site=site, stations=stations, agents=agents)
    assert permuted.slots() == world.slots()


@st.composite
def worlds_with_one_more_exception(draw: st.DrawFn) -> tuple[World, World]:
    """A world, and the same world with one more busy interval, absence or closure."""
    world = draw(worlds())
    origin = datetime.combine(world.first_day - timedelta(days=1), time(0), tzinfo=UTC)
    start = origin + timedelta(minutes=5 * draw(st.integers(0, 4 * 288)))
    extra = (start, start + timedelta(minutes=5 * draw(st.integers(1, 96))))
    target = draw(
        st.sampled_from(
            ("site closure", "station busy", "station closure", "agent busy", "absence")
        )
    )
    site, stations, agents = world.site, list(world.stations), list(world.agents)
    if target == "site closure":
        site = replace(site, closures=(*site.closures, extra))
    elif target.startswith("station"):
        index = draw(st.integers(0, len(stations) - 1))
        station = stations[index]
        stations[index] = (
            replace(station, busy=(*station.busy, extra))
            if target == "station busy"
            else replace(station, closures=(*station.closures, extra))
        )
    else:
        index = draw(st.integers(0, len(agents) - 1))
        agent = agents[index]
        agents[index] = (
            replace(agent, busy=(*agent.busy, extra))
            if target == "agent busy"
            else replace(agent, absences=(*agent.absences, extra))
        )
    return world, replace(world, site=site, stations=tuple(stations), agents=tuple(agents))


@PROPERTY_SETTINGS
@given(worlds_with_one_more_exception())
def test_adding_an_exception_never_adds_a_slot(pair: tuple[World, World]) -> None:
    # Read the other way round: removing a busy interval, an absence or a closure never
    # removes a slot. Stations may change hands (the first free one may now be busy), but
    # no (start, agent) appears.
    world, busier = pair
    assert keys(busier.slots()) <= keys(world.slots())


@PROPERTY_SETTINGS
@given(worlds(), st.data())
def test_removing_a_busy_interval_never_removes_a_slot(world: World, data: st.DataObject) -> None:
    choices = [("agent", index) for index, agent in enumerate(world.agents) if agent.busy] + [
        ("station", index) for index, station in enumerate(world.stations) if station.busy
    ]
    if not choices:
        return
    kind, owner = data.draw(st.sampled_from(choices))
    if kind == "agent":
        agent = world.agents[owner]
        drop = data.draw(st.integers(0, len(agent.busy) - 1))
        agents = list(world.agents)
        agents[owner] = replace(agent, busy=agent.busy[:drop] + agent.busy[drop + 1 :])
        freer = replace(world, agents=tuple(agents))
    else:
        station = world.stations[owner]
        drop = data.draw(st.integers(0, len(station.busy) - 1))
        stations = list(world.stations)
        stations[owner] = replace(station, busy=station.busy[:drop] + station.busy[drop + 1 :])
        freer = replace(world, stations=tuple(stations))
    assert keys(world.slots()) <= keys(freer.slots())


# --- the any-agent sweep ---------------------------------------------------------------------


def free_times_of(world: World) -> list[tuple[datetime, datetime, int, int]]:
    found = find_free_times(
        world.site, world.stations, world.motive, world.agents, world.first_day,
        world.last_day, world.now,
    )  # fmt: skip
    return [(free.start, free.end, free.station_id, free.agents_free) for free in found]


def grouped(slots: Sequence[Slot]) -> list[tuple[datetime, datetime, int, int]]:
    """The per-agent answer, one row per start: its station and how many agents."""
    by_start: dict[datetime, list[Slot]] = {}
    for slot in slots:
        by_start.setdefault(slot.start, []).append(slot)
    rows = []
    for start, at_start in sorted(by_start.items()):
        assert len({slot.station_id for slot in at_start}) == 1
        rows.append((start, at_start[0].end, at_start[0].station_id, len(at_start)))
    return rows


@st.composite
def teams(draw: st.DrawFn) -> World:
    """A world whose agents all share the first one's zone and rules (a team: the sweep's
    groups of more than one), each with their own absences and appointments."""
    world = draw(worlds())
    first = world.agents[0]
    extra_ids = draw(st.lists(st.integers(10, 30), max_size=3, unique=True))
    base = world.first_day
    extra = tuple(
        AgentSchedule(
            agent_id, first.timezone, first.rules, draw(spans(base, 2)), draw(spans(base, 3))
        )
        for agent_id in extra_ids
    )
    agents = tuple(replace(agent, timezone=first.timezone, rules=first.rules)
                   for agent in world.agents) + extra  # fmt: skip
    return replace(world, agents=agents)


@PROPERTY_SETTINGS
@given(worlds())
def test_the_sweep_finds_the_starts_of_the_per_agent_engine(world: World) -> None:
    """Same starts, same stations, and as many agents free as the per-agent answer has rows
    at that start: rules, absences, closures, holidays, buffers, stations and zones across
    the changes of time all drawn."""
    assert free_times_of(world) == grouped(world.slots())


@PROPERTY_SETTINGS
@given(teams())
def test_the_sweep_counts_a_team_sharing_its_hours(world: World) -> None:
    assert free_times_of(world) == grouped(world.slots())


@PROPERTY_SETTINGS
@given(worlds(), st.integers(0, 40))
def test_a_limited_search_is_the_start_of_the_whole_answer(world: World, limit: int) -> None:
    whole = world.slots()
    limited = find_slots(
        world.site, world.stations, world.motive, world.agents, world.first_day,
        world.last_day, world.now, limit=limit,
    )  # fmt: skip
    assert limited == whole[:limit]
