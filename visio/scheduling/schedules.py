"""The slot engine's inputs: a site's calendar, its stations, a motive's timing, the
agents' permanences and busy time, and the slots it answers with.

Frozen dataclasses of aware UTC instants and site- or agent-local wall-clock times,
checked when built, so the engine can trust what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import lcm
from typing import Final, NamedTuple

from visio.scheduling.calendars import time_zone


def _check_wall_clock(*walls: time) -> None:
    for wall in walls:
        if wall.tzinfo is not None:
            raise ValueError("opening hours and rules are wall-clock times, without a zone")


def check_aware(instant: datetime, what: str) -> None:
    if instant.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


def _check_intervals(intervals: Iterable[tuple[datetime, datetime]], what: str) -> None:
    for start, end in intervals:
        check_aware(start, what)
        check_aware(end, what)


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Hours a site is open on one ISO weekday (1 = Monday … 7 = Sunday), site-local wall
    clock. An ``end`` not after ``start`` runs into the next day."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7:
            raise ValueError(f"ISO weekday out of range: {self.weekday}")
        _check_wall_clock(self.start, self.end)


@dataclass(frozen=True, slots=True)
class SiteCalendar:
    """When a site is open: weekly hours in its zone, minus its holidays (site-local dates,
    precomputed with :func:`visio.scheduling.calendars.public_holidays`) and its closures."""

    site_id: int
    timezone: str
    opening_hours: tuple[OpeningHours, ...]
    holidays: frozenset[date]
    closures: tuple[tuple[datetime, datetime], ...]

    def __post_init__(self) -> None:
        time_zone(self.timezone)
        _check_intervals(self.closures, "a site closure")


@dataclass(frozen=True, slots=True)
class StationSchedule:
    """A visio station of the site: when it is out of service, and its active appointments'
    intervals, each already widened by that appointment's own buffers."""

    station_id: int
    closures: tuple[tuple[datetime, datetime], ...]
    busy: tuple[tuple[datetime, datetime], ...]

    def __post_init__(self) -> None:
        _check_intervals(self.closures, "a station closure")
        _check_intervals(self.busy, "a station's busy interval")


@dataclass(frozen=True, slots=True)
class MotiveTiming:
    """The timing of one motive: length of a session, grid step (``None``: the duration),
    buffers around it, and how soon and how far ahead it may be booked."""

    motive_id: int
    duration: timedelta
    step: timedelta | None = None
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    horizon: timedelta = timedelta(days=60)

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise ValueError("a motive's duration must be positive")
        if self.step is not None and self.step <= timedelta(0):
            raise ValueError("a motive's grid step must be positive")
        if self.buffer_before < timedelta(0) or self.buffer_after < timedelta(0):
            raise ValueError("a motive's buffers cannot be negative")
        if self.min_notice < timedelta(0) or self.horizon < timedelta(0):
            raise ValueError("a motive's notice and horizon cannot be negative")


# A Monday, so that rules without an anchor and without a start date share one cycle.
DEFAULT_CYCLE_ANCHOR: Final = date(2001, 1, 1)


@dataclass(frozen=True, slots=True)
class AvailabilityRule:
    """A recurring remote duty ("permanence") of an agent, agent-local wall clock: on the
    given ISO weekdays of every ``every_weeks``-th week, from ``start`` to ``end`` (an ``end``
    not after ``start`` runs into the next day), between ``valid_from`` and ``valid_until``
    inclusive, for the listed sites and motives (``None``: all of them)."""

    weekdays: frozenset[int]
    start: time
    end: time
    every_weeks: int = 1
    anchor_date: date | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    site_ids: frozenset[int] | None = None
    motive_ids: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if not all(1 <= weekday <= 7 for weekday in self.weekdays):
            raise ValueError(f"ISO weekdays out of range: {sorted(self.weekdays)}")
        if self.every_weeks < 1:
            raise ValueError("a rule repeats every one week or more")
        if (
            self.valid_from is not None
            and self.valid_until is not None
            and self.valid_until < self.valid_from
        ):
            raise ValueError("a rule's validity ends before it starts")
        _check_wall_clock(self.start, self.end)

    def applies_to(self, site_id: int, motive_id: int) -> bool:
        """Tell whether this rule offers the given site and motive."""
        return (self.site_ids is None or site_id in self.site_ids) and (
            self.motive_ids is None or motive_id in self.motive_ids
        )

    def runs_on(self, day: date) -> bool:
        """Tell whether the permanence starts on the agent-local `day`: one of its
        weekdays, within its validity, in a week of its cycle (weeks counted from the
        Monday of its anchor, else of its first day, else of a fixed Monday)."""
        if day.isoweekday() not in self.weekdays:
            return False
        if (self.valid_from is not None and day < self.valid_from) or (
            self.valid_until is not None and day > self.valid_until
        ):
            return False
        anchor = self.anchor_date or self.valid_from or DEFAULT_CYCLE_ANCHOR
        cycle_monday = anchor.toordinal() - anchor.weekday()
        return ((day.toordinal() - cycle_monday) // 7) % self.every_weeks == 0

    def _seconds(self) -> tuple[int, int]:
        # The day's range in seconds from its midnight; an end not after the start runs
        # into the next day.
        start = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        end = self.end.hour * 3600 + self.end.minute * 60 + self.end.second
        return start, end if end > start else end + 86_400


def rules_overlap(first: AvailabilityRule, second: AvailabilityRule) -> bool:
    """Tell whether two permanences of one agent ever run at the same time: some day on
    which each starts (the same day, or one the day before the other: a permanence may
    run past midnight) puts their hours over each other. Touching ends do not overlap.

    Wall-clock hours on the agent's own clock, as both rules are written: a day on which
    the clock changes shifts them alike. Which houses or motives each serves does not
    matter: an agent holds one permanence at a time.

    The days where both are valid repeat their pattern every `7 × lcm(cycles)` days, so
    one such period (from the first day both are valid, widened by a day each side)
    answers for all time.
    """
    bounds = [rule.valid_from for rule in (first, second) if rule.valid_from is not None]
    ends = [rule.valid_until for rule in (first, second) if rule.valid_until is not None]
    period = 7 * lcm(first.every_weeks, second.every_weeks)
    last_day = min(ends) if ends else None
    if bounds:
        first_day = max(bounds)
    elif last_day is not None:
        first_day = last_day - timedelta(days=period)
    else:
        first_day = DEFAULT_CYCLE_ANCHOR
    stop = first_day + timedelta(days=period)
    if last_day is not None:
        if last_day < first_day:
            return False
        stop = min(stop, last_day)
    first_start, first_end = first._seconds()
    second_start, second_end = second._seconds()
    one_day = timedelta(days=1)
    day = first_day - one_day
    while day <= stop + one_day:
        if first.runs_on(day):
            for shift in (-1, 0, 1):
                other = day + timedelta(days=shift)
                offset = shift * 86_400
                if (
                    second.runs_on(other)
                    and first_start < second_end + offset
                    and second_start + offset < first_end
                ):
                    return True
        day += one_day
    return False


@dataclass(frozen=True, slots=True)
class AgentSchedule:
    """A partner agent as the engine sees them: zone, rules, absences, and active appointments
    anywhere, each widened by that appointment's own buffers.

    The caller passes the agents who may serve the motive (those of its partner); a rule's
    ``motive_ids`` of ``None`` then means any of them.
    """

    agent_id: int
    timezone: str
    rules: tuple[AvailabilityRule, ...]
    absences: tuple[tuple[datetime, datetime], ...]
    busy: tuple[tuple[datetime, datetime], ...]

    def __post_init__(self) -> None:
        time_zone(self.timezone)
        _check_intervals(self.absences, "an absence")
        _check_intervals(self.busy, "an agent's busy interval")


class Slot(NamedTuple):
    """A bookable session: ``[start, end)`` in UTC with one agent at one station.

    A named tuple: a search answers thousands of them, and a tuple is made several times
    faster than a frozen dataclass."""

    start: datetime
    end: datetime
    agent_id: int
    station_id: int


@dataclass(frozen=True, slots=True)
class FreeTime:
    """A start at which at least one agent is free for the motive: ``[start, end)`` in UTC,
    the station it would take, and how many agents are free then."""

    start: datetime
    end: datetime
    station_id: int
    agents_free: int
