"""Public holidays of a site and conversions between a zone's wall clock and UTC (pure core).

Holiday calendars are the codes of the ``holidays`` package's France subdivisions, plus
``None`` for metropolitan France:

- ``'57'`` (Moselle) and ``'6AE'`` (Alsace): the metropolitan days plus Good Friday and
  26 December (local law of Alsace-Moselle);
- ``'971'`` Guadeloupe, ``'972'`` Martinique, ``'973'`` Guyane, ``'974'`` La Réunion,
  ``'976'`` Mayotte: each adds its abolition-of-slavery day (and Guadeloupe and Martinique a
  few more);
- the overseas collectivities the package knows (``'BL'``, ``'MF'``, ``'NC'``, ``'PF'``,
  ``'PM'``, ``'TF'``, ``'WF'``).

The package's school-holiday zones (``'Zone A'``, ``'Zone B'``, ``'Zone C'``) are not public
holiday calendars (a France Services house stays open during school holidays) and are refused.

Wall clock to UTC, stated once for the whole project. A site's opening hours and an agent's
availability are wall-clock times in a zone; :func:`to_utc` turns a (date, time) into an instant
with ``zoneinfo`` and ``fold=0``, whatever fold the time carries:

- a wall time inside a spring-forward gap (02:30 in Paris on the last Sunday of March) does not
  exist; it is read with the offset in force before the change, which lands it as far past the
  gap as it was into it (02:30 becomes 03:30 CEST, 01:30 UTC);
- a wall time inside an autumn fold (02:30 in Paris on the last Sunday of October) happens
  twice; the first occurrence is taken (02:30 CEST, 00:30 UTC).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# ``holidays.France`` and ``holidays.country_holidays``, imported from their modules: the
# package's top level loads them lazily, out of a type checker's sight.
from holidays.countries.france import France
from holidays.utils import country_holidays

__all__ = [
    "HOLIDAY_CALENDARS",
    "holiday_calendar_place",
    "is_valid_holiday_calendar",
    "local_day_bounds",
    "public_holidays",
    "time_zone",
    "to_local",
    "to_utc",
]

# The package also lists school-holiday zones among France's subdivisions; those say when
# schools close, not when public services do.
_SCHOOL_ZONE_PREFIX: Final = "Zone "

HOLIDAY_CALENDARS: Final[tuple[str | None, ...]] = (
    None,
    *(code for code in France.subdivisions if not code.startswith(_SCHOOL_ZONE_PREFIX)),
)
_CODES: Final[frozenset[str]] = frozenset(code for code in HOLIDAY_CALENDARS if code is not None)


def holiday_calendar_place(code: str) -> str:
    """Where a holiday calendar applies, by its French name (`974`: La Réunion): the longest
    of the package's names for it, else the code."""
    names = [name for name, alias in France.subdivisions_aliases.items() if alias == code]
    return max(names, key=len) if names else code


def is_valid_holiday_calendar(code: object) -> bool:
    """Tell whether ``code`` names a public holiday calendar: ``None`` (metropolitan France) or
    one of the codes in :data:`HOLIDAY_CALENDARS`, spelt exactly (no aliases, no school zones)."""
    return code is None or (isinstance(code, str) and code in _CODES)


def public_holidays(code: str | None, first: date, last: date) -> frozenset[date]:
    """Return the public holidays of calendar ``code`` from ``first`` to ``last`` inclusive.

    Raises ``ValueError`` for a code that :func:`is_valid_holiday_calendar` refuses. An empty
    range (``last`` before ``first``) has no holidays.
    """
    if not is_valid_holiday_calendar(code):
        raise ValueError(f"unknown holiday calendar: {code!r}")
    found: set[date] = set()
    for year in range(first.year, last.year + 1):
        found.update(day for day in _holidays_of_year(code, year) if first <= day <= last)
    return frozenset(found)


# Building a year of holidays costs about a millisecond; a year's list never changes.
@lru_cache(maxsize=256)
def _holidays_of_year(code: str | None, year: int) -> frozenset[date]:
    return frozenset(country_holidays("FR", subdiv=code, years=year).keys())


def time_zone(name: str) -> ZoneInfo:
    """Return the IANA zone ``name``; raise ``ValueError`` when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {name!r}") from error


def to_utc(day: date, wall: time, zone_name: str) -> datetime:
    """Return, as an aware UTC datetime, the instant at which clocks in ``zone_name`` show
    ``wall`` on ``day``.

    ``wall`` must be naive. A time in a spring-forward gap is moved forward by the length of the
    gap; a time in an autumn fold is its first occurrence (see the module docstring).
    """
    if wall.tzinfo is not None:
        raise ValueError("a wall-clock time carries no time zone")
    local = datetime.combine(day, wall.replace(fold=0), tzinfo=time_zone(zone_name))
    return local.astimezone(UTC)


def to_local(instant: datetime, zone_name: str) -> datetime:
    """Return the aware datetime that clocks in ``zone_name`` show at ``instant`` (aware)."""
    if instant.utcoffset() is None:
        raise ValueError("an instant must be an aware datetime")
    return instant.astimezone(time_zone(zone_name))


def local_day_bounds(day: date, zone_name: str) -> tuple[datetime, datetime]:
    """Return the UTC instants at which ``day`` starts and ends in ``zone_name``: the half-open
    range of instants whose local date is ``day`` (23 or 25 hours long on a change of time)."""
    return to_utc(day, time(0), zone_name), to_utc(day + timedelta(days=1), time(0), zone_name)
