"""The slot engine's inputs: a site's calendar, its stations, a motive's timing, the
agents' permanences and busy time, and the slots it answers with.

Frozen dataclasses of aware UTC instants and site- or agent-local wall-clock times,
checked when built, so the engine can trust what it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

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
