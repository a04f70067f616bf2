"""The slot engine: every bookable (start, end, agent, station) of one site for one motive.

Pure: no database, no clock (``now`` is an argument), no randomness. Every datetime crossing
the API is aware; ``Slot`` instants are in UTC. Inside, instants are integers counting
microseconds since the Unix epoch (UTC), exact for anything a datetime can hold, and all the
work is interval arithmetic (:mod:`visio.scheduling.intervals`): no loop walks the clock minute
by minute, and the only per-slot work is producing the output.

What a slot is
--------------
Let ``d`` be the motive's duration and ``before``/``after`` its buffers. ``Slot(start, end,
agent A, station S)`` with ``end = start + d`` is returned when all of these hold:

1. ``start`` falls on a site-local date in ``[first_day, last_day]``, and
   ``now + min_notice <= start <= now + horizon``.
2. ``[start, end)`` lies inside one *opening window* of the site: the site's opening hours on
   one site-local date, hours of one date that overlap or touch counting as one window.
3. ``[start, end)`` lies inside one *availability window* of A: the windows, on one agent-local
   date, of A's rules that apply, joined where they overlap or touch. A rule applies on an
   agent-local date when the date's ISO weekday is in ``weekdays``, the date is within
   ``valid_from``/``valid_until`` (inclusive), the date's week is active in the rule's cycle
   (whole weeks counted from the Monday of ``anchor_date``, or of ``valid_from`` when there is
   no anchor, or of 2001-01-01 when there is neither; weeks before the anchor follow the same
   cycle), ``site_ids`` is ``None`` or holds the site and ``motive_ids`` is ``None`` or holds the
   motive. Weekdays and dates of a rule are the agent's, in the agent's zone; the date range of
   the request is the site's.
4. ``[start, end)`` overlaps no site closure, no station closure of S, and no site-local day in
   ``site.holidays``: rooms and doors have no buffers.
5. The widened interval ``[start - before, end + after)`` overlaps none of A's absences, none
   of A's busy intervals and none of S's busy intervals: the buffers are the agent's time to
   prepare and to write up, and the station's to be set up and cleared, so they must not fall
   on an absence or another appointment (whose busy intervals arrive widened by *their* own
   buffers). Empty intervals block nothing.

One slot per (start, agent): the free station with the smallest ``station_id``. The list is
sorted by (start, agent_id) and depends only on the inputs' content, never on the order of
any input sequence.

The grid
--------
Candidate starts are ``w + k * step`` (``step`` defaults to the duration) where ``w`` is the
start of a *grid window*: the overlap of one opening window with one availability window, in
elapsed UTC time. So a change of time inside a window never shifts the grid, while windows
themselves are wall-clock: a 09:00-12:00 window stays 09:00-12:00 on the days around the
changes of the last Sundays of March and October, and a window spanning the change has its real
length (00:00-06:00 in Paris lasts 5 hours on the last Sunday of March and 7 on the last Sunday
of October). Appointments, absences, closures, holidays, ``now`` and the requested date range
never shift the grid: they only remove candidates from it.

Wall clock and windows
----------------------
Wall-clock times become instants with :func:`visio.scheduling.calendars.to_utc` (a time in a
spring-forward gap moves forward by the gap, a time in an autumn fold is its first occurrence).
A window whose end is not after its start runs to that time on the next day (``22:00-02:00``,
``14:00-00:00``; ``start == end`` is 24 hours) and belongs to the date it starts on. Windows of
different dates are kept apart even when they touch at midnight, so a slot never straddles two
dates' windows; windows of different dates that overlap (possible only when hours run past
midnight into the next date's hours) are joined, and the grid then runs on from the earlier one.

Validating a booking request
----------------------------
The service checks a requested (start, agent, station) with :func:`is_bookable`, which runs
:func:`find_slots` on the slot's site-local date for that one agent (and that one station, if
chosen): the same code, the same grid, at the cost of one day for one agent.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, partial
from itertools import chain, pairwise, repeat
from typing import Final, TypeVar

from visio.scheduling.calendars import time_zone, to_utc
from visio.scheduling.intervals import intersect, normalise, subtract
from visio.scheduling.schedules import (
    DEFAULT_CYCLE_ANCHOR,
    AgentSchedule,
    AvailabilityRule,
    FreeTime,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    Slot,
    StationSchedule,
    check_aware,
)

__all__ = [
    "AgentSchedule",
    "AvailabilityRule",
    "FreeTime",
    "MotiveTiming",
    "OpeningHours",
    "SiteCalendar",
    "Slot",
    "StationSchedule",
    "find_free_times",
    "find_slots",
    "is_bookable",
    "within_permanences",
]

# A half-open range of instants, in microseconds since the epoch.
_Span = tuple[int, int]
# A range of slot starts that one station serves, with that station's id.
_StationSpan = tuple[int, int, int]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_MIDNIGHT: Final = time(0)


@dataclass(slots=True)
class _Search:
    """What every agent of one search shares: the motive's lengths in microseconds, the range
    of starts, the site's opening windows and the stations' free ranges of starts."""

    duration: int
    step: int
    before: int
    after: int
    earliest: int
    latest: int
    opening: list[_Span]
    free_stations: list[_StationSpan]
    station_span_ends: list[int]


def _prepare(
    site: SiteCalendar,
    stations: Sequence[StationSchedule],
    motive: MotiveTiming,
    first_day: date,
    last_day: date,
    now: datetime,
) -> _Search | None:
    """The part of a search that does not depend on the agent; None when nothing can be
    free (no station, the dates out of notice or horizon, the site closed throughout)."""
    check_aware(now, "now")
    station_order = _by_id(stations, lambda station: station.station_id, "station")
    if not station_order:
        return None
    duration = motive.duration // _MICROSECOND
    step = (motive.step if motive.step is not None else motive.duration) // _MICROSECOND
    before = motive.buffer_before // _MICROSECOND
    after = motive.buffer_after // _MICROSECOND
    now_micros = _micros(now)
    site_zone = site.timezone

    # Every slot start lies in [earliest, latest): the requested site-local dates, cut by the
    # notice and the horizon (inclusive, hence the extra microsecond).
    earliest = max(
        _wall_micros(site_zone, first_day.toordinal(), _MIDNIGHT),
        now_micros + motive.min_notice // _MICROSECOND,
    )
    latest = min(
        _wall_micros(site_zone, last_day.toordinal() + 1, _MIDNIGHT),
        now_micros + motive.horizon // _MICROSECOND + 1,
    )
    if earliest >= latest:
        return None

    # Windows from the day before the first start (one may run past midnight) to the day of
    # the last possible end: a window starting later cannot hold a slot.
    first_site_day = _local_ordinal(earliest, site_zone) - 1
    last_site_day = _local_ordinal(latest - 1 + duration, site_zone)
    opening = _opening_windows(site, first_site_day, last_site_day)
    if not opening:
        return None

    # From here on, constraints are sets of allowed *starts*: a slot [t, t + d) misses a
    # closure [c0, c1) exactly when t is outside (c0 - d, c1), which on integers is the
    # half-open [c0 - d + 1, c1).
    site_closed = chain(
        (
            (closed_from - duration + 1, closed_until)
            for closed_from, closed_until in _micro_spans(site.closures)
        ),
        (
            (
                _wall_micros(site_zone, holiday.toordinal(), _MIDNIGHT) - duration + 1,
                _wall_micros(site_zone, holiday.toordinal() + 1, _MIDNIGHT),
            )
            for holiday in site.holidays
            if first_site_day <= holiday.toordinal() <= last_site_day
        ),
    )
    open_starts = subtract([(earliest, latest)], normalise(site_closed))
    free_stations = _free_stations(station_order, open_starts, duration, before, after)
    if not free_stations:
        return None
    return _Search(
        duration, step, before, after, earliest, latest,
        opening, free_stations, [span_end for _, span_end, _ in free_stations],
    )  # fmt: skip


# A team: agents who share their hours at this site for this motive (their zone and the
# rules that apply), with their grid starts at which a station is free and that station.
_Team = tuple[list[int], list[int], list[AgentSchedule]]


def _teams(
    site: SiteCalendar,
    stations: Sequence[StationSchedule],
    motive: MotiveTiming,
    agents: Sequence[AgentSchedule],
    first_day: date,
    last_day: date,
    now: datetime,
) -> tuple[_Search, list[_Team]] | None:
    """What both searches start from: the agent-independent part, and the agents grouped
    by their hours, each group's grid worked out once (a team mostly shares its hours).
    None when nothing can be free."""
    agent_order = _by_id(agents, lambda agent: agent.agent_id, "agent")
    search = _prepare(site, stations, motive, first_day, last_day, now)
    if search is None or not agent_order:
        return None
    members: dict[tuple[str, tuple[AvailabilityRule, ...]], list[AgentSchedule]] = {}
    for agent in agent_order:
        rules = tuple(
            rule for rule in agent.rules if rule.applies_to(site.site_id, motive.motive_id)
        )
        if rules:
            members.setdefault((agent.timezone, rules), []).append(agent)
    teams = []
    for (zone, rules), team in members.items():
        starts, station_ids = _grid_with_stations(search, _window_starts(search, zone, rules))
        if starts:
            teams.append((starts, station_ids, team))
    return search, teams


def _window_starts(search: _Search, zone: str, rules: tuple[AvailabilityRule, ...]) -> list[_Span]:
    """The ranges of starts of the grid windows of `rules` in `zone` (the overlaps of their
    windows with the site's), each range beginning at its window's start, the grid's anchor.
    A slot [t, t + d) fits the grid window [w0, w1) when w0 <= t <= w1 - d."""
    duration = search.duration
    first = _local_ordinal(search.earliest, zone) - 1
    last = _local_ordinal(search.latest - 1 + duration, zone)
    grid_windows = intersect(search.opening, _availability_windows(zone, rules, first, last))
    return [
        (window_start, window_end - duration + 1)
        for window_start, window_end in grid_windows
        if window_end - window_start >= duration
    ]


def _agent_blocked(search: _Search, agent: AgentSchedule) -> list[_Span]:
    """The starts the agent's absences and appointments rule out, normalised: the widened
    slot [t - before, t + d + after) misses [b0, b1) exactly when t is outside
    (b0 - d - after, b1 + before)."""
    lead, trail = search.duration + search.after - 1, search.before
    # The hot loop of a team's search (every appointment of every agent passes here once):
    # the instants converted through the shared cache, inline.
    known = _KNOWN_MICROS
    spans: list[_Span] = []
    for intervals in (agent.absences, agent.busy):
        for busy_from, busy_until in intervals:
            if busy_from < busy_until:  # an empty interval blocks nothing
                start = known.get(busy_from)
                if start is None:
                    start = known[busy_from] = _micros(busy_from)
                end = known.get(busy_until)
                if end is None:
                    end = known[busy_until] = _micros(busy_until)
                spans.append((start - lead, end + trail))
    if len(known) > _KNOWN_MICROS_BOUND:
        known.clear()
    spans.sort()
    # Joined where they overlap or touch, in one pass over the sorted spans.
    joined: list[_Span] = []
    last_until = None
    for span_from, span_until in spans:
        if last_until is not None and span_from <= last_until:
            if span_until > last_until:
                joined[-1] = (joined[-1][0], span_until)
                last_until = span_until
        else:
            joined.append((span_from, span_until))
            last_until = span_until
    return joined


def _ruled_out(search: _Search, agent: AgentSchedule, starts: list[int]) -> list[tuple[int, int]]:
    """The positions in a team's sorted `starts` that the agent's absences and appointments
    rule out, as ranges [first, last): sorted, disjoint, never empty."""
    ranges = []
    lowest = 0
    for blocked_from, blocked_until in _agent_blocked(search, agent):
        first = bisect_left(starts, blocked_from, lowest)
        last = bisect_left(starts, blocked_until, first)
        if first < last:
            ranges.append((first, last))
            lowest = last
    return ranges


def find_slots(
    site: SiteCalendar,
    stations: Sequence[StationSchedule],
    motive: MotiveTiming,
    agents: Sequence[AgentSchedule],
    first_day: date,
    last_day: date,
    now: datetime,
    *,
    limit: int | None = None,
) -> list[Slot]:
    """Return every bookable slot whose start falls on a site-local date in
    ``[first_day, last_day]``, one per (start, agent) with the free station of smallest id,
    sorted by (start, agent_id); the conditions are those of the module docstring. With
    ``limit``, only the first ``limit`` of them (the others are never built).

    Independent of the order of ``stations``, ``agents`` and of every tuple inside the inputs.
    Raises ``ValueError`` for a naive ``now`` or two stations or agents sharing an id.
    """
    prepared = _teams(site, stations, motive, agents, first_day, last_day, now)
    if prepared is None:
        return []
    search, teams = prepared
    # Each agent's rows are slices of their team's grid between the starts ruled out, made
    # into slots without a Python call per row (a start's instants are built once a team).
    found: list[Slot] = []
    make = partial(tuple.__new__, Slot)
    duration = timedelta(microseconds=search.duration)
    for starts, station_ids, team in teams:
        begins = [_EPOCH + timedelta(microseconds=start) for start in starts]
        ends = [begin + duration for begin in begins]
        for agent in team:
            agent_id = agent.agent_id
            free_from = 0
            for first, last in _ruled_out(search, agent, starts):
                if first > free_from:
                    rows = slice(free_from, first)
                    found.extend(
                        map(
                            make, zip(begins[rows], ends[rows], repeat(agent_id), station_ids[rows])
                        )
                    )
                free_from = last
            rows = slice(free_from, None)
            found.extend(
                map(make, zip(begins[rows], ends[rows], repeat(agent_id), station_ids[rows]))
            )

    # By start, then agent: the end follows the start, and no two rows share both.
    found.sort()
    if limit is not None:
        del found[limit:]
    return found


def _grid_with_stations(search: _Search, window_starts: list[_Span]) -> tuple[list[int], list[int]]:
    """The grid starts of these windows (each window's grid from its own start) at which a
    station is free, sorted, and the free station of smallest id at each."""
    starts: list[int] = []
    station_ids: list[int] = []
    free_stations, station_span_ends = search.free_stations, search.station_span_ends
    for window_start, window_end in window_starts:
        for start in range(window_start, window_end, search.step):
            index = bisect_right(station_span_ends, start)
            if index < len(free_stations) and free_stations[index][0] <= start:
                starts.append(start)
                station_ids.append(free_stations[index][2])
    return starts, station_ids


def find_free_times(
    site: SiteCalendar,
    stations: Sequence[StationSchedule],
    motive: MotiveTiming,
    agents: Sequence[AgentSchedule],
    first_day: date,
    last_day: date,
    now: datetime,
) -> list[FreeTime]:
    """Return one ``FreeTime`` per start at which :func:`find_slots` would offer at least
    one slot: the same starts, sorted, each with its station (the free one of smallest id,
    which does not depend on the agent) and how many agents are free then.

    One sweep per group of agents sharing their hours (zone and rules that apply): the
    group's grid starts at which a station is free are listed once; each agent's absences
    and appointments rule out a few ranges of positions in that list, counted with a -1
    where one begins and a +1 where it ends; a running sum from the group's size gives the
    agents free at each start. No (start, agent) pair is ever built.
    """
    prepared = _teams(site, stations, motive, agents, first_day, last_day, now)
    if prepared is None:
        return []
    search, teams = prepared
    free_at: dict[int, tuple[int, int]] = {}
    for starts, station_ids, members in teams:
        # Changes in the count of the team's free agents, by position in its grid.
        changes = [0] * (len(starts) + 1)
        for agent in members:
            for first, last in _ruled_out(search, agent, starts):
                changes[first] -= 1
                changes[last] += 1
        free = len(members)
        for position, at in enumerate(starts):
            free += changes[position]
            if free > 0:
                # Another group may be free at that start too: the counts add up.
                known = free_at.get(at)
                free_at[at] = (station_ids[position], free + (known[1] if known else 0))
    times: list[FreeTime] = []
    duration = timedelta(microseconds=search.duration)
    for start_micros in sorted(free_at):
        station_id, free = free_at[start_micros]
        start = _EPOCH + timedelta(microseconds=start_micros)
        times.append(FreeTime(start, start + duration, station_id, free))
    return times


def is_bookable(
    slot_start: datetime,
    agent_id: int,
    station_id: int | None,
    site: SiteCalendar,
    stations: Sequence[StationSchedule],
    motive: MotiveTiming,
    agents: Sequence[AgentSchedule],
    now: datetime,
) -> Slot | None:
    """Return the slot starting at ``slot_start`` with agent ``agent_id`` if :func:`find_slots`
    would offer it, else ``None``.

    With a ``station_id`` the slot is at that station if it is free there (even when a station
    of smaller id is free too); with ``None`` it is at the free station of smallest id. This is
    the check the booking service runs on a request, with the same inputs as the listing.
    """
    check_aware(slot_start, "slot_start")
    day = slot_start.astimezone(time_zone(site.timezone)).date()
    chosen_agents = [agent for agent in agents if agent.agent_id == agent_id]
    chosen_stations = (
        stations
        if station_id is None
        else [station for station in stations if station.station_id == station_id]
    )
    for slot in find_slots(site, chosen_stations, motive, chosen_agents, day, day, now):
        if slot.start == slot_start:
            return slot
    return None


def within_permanences(
    timezone: str,
    rules: Sequence[AvailabilityRule],
    start: datetime,
    end: datetime,
    site_id: int,
    motive_id: int,
) -> bool:
    """Tell whether ``[start, end)`` lies inside one window of an agent's permanences
    (``rules``, on the agent's clock in ``timezone``) that offer ``site_id`` and
    ``motive_id``: whether those permanences still hold an appointment booked then.
    Windows are those the slot search offers from, so the answer is the search's."""
    check_aware(start, "start")
    check_aware(end, "end")
    offering = [rule for rule in rules if rule.applies_to(site_id, motive_id)]
    if not offering:
        return False
    low, high = _micros(start), _micros(end)
    first = _local_ordinal(low, timezone) - 1
    last = _local_ordinal(high, timezone)
    windows = _availability_windows(timezone, offering, first, last)
    return any(window_start <= low and high <= window_end for window_start, window_end in windows)


_Identified = TypeVar("_Identified", StationSchedule, AgentSchedule)


def _by_id(
    items: Sequence[_Identified], identify: Callable[[_Identified], int], what: str
) -> list[_Identified]:
    ordered = sorted(items, key=identify)
    for previous, current in pairwise(ordered):
        if identify(previous) == identify(current):
            raise ValueError(f"{what} {identify(current)} is given twice")
    return ordered


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICROSECOND


# Instants already converted: the same appointments come back in search after search (a
# datetime's hash and a dictionary lookup cost a fraction of the conversion). Emptied when
# full, so it never grows past its bound.
_KNOWN_MICROS: dict[datetime, int] = {}
_KNOWN_MICROS_BOUND: Final = 1 << 17


def _micro_spans(intervals: Iterable[tuple[datetime, datetime]]) -> Iterable[_Span]:
    # Empty intervals are dropped here: widened by buffers they would start blocking.
    known = _KNOWN_MICROS
    for start, end in intervals:
        if start < end:
            start_micros = known.get(start)
            if start_micros is None:
                start_micros = known[start] = _micros(start)
            end_micros = known.get(end)
            if end_micros is None:
                end_micros = known[end] = _micros(end)
            yield start_micros, end_micros
    if len(known) > _KNOWN_MICROS_BOUND:
        known.clear()


# Wall clock to instant, cached: rules and opening hours repeat a few times of day over and
# over, and a conversion through zoneinfo costs far more than a cache hit. Pure, so a cache
# shared between calls returns what a fresh conversion would.
@lru_cache(maxsize=1 << 16)
def _wall_micros(zone_name: str, ordinal: int, wall: time) -> int:
    return _micros(to_utc(date.fromordinal(ordinal), wall, zone_name))


def _local_ordinal(micros: int, zone_name: str) -> int:
    instant = _EPOCH + timedelta(microseconds=micros)
    return instant.astimezone(time_zone(zone_name)).toordinal()


def _iso_weekday(ordinal: int) -> int:
    # Day 1 of the proleptic Gregorian calendar, 0001-01-01, is a Monday.
    return (ordinal - 1) % 7 + 1


def _wall_span(zone_name: str, ordinal: int, start: time, end: time) -> _Span:
    end_ordinal = ordinal if end > start else ordinal + 1
    return _wall_micros(zone_name, ordinal, start), _wall_micros(zone_name, end_ordinal, end)


def _add_day(days: list[list[_Span]], windows: list[_Span]) -> None:
    # One day's windows, joined where they overlap or touch; most days have a single window,
    # which only needs to be non-empty (a window inside a spring-forward gap is empty).
    if len(windows) > 1:
        windows = normalise(windows)
    elif windows[0][0] >= windows[0][1]:
        return
    if windows:
        days.append(windows)


def _join_days(days: list[list[_Span]]) -> list[_Span]:
    # Each day's windows are already joined; across days only overlaps are joined, so windows
    # touching at midnight stay two windows with two grids.
    if len(days) == 1:
        return days[0]
    return normalise(chain.from_iterable(days), join_touching=False)


def _opening_windows(site: SiteCalendar, first: int, last: int) -> list[_Span]:
    """The site's opening windows on site-local days ``first``..``last`` (ordinals)."""
    hours_by_weekday: dict[int, list[OpeningHours]] = {}
    for hours in site.opening_hours:
        hours_by_weekday.setdefault(hours.weekday, []).append(hours)
    days: list[list[_Span]] = []
    for ordinal in range(first, last + 1):
        hours_today = hours_by_weekday.get(_iso_weekday(ordinal))
        if hours_today:
            _add_day(
                days,
                [
                    _wall_span(site.timezone, ordinal, hours.start, hours.end)
                    for hours in hours_today
                ],
            )
    return _join_days(days)


def _availability_windows(
    zone_name: str, rules: Sequence[AvailabilityRule], first: int, last: int
) -> list[_Span]:
    """The windows of ``rules`` on agent-local days ``first``..``last`` (ordinals)."""
    cycles = []
    for rule in rules:
        anchor = rule.anchor_date or rule.valid_from or DEFAULT_CYCLE_ANCHOR
        cycles.append(
            (
                rule.weekdays,
                rule.valid_from.toordinal() if rule.valid_from else first,
                rule.valid_until.toordinal() if rule.valid_until else last,
                rule.every_weeks,
                anchor.toordinal() - anchor.weekday(),
                rule.start,
                rule.end,
            )
        )
    days: list[list[_Span]] = []
    for ordinal in range(first, last + 1):
        weekday = _iso_weekday(ordinal)
        windows = [
            _wall_span(zone_name, ordinal, start, end)
            for weekdays, valid_from, valid_until, every_weeks, cycle_monday, start, end in cycles
            if weekday in weekdays
            and valid_from <= ordinal <= valid_until
            and ((ordinal - cycle_monday) // 7) % every_weeks == 0
        ]
        if windows:
            _add_day(days, windows)
    return _join_days(days)


def _free_stations(
    stations: Sequence[StationSchedule],
    open_starts: list[_Span],
    duration: int,
    before: int,
    after: int,
) -> list[_StationSpan]:
    """Split ``open_starts`` into ranges of starts, each labelled with the station of smallest
    id that is free for a slot starting there (stations given in id order)."""
    unserved = open_starts
    served: list[_StationSpan] = []
    for station in stations:
        if not unserved:
            break
        blocked = normalise(
            chain(
                (
                    (busy_from - duration - after + 1, busy_until + before)
                    for busy_from, busy_until in _micro_spans(station.busy)
                ),
                (
                    (closed_from - duration + 1, closed_until)
                    for closed_from, closed_until in _micro_spans(station.closures)
                ),
            )
        )
        served.extend(
            (start, end, station.station_id) for start, end in subtract(unserved, blocked)
        )
        unserved = intersect(unserved, blocked)
    served.sort()
    return served
