"""Permanences checked against each other and against booked appointments:
`rules_overlap` (two permanences of one agent at the same time are refused at set-up) and
`within_permanences` (which booked appointments a changed permanence leaves uncovered)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.scheduling.test_slots_properties import (
    BASE_DAYS,
    MOTIVE_ID,
    PROPERTY_SETTINGS,
    SITE_ID,
    ZONES,
    rule_applies_on,
    rules,
    wall_windows,
    windows_of,
)
from visio.scheduling.schedules import AvailabilityRule, rules_overlap
from visio.scheduling.slots import within_permanences

MONDAY = date(2026, 3, 2)


def rule(
    weekdays: set[int], start: str, end: str, *, every: int = 1, anchor: date | None = None,
    valid_from: date | None = None, valid_until: date | None = None,
) -> AvailabilityRule:  # fmt: skip
    return AvailabilityRule(
        weekdays=frozenset(weekdays), start=time.fromisoformat(start), end=time.fromisoformat(end),
        every_weeks=every, anchor_date=anchor, valid_from=valid_from, valid_until=valid_until,
    )  # fmt: skip


OVERLAPS = [
    # (first, second, overlap?): why
    (rule({1}, "09:00", "12:00"), rule({1}, "11:00", "14:00"), True),  # same day, hours cross
    (rule({1}, "09:00", "12:00"), rule({1}, "12:00", "14:00"), False),  # touching ends
    (rule({1, 3}, "09:00", "12:00"), rule({2, 4}, "09:00", "12:00"), False),  # other days
    (rule({1}, "09:00", "17:00"), rule({1, 2}, "10:00", "11:00"), True),  # one inside the other
    # Monday night into Tuesday morning against Tuesday 06:00-08:00.
    (rule({1}, "22:00", "07:00"), rule({2}, "06:00", "08:00"), True),
    (rule({1}, "22:00", "06:00"), rule({2}, "06:00", "08:00"), False),  # ends as it starts
    # Every other week, the odd weeks against the even ones: never together.
    (rule({1}, "09:00", "12:00", every=2, anchor=MONDAY),
     rule({1}, "09:00", "12:00", every=2, anchor=MONDAY + timedelta(days=7)), False),
    # Every other week against every third: week 6 of the cycle brings them together.
    (rule({1}, "09:00", "12:00", every=2, anchor=MONDAY),
     rule({1}, "09:00", "12:00", every=3, anchor=MONDAY + timedelta(days=7)), True),
    # One ends before the other begins (validity), or they share one Monday.
    (rule({1}, "09:00", "12:00", valid_until=MONDAY),
     rule({1}, "09:00", "12:00", valid_from=MONDAY + timedelta(days=1)), False),
    (rule({1}, "09:00", "12:00", valid_until=MONDAY),
     rule({1}, "09:00", "12:00", valid_from=MONDAY), True),
    # The only shared Monday is outside the first's cycle.
    (rule({1}, "09:00", "12:00", every=2, anchor=MONDAY, valid_until=MONDAY + timedelta(days=8)),
     rule({1}, "09:00", "12:00", valid_from=MONDAY + timedelta(days=7)), False),
    # A Sunday-night permanence running into the Monday one's first hour.
    (rule({7}, "23:00", "01:00"), rule({1}, "00:30", "03:00"), True),
]  # fmt: skip


@pytest.mark.parametrize(("first", "second", "expected"), OVERLAPS)
def test_rules_overlap(first: AvailabilityRule, second: AvailabilityRule, expected: bool) -> None:
    assert rules_overlap(first, second) is expected
    assert rules_overlap(second, first) is expected


def wall_windows_of(rule: AvailabilityRule, days: list[date]) -> list[tuple[datetime, datetime]]:
    """The rule's windows as naive wall-clock ranges, day by day (the reference)."""
    found = []
    for day in days:
        anchor = rule.anchor_date or rule.valid_from or date(2001, 1, 1)
        cycle_monday = anchor - timedelta(days=anchor.weekday())
        if (
            day.isoweekday() in rule.weekdays
            and (rule.valid_from is None or rule.valid_from <= day)
            and (rule.valid_until is None or day <= rule.valid_until)
            and ((day - cycle_monday).days // 7) % rule.every_weeks == 0
        ):
            end_day = day + timedelta(days=int(rule.end <= rule.start))
            found.append((datetime.combine(day, rule.start), datetime.combine(end_day, rule.end)))
    return found


@PROPERTY_SETTINGS
@given(st.sampled_from(BASE_DAYS).flatmap(lambda base: st.tuples(
    rules(base, wall_windows()), rules(base, wall_windows()))))  # fmt: skip
def test_overlap_is_found_day_by_day(pair: tuple[AvailabilityRule, AvailabilityRule]) -> None:
    """Rules valid around the base day with cycles of up to three weeks repeat within 42
    days: 400 days around it hold every case."""
    first, second = pair
    origin = min(BASE_DAYS) - timedelta(days=60)
    days = [origin + timedelta(days=n) for n in range(400)]
    expected = any(
        a_start < b_end and b_start < a_end
        for a_start, a_end in wall_windows_of(first, days)
        for b_start, b_end in wall_windows_of(second, days)
    )
    assert rules_overlap(first, second) is expected
    assert rules_overlap(second, first) is expected


@PROPERTY_SETTINGS
@given(
    st.sampled_from(BASE_DAYS).flatmap(
        lambda base: st.tuples(
            st.just(base),
            st.lists(rules(base, wall_windows()), max_size=3),
            st.integers(-24 * 4, 3 * 24 * 4),
            st.integers(1, 16),
        )
    ),
    st.sampled_from(ZONES),
)
def test_within_permanences_agrees_with_the_windows(
    case: tuple[date, list[AvailabilityRule], int, int], zone: str
) -> None:
    """An appointment is held when one window of the rules offering its house and motive
    (joined as the search joins them) holds it whole."""
    base, agent_rules, quarter, length = case
    start = datetime.combine(base, time(0), tzinfo=UTC) + timedelta(minutes=15 * quarter)
    end = start + timedelta(minutes=15 * length)
    days = [base - timedelta(days=3) + timedelta(days=n) for n in range(9)]
    windows = windows_of(
        zone,
        [(day, r.start, r.end) for day in days for r in agent_rules if rule_applies_on(r, day)],
    )
    expected = any(low <= start and end <= high for low, high in windows)
    assert within_permanences(zone, agent_rules, start, end, SITE_ID, MOTIVE_ID) is expected


def test_within_permanences_needs_the_house_and_motive() -> None:
    monday = datetime(2026, 3, 2, 9, tzinfo=UTC)
    serving = AvailabilityRule(
        weekdays=frozenset({1}), start=time(9), end=time(12), site_ids=frozenset({SITE_ID}),
        motive_ids=frozenset({MOTIVE_ID}),
    )  # fmt: skip
    hour = timedelta(hours=1)
    assert within_permanences("UTC", [serving], monday, monday + hour, SITE_ID, MOTIVE_ID)
    assert not within_permanences("UTC", [serving], monday, monday + hour, 2, MOTIVE_ID)
    assert not within_permanences("UTC", [serving], monday, monday + hour, SITE_ID, 11)
    # Past the permanence's end, or before it: not held.
    assert not within_permanences(
        "UTC", [serving], monday + 2 * hour, monday + 4 * hour, SITE_ID, MOTIVE_ID
    )
    assert not within_permanences("UTC", [], monday, monday + hour, SITE_ID, MOTIVE_ID)
