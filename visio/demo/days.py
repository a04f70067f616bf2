"""Days and hours as the houses live them: Paris time, working days."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from visio.demo.houses import PARIS


def local(day: date, at: time) -> datetime:
    """The UTC instant of `at` o'clock in Paris on `day`."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(PARIS)).astimezone(UTC)


def paris_time(now: datetime) -> time:
    """The time on the houses' clocks at the instant `now`."""
    return now.astimezone(ZoneInfo(PARIS)).time()


def today_in_paris(now: datetime) -> date:
    """The date in Paris at the instant `now`."""
    return now.astimezone(ZoneInfo(PARIS)).date()


def working_days(first: date, last: date, closed: frozenset[date]) -> Iterator[date]:
    """The weekdays from `first` to `last` included, in order, except the `closed` ones."""
    day = first
    while day <= last:
        if day.isoweekday() <= 5 and day not in closed:
            yield day
        day += timedelta(days=1)
