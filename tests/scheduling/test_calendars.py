"""Holiday calendars of the houses, and wall clock to UTC across the changes of time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from visio.scheduling.calendars import (
    HOLIDAY_CALENDARS,
    is_valid_holiday_calendar,
    local_day_bounds,
    public_holidays,
    to_local,
    to_utc,
)

YEAR_2026 = (date(2026, 1, 1), date(2026, 12, 31))
GOOD_FRIDAY_2026 = date(2026, 4, 3)
SAINT_STEPHEN_2026 = date(2026, 12, 26)


@pytest.mark.parametrize(
    ("code", "day", "is_holiday"),
    [
        # metropolitan France: no Good Friday, no 26 December
        (None, GOOD_FRIDAY_2026, False),
        (None, SAINT_STEPHEN_2026, False),
        # ... but Easter Monday, 14 July and Christmas
        (None, date(2026, 4, 6), True),
        (None, date(2026, 7, 14), True),
        (None, date(2026, 12, 25), True),
        # Alsace (6AE) and Moselle (57): local law adds Good Friday and 26 December
        ("6AE", GOOD_FRIDAY_2026, True),
        ("6AE", SAINT_STEPHEN_2026, True),
        ("57", GOOD_FRIDAY_2026, True),
        ("57", SAINT_STEPHEN_2026, True),
        # and keeps the national days
        ("6AE", date(2026, 7, 14), True),
        # La Réunion: abolition of slavery on 20 December, not elsewhere
        ("974", date(2026, 12, 20), True),
        (None, date(2026, 12, 20), False),
        # Guadeloupe 27 May, Martinique 22 May, Guyane 10 June, Mayotte 27 April
        ("971", date(2026, 5, 27), True),
        ("972", date(2026, 5, 22), True),
        ("973", date(2026, 6, 10), True),
        ("976", date(2026, 4, 27), True),
        # La Réunion does not take Guadeloupe's day
        ("974", date(2026, 5, 27), False),
        # an ordinary Tuesday is nobody's holiday
        ("974", date(2026, 3, 17), False),
    ],
)
def test_public_holidays(code: str | None, day: date, is_holiday: bool) -> None:
    assert (day in public_holidays(code, *YEAR_2026)) is is_holiday


def test_metropolitan_2026_in_full() -> None:
    assert sorted(public_holidays(None, *YEAR_2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        # both ends inclusive
        (date(2026, 5, 1), date(2026, 5, 8), {date(2026, 5, 1), date(2026, 5, 8)}),
        # across a new year
        (date(2026, 12, 20), date(2027, 1, 2), {date(2026, 12, 25), date(2027, 1, 1)}),
        # a range without holiday
        (date(2026, 3, 2), date(2026, 3, 31), set()),
        # an empty range
        (date(2026, 5, 8), date(2026, 5, 1), set()),
    ],
)
def test_public_holidays_range(first: date, last: date, expected: set[date]) -> None:
    assert public_holidays(None, first, last) == frozenset(expected)


@pytest.mark.parametrize(
    "code",
    [None, "57", "6AE", "971", "972", "973", "974", "976", "BL", "MF", "NC", "PF", "PM", "WF"],
)
def test_accepted_calendars(code: str | None) -> None:
    assert code in HOLIDAY_CALENDARS
    assert is_valid_holiday_calendar(code)
    assert date(2026, 7, 14) in public_holidays(code, *YEAR_2026)


@pytest.mark.parametrize(
    "code",
    [
        # school-holiday zones are not public holiday calendars
        "Zone A",
        "Zone B",
        "Zone C",
        # the package's aliases are not accepted: codes only, spelt exactly
        "Alsace",
        "Moselle",
        "La Réunion",
        "6ae",
        # not a subdivision
        "75",
        "FR",
        "",
        # not even a string
        974,
    ],
)
def test_refused_calendars(code: object) -> None:
    assert code not in HOLIDAY_CALENDARS
    assert not is_valid_holiday_calendar(code)
    with pytest.raises(ValueError, match="unknown holiday calendar"):
        public_holidays(code, *YEAR_2026)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "wall", "zone", "expected"),
    [
        # Paris in winter: UTC+1
        (date(2026, 1, 19), time(9), "Europe/Paris", datetime(2026, 1, 19, 8, tzinfo=UTC)),
        # Paris in summer: UTC+2
        (date(2026, 6, 15), time(9), "Europe/Paris", datetime(2026, 6, 15, 7, tzinfo=UTC)),
        # the day of the spring change, before the gap: still UTC+1
        (date(2026, 3, 29), time(1, 30), "Europe/Paris", datetime(2026, 3, 29, 0, 30, tzinfo=UTC)),
        # 02:30 does not exist on 29 March: it moves forward to 03:30 CEST
        (date(2026, 3, 29), time(2, 30), "Europe/Paris", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # 03:00 on 29 March is the first instant after the gap: the same instant as 02:00
        (date(2026, 3, 29), time(3), "Europe/Paris", datetime(2026, 3, 29, 1, tzinfo=UTC)),
        (date(2026, 3, 29), time(2), "Europe/Paris", datetime(2026, 3, 29, 1, tzinfo=UTC)),
        # 02:30 happens twice on 25 October: the first occurrence, still CEST
        (
            date(2026, 10, 25),
            time(2, 30),
            "Europe/Paris",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # a time asking for the second occurrence gets the first one all the same
        (
            date(2026, 10, 25),
            time(2, 30, fold=1),
            "Europe/Paris",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        ),
        # after the fold: UTC+1
        (date(2026, 10, 25), time(3), "Europe/Paris", datetime(2026, 10, 25, 2, tzinfo=UTC)),
        # La Réunion: UTC+4 all year
        (date(2026, 3, 29), time(9), "Indian/Reunion", datetime(2026, 3, 29, 5, tzinfo=UTC)),
        # Guyane: UTC-3 all year
        (date(2026, 6, 15), time(9), "America/Cayenne", datetime(2026, 6, 15, 12, tzinfo=UTC)),
    ],
)
def test_to_utc(day: date, wall: time, zone: str, expected: datetime) -> None:
    instant = to_utc(day, wall, zone)
    assert instant == expected
    assert instant.tzinfo is UTC


def test_to_utc_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="wall-clock"):
        to_utc(date(2026, 1, 19), time(9, tzinfo=UTC), "Europe/Paris")
    with pytest.raises(ValueError, match="unknown time zone"):
        to_utc(date(2026, 1, 19), time(9), "Europe/Murat")
    with pytest.raises(ValueError, match="unknown time zone"):
        to_utc(date(2026, 1, 19), time(9), "../etc/passwd")


def test_to_local_shows_the_zone_wall_clock() -> None:
    instant = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert to_local(instant, "Europe/Paris").strftime("%H:%M %z") == "03:30 +0200"
    assert to_local(instant, "Indian/Reunion").strftime("%H:%M %z") == "05:30 +0400"
    # another aware offset names the same instant
    assert to_local(instant.astimezone(timezone(timedelta(hours=-3))), "Europe/Paris") == instant
    with pytest.raises(ValueError, match="aware"):
        to_local(datetime(2026, 3, 29, 1, 30), "Europe/Paris")


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        # an ordinary day
        (date(2026, 3, 28), 24),
        # spring forward: 23 hours
        (date(2026, 3, 29), 23),
        # fall back: 25 hours
        (date(2026, 10, 25), 25),
    ],
)
def test_local_day_bounds(day: date, hours: int) -> None:
    start, end = local_day_bounds(day, "Europe/Paris")
    assert end - start == timedelta(hours=hours)
    assert to_local(start, "Europe/Paris").time() == time(0)
