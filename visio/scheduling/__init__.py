"""Scheduling (pure core): interval arithmetic, holiday calendars and zones, the slot engine.

No database, no web framework, no clock and no randomness of its own: callers pass ``now``.
"""

from visio.scheduling.calendars import (
    HOLIDAY_CALENDARS,
    is_valid_holiday_calendar,
    local_day_bounds,
    public_holidays,
    time_zone,
    to_local,
    to_utc,
)
from visio.scheduling.slots import (
    AgentSchedule,
    AvailabilityRule,
    FreeTime,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    Slot,
    StationSchedule,
    find_free_times,
    find_slots,
    is_bookable,
)

__all__ = [
    "HOLIDAY_CALENDARS",
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
    "is_valid_holiday_calendar",
    "local_day_bounds",
    "public_holidays",
    "time_zone",
    "to_local",
    "to_utc",
]
