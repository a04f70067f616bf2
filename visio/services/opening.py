"""When houses are open over a period: their opening days (for "requests per opening
day") and their stations' open minutes (for station occupancy), from the opening hours,
the public holidays of each house's calendar and its closures.

Houses with the same week and holiday calendar share one computation, so the whole network
(thousands of houses) costs little more than a few profiles. What is worked out is kept in
the process while the calendars' stamp (`calendar_stamps`, renewed by the database on any
change to sites, opening hours, stations or closures) stays the same: a dashboard of the
whole network reads one row, not thousands, until a calendar changes.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections import OrderedDict, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import CalendarStamp, Closure, OpeningHour, Site, Station
from visio.scheduling.calendars import public_holidays, time_zone

# One weekday's opening ranges, in minutes of the day.
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True, eq=False)
class SortedDays:
    """A set of days, sorted, counted in any range by bisection; with the running total of
    their open minutes (one station), summed over any range the same way."""

    days: tuple[date, ...]
    running: tuple[int, ...] = ()  # open minutes up to each day, that day included

    def count(self, first: date, last: date) -> int:
        return bisect.bisect_right(self.days, last) - bisect.bisect_left(self.days, first)

    def minutes(self, first: date, last: date) -> int:
        """The open minutes from `first` to `last`."""
        start = bisect.bisect_left(self.days, first)
        end = bisect.bisect_right(self.days, last)
        if end <= start:
            return 0
        return self.running[end - 1] - (self.running[start - 1] if start else 0)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.count(day, day) == 1


@dataclass(frozen=True, slots=True)
class Opening:
    """One house over a span of days: the days it opens (with their open minutes, site-wide
    closures taken off), its active stations, and what closures of single stations took."""

    days: SortedDays
    stations: int
    station_closures: tuple[tuple[date, int], ...] = ()  # (day, minutes one station lost)

    def station_minutes(self, first: date, last: date) -> int:
        """Open minutes × active stations, from `first` to `last`."""
        lost = sum(minutes for day, minutes in self.station_closures if first <= day <= last)
        return max(0, self.days.minutes(first, last) * self.stations - lost)


class Openings(Mapping[int, Opening]):
    """Houses' openings over one span of days, by house id; read-only, as requests share it.
    The network's days and station minutes are worked out once, on first demand."""

    __slots__ = ("_houses", "_station_minutes", "_union")

    def __init__(self, houses: dict[int, Opening]) -> None:
        self._houses = houses
        self._union: SortedDays | None = None
        self._station_minutes: dict[tuple[date, date], int] = {}

    def __getitem__(self, site_id: int) -> Opening:
        return self._houses[site_id]

    def __iter__(self) -> Iterator[int]:
        return iter(self._houses)

    def __len__(self) -> int:
        return len(self._houses)

    def union(self) -> SortedDays:
        """The days on which at least one of the houses opens."""
        if self._union is None:
            self._union = union(self._houses.values())
        return self._union

    def station_minutes(self, first: date, last: date) -> int:
        """Every house's open minutes × active stations, from `first` to `last`."""
        found = self._station_minutes.get((first, last))
        if found is None:
            found = sum(house.station_minutes(first, last) for house in self._houses.values())
            self._station_minutes[(first, last)] = found
        return found


@dataclass(slots=True)
class _Span:
    """What is known of one span of days under one stamp: some houses, or all."""

    houses: dict[int, Opening]
    every: Openings | None = None  # every house, once asked for


# Spans kept, the most recently used last: a dashboard asks one or two at a time.
KEPT_SPANS = 8
_kept: OrderedDict[tuple[str, date, date], _Span] = OrderedDict()


def union(openings: Iterable[Opening]) -> SortedDays:
    """The days on which at least one of the houses opens."""
    distinct = {id(opening.days): opening.days for opening in openings}
    if len(distinct) == 1:
        return next(iter(distinct.values()))
    every: set[date] = set()
    for days in distinct.values():
        every.update(days.days)
    return SortedDays(tuple(sorted(every)))


async def openings(
    session: AsyncSession, site_ids: Collection[int] | None, first: date, last: date
) -> Openings:
    """Each house's opening from `first` to `last` (every house when `site_ids` is None),
    kept while the calendars' stamp stays: then one statement, reading the stamp."""
    stamp = await calendar_stamp(session)
    if stamp is None:  # no stamp to trust: worked out afresh
        return Openings(await _read(session, site_ids, first, last))
    key = (stamp, first, last)
    span = _kept.get(key)
    if span is None:
        span = _kept[key] = _Span({})
        while len(_kept) > KEPT_SPANS:
            _kept.popitem(last=False)
    else:
        _kept.move_to_end(key)
    if site_ids is None:
        if span.every is None:
            span.houses = await _read(session, None, first, last)
            span.every = Openings(span.houses)
        return span.every
    missing = [site_id for site_id in site_ids if site_id not in span.houses]
    if missing and span.every is None:
        span.houses.update(await _read(session, missing, first, last))
    return Openings({site_id: span.houses[site_id] for site_id in site_ids
                     if site_id in span.houses})  # fmt: skip


async def calendar_stamp(session: AsyncSession) -> str | None:
    """The houses' calendars' stamp (migration 0008): equal stamps, equal sites, hours,
    stations and closures. None when there is none to trust."""
    connection = await session.connection()
    stamp: str | None = await connection.scalar(select(CalendarStamp.stamp))
    return stamp


async def _read(
    session: AsyncSession, site_ids: Collection[int] | None, first: date, last: date
) -> dict[int, Opening]:
    """Each house's opening, worked out from the database.

    One row per house: its week of opening hours comes as one string (the database joins
    them), so houses with the same week share one parsing and one computation."""
    week_query = select(
        OpeningHour.site_id.label("site_id"),
        func.aggregate_strings(
            cast(OpeningHour.weekday, String) + " " + cast(OpeningHour.start, String)
            + " " + cast(OpeningHour.end, String),
            ",",
        ).label("week"),
    ).group_by(OpeningHour.site_id)  # fmt: skip
    stations_query = (
        select(Station.site_id.label("site_id"), func.count().label("stations"))
        .where(Station.active)
        .group_by(Station.site_id)
    )
    if site_ids is not None:  # inside the groupings too: the database joins only these
        week_query = week_query.where(OpeningHour.site_id.in_(sorted(site_ids)))
        stations_query = stations_query.where(Station.site_id.in_(sorted(site_ids)))
    week, stations = week_query.subquery(), stations_query.subquery()
    houses = (
        select(Site.id, Site.timezone, Site.holiday_calendar, week.c.week, stations.c.stations)
        .outerjoin(week, week.c.site_id == Site.id)
        .outerjoin(stations, stations.c.site_id == Site.id)
    )
    closures = select(Closure.site_id, Closure.station_id, Closure.start_at, Closure.end_at).where(
        Closure.end_at > datetime.combine(first - timedelta(days=1), time(), UTC),
        Closure.start_at < datetime.combine(last + timedelta(days=2), time(), UTC),
    )
    if site_ids is not None:
        chosen = sorted(site_ids)
        houses = houses.where(Site.id.in_(chosen))
        closures = closures.where(Closure.site_id.in_(chosen))
    # Plain (Core) statements: thousands of rows, no ORM entity among them.
    connection = await session.connection()
    closed: dict[int, list[tuple[int | None, datetime, datetime]]] = defaultdict(list)
    for site_id, station_id, start_at, end_at in await connection.execute(closures):
        closed[site_id].append((station_id, start_at, end_at))
    found = {}
    for site_id, zone, calendar, hours, count in await connection.execute(houses):
        ranges = _week(hours or "")
        days = _profile(ranges, calendar, first, last)
        if not closed.get(site_id):
            found[site_id] = Opening(days, count or 0)
            continue
        per_day = dict(zip(days.days, _each(days.running), strict=True))
        by_station: list[tuple[date, int]] = []
        for station_id, start_at, end_at in closed[site_id]:
            for day, lost, _whole in _closed_minutes(ranges, zone, start_at, end_at, first, last):
                if day not in per_day:
                    continue
                if station_id is None:
                    per_day[day] = max(0, per_day[day] - lost)
                else:
                    by_station.append((day, lost))
        kept = sorted(day for day, minutes in per_day.items() if minutes)
        running = tuple(itertools.accumulate(per_day[day] for day in kept))
        found[site_id] = Opening(SortedDays(tuple(kept), running), count or 0, tuple(by_station))
    return found


def _each(running: tuple[int, ...]) -> list[int]:
    """Each day's minutes, from their running total."""
    return [total - (running[index - 1] if index else 0) for index, total in enumerate(running)]


@functools.lru_cache(maxsize=1024)
def _week(text: str) -> tuple[Ranges, ...]:
    """A week of opening hours as the database joins them ("1 09:00:00 12:00:00,…"): per ISO
    weekday, its ranges in minutes of the day, sorted."""
    week: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for part in filter(None, text.split(",")):
        weekday, start, end = part.split(" ")
        week[int(weekday)].append(
            (_minute(time.fromisoformat(start)), _minute(time.fromisoformat(end)))
        )
    return tuple(tuple(sorted(week.get(weekday, ()))) for weekday in range(1, 8))


def _minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


@functools.lru_cache(maxsize=512)
def _profile(
    ranges: tuple[Ranges, ...], calendar: str | None, first: date, last: date
) -> SortedDays:
    """The open days, with their open minutes (one station), of a week of opening hours and
    a holiday calendar, over a period."""
    holidays = public_holidays(calendar, first, last) if first <= last else frozenset()
    per_weekday = [sum(end - start for start, end in day) for day in ranges]
    days, running, minutes = [], [], 0
    day = first
    while day <= last:
        open_minutes = per_weekday[day.weekday()]
        if open_minutes and day not in holidays:
            minutes += open_minutes
            days.append(day)
            running.append(minutes)
        day += timedelta(days=1)
    return SortedDays(tuple(days), tuple(running))


def _closed_minutes(
    ranges: tuple[Ranges, ...], zone: str, start_at: datetime, end_at: datetime, first: date,
    last: date,
) -> Iterable[tuple[date, int, bool]]:  # fmt: skip
    """Per day of the period a closure covers: the opening minutes it takes, and whether it
    takes them all."""
    local_start = start_at.astimezone(time_zone(zone))
    local_end = end_at.astimezone(time_zone(zone))
    day = max(first, local_start.date())
    while day <= min(last, local_end.date()):
        opening = ranges[day.weekday()]
        if opening:
            midnight = datetime.combine(day, time(), time_zone(zone))
            closed_from = max(0, int((local_start - midnight).total_seconds() // 60))
            closed_until = min(24 * 60, int((local_end - midnight).total_seconds() // 60))
            lost = sum(
                max(0, min(end, closed_until) - max(start, closed_from)) for start, end in opening
            )
            total = sum(end - start for start, end in opening)
            if lost:
                yield day, lost, lost >= total
        day += timedelta(days=1)
