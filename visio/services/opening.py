"""When houses are open over a period: their opening days (for "requests per opening
day") and their stations' open minutes (for station occupancy), from the opening hours,
the public holidays of each house's calendar and its closures.

Houses with the same week and holiday calendar share one computation, so the whole network
(thousands of houses) costs little more than a few profiles.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Closure, OpeningHour, Site, Station
from visio.scheduling.calendars import public_holidays, time_zone

# One weekday's opening ranges, in minutes of the day.
Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class Opening:
    """One house over a period: the days it opens, and its stations' open minutes (open
    minutes × active stations, closures taken off)."""

    days: SortedDays
    station_minutes: int


@dataclass(frozen=True, slots=True, eq=False)
class SortedDays:
    """A set of days, sorted, counted in any range by bisection."""

    days: tuple[date, ...]

    def count(self, first: date, last: date) -> int:
        return bisect.bisect_right(self.days, last) - bisect.bisect_left(self.days, first)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.count(day, day) == 1


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
) -> dict[int, Opening]:
    """Each house's opening from `first` to `last` (every house when `site_ids` is None)."""
    sites = select(Site.id, Site.timezone, Site.holiday_calendar)
    hours = select(OpeningHour.site_id, OpeningHour.weekday, OpeningHour.start, OpeningHour.end)
    stations = select(Station.site_id, func.count()).where(Station.active).group_by(Station.site_id)
    closures = select(Closure.site_id, Closure.station_id, Closure.start_at, Closure.end_at).where(
        Closure.end_at > datetime.combine(first - timedelta(days=1), time(), UTC),
        Closure.start_at < datetime.combine(last + timedelta(days=2), time(), UTC),
    )
    if site_ids is not None:
        chosen = sorted(site_ids)
        sites = sites.where(Site.id.in_(chosen))
        hours = hours.where(OpeningHour.site_id.in_(chosen))
        stations = stations.where(Station.site_id.in_(chosen))
        closures = closures.where(Closure.site_id.in_(chosen))
    week: dict[int, dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    for site_id, weekday, start, end in await session.execute(hours):
        week[site_id][weekday].append((_minute(start), _minute(end)))
    station_counts = {site_id: count for site_id, count in await session.execute(stations)}
    closed: dict[int, list[tuple[int | None, datetime, datetime]]] = defaultdict(list)
    for site_id, station_id, start_at, end_at in await session.execute(closures):
        closed[site_id].append((station_id, start_at, end_at))
    found = {}
    for site_id, zone, calendar in await session.execute(sites):
        ranges = tuple(tuple(sorted(week[site_id].get(weekday, ()))) for weekday in range(1, 8))
        days, minutes = _profile(ranges, calendar, first, last)
        count = station_counts.get(site_id, 0)
        if not closed.get(site_id):
            found[site_id] = Opening(days, minutes * count)
            continue
        kept, station_minutes = set(days.days), minutes * count
        for station_id, start_at, end_at in closed[site_id]:
            for day, lost, whole in _closed_minutes(ranges, zone, start_at, end_at, first, last):
                if day not in kept:
                    continue
                if station_id is None:
                    station_minutes -= lost * count
                    if whole:
                        kept.discard(day)
                else:
                    station_minutes -= lost
        found[site_id] = Opening(SortedDays(tuple(sorted(kept))), max(0, station_minutes))
    return found


def _minute(moment: time) -> int:
    return moment.hour * 60 + moment.minute


@functools.lru_cache(maxsize=512)
def _profile(
    ranges: tuple[Ranges, ...], calendar: str | None, first: date, last: date
) -> tuple[SortedDays, int]:
    """The open days and the open minutes (one station) of a week of opening hours and a
    holiday calendar, over a period."""
    holidays = public_holidays(calendar, first, last) if first <= last else frozenset()
    per_weekday = [sum(end - start for start, end in day) for day in ranges]
    days, minutes = [], 0
    day = first
    while day <= last:
        open_minutes = per_weekday[day.weekday()]
        if open_minutes and day not in holidays:
            days.append(day)
            minutes += open_minutes
        day += timedelta(days=1)
    return SortedDays(tuple(days)), minutes


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
