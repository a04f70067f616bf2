"""Half-open interval arithmetic: tables on datetimes, then properties against a model where an
interval list is simply the set of minutes it covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visio.scheduling.intervals import (
    intersect,
    is_disjoint,
    is_normalised,
    normalise,
    subtract,
    union,
)

ORIGIN = datetime(2026, 3, 16, tzinfo=UTC)
Span = tuple[datetime, datetime]


def at(clock: str) -> datetime:
    """Monday 16 March 2026 at ``HH:MM`` UTC."""
    hours, minutes = clock.split(":")
    return ORIGIN + timedelta(hours=int(hours), minutes=int(minutes))


def spans(*pairs: str) -> list[Span]:
    """``spans("09:00-10:00", "11:00-12:00")`` as a list of datetime intervals."""
    result = []
    for pair in pairs:
        start, end = pair.split("-")
        result.append((at(start), at(end)))
    return result


@pytest.mark.parametrize(
    ("given_spans", "expected"),
    [
        # nothing in, nothing out
        ((), ()),
        # an empty and a reversed interval cover nothing and are dropped
        (("09:00-09:00", "10:00-09:30"), ()),
        # already normalised: unchanged
        (("09:00-10:00", "11:00-12:00"), ("09:00-10:00", "11:00-12:00")),
        # out of order: sorted
        (("11:00-12:00", "09:00-10:00"), ("09:00-10:00", "11:00-12:00")),
        # overlapping: joined
        (("09:00-10:30", "10:00-11:00"), ("09:00-11:00",)),
        # touching (half-open, no shared minute): joined all the same
        (("09:00-10:00", "10:00-11:00"), ("09:00-11:00",)),
        # one inside another: the outer one stays
        (("09:00-12:00", "10:00-11:00"), ("09:00-12:00",)),
        # same start, different ends: the longer one wins
        (("09:00-10:00", "09:00-11:00"), ("09:00-11:00",)),
        # a chain of overlaps given backwards: one interval
        (("11:00-12:00", "10:30-11:30", "09:00-11:00"), ("09:00-12:00",)),
        # duplicates: one copy
        (("09:00-10:00", "09:00-10:00"), ("09:00-10:00",)),
    ],
)
def test_normalise(given_spans: tuple[str, ...], expected: tuple[str, ...]) -> None:
    result = normalise(spans(*given_spans))
    assert result == spans(*expected)
    assert is_normalised(result)


@pytest.mark.parametrize(
    ("given_spans", "expected"),
    [
        # touching intervals stay two intervals
        (("10:00-11:00", "09:00-10:00"), ("09:00-10:00", "10:00-11:00")),
        # overlapping ones are still joined
        (("09:00-10:30", "10:00-11:00"), ("09:00-11:00",)),
        # empty ones still dropped
        (("09:00-09:00",), ()),
    ],
)
def test_normalise_keeping_touching_intervals_apart(
    given_spans: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    result = normalise(spans(*given_spans), join_touching=False)
    assert result == spans(*expected)
    assert is_disjoint(result)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # either side empty: nothing in common
        ((), ("09:00-10:00",), ()),
        (("09:00-10:00",), (), ()),
        # disjoint
        (("09:00-10:00",), ("11:00-12:00",), ()),
        # touching: half-open intervals share no point
        (("09:00-10:00",), ("10:00-11:00",), ()),
        # partial overlap
        (("09:00-11:00",), ("10:00-12:00",), ("10:00-11:00",)),
        # one inside the other
        (("09:00-12:00",), ("10:00-11:00",), ("10:00-11:00",)),
        # identical
        (("09:00-10:00",), ("09:00-10:00",), ("09:00-10:00",)),
        # a long interval against several short ones
        (
            ("08:00-18:00",),
            ("09:00-12:00", "14:00-17:00"),
            ("09:00-12:00", "14:00-17:00"),
        ),
        # interleaved lists
        (
            ("09:00-10:00", "11:00-12:00", "13:00-14:00"),
            ("09:30-11:30", "13:30-15:00"),
            ("09:30-10:00", "11:00-11:30", "13:30-14:00"),
        ),
        # touching intervals of the first list are not joined in the result
        (
            ("09:00-10:00", "10:00-11:00"),
            ("08:00-12:00",),
            ("09:00-10:00", "10:00-11:00"),
        ),
    ],
)
def test_intersect(
    first: tuple[str, ...], second: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert intersect(spans(*first), spans(*second)) == spans(*expected)


@pytest.mark.parametrize(
    ("kept", "removed", "expected"),
    [
        # nothing removed
        (("09:00-12:00",), (), ("09:00-12:00",)),
        # nothing kept
        ((), ("09:00-12:00",), ()),
        # removal before, after, or touching: no effect
        (("09:00-12:00",), ("07:00-08:00", "12:00-13:00"), ("09:00-12:00",)),
        (("09:00-12:00",), ("08:00-09:00",), ("09:00-12:00",)),
        # a hole in the middle
        (("09:00-12:00",), ("10:00-10:30",), ("09:00-10:00", "10:30-12:00")),
        # the start cut off
        (("09:00-12:00",), ("08:00-10:00",), ("10:00-12:00",)),
        # the end cut off
        (("09:00-12:00",), ("11:00-13:00",), ("09:00-11:00",)),
        # everything removed
        (("09:00-12:00",), ("09:00-12:00",), ()),
        (("09:00-12:00",), ("08:00-13:00",), ()),
        # several holes
        (
            ("09:00-12:00",),
            ("09:30-10:00", "10:30-11:00", "11:30-12:00"),
            ("09:00-09:30", "10:00-10:30", "11:00-11:30"),
        ),
        # one removal spanning two kept intervals
        (
            ("09:00-12:00", "14:00-17:00"),
            ("11:00-15:00",),
            ("09:00-11:00", "15:00-17:00"),
        ),
        # touching kept intervals stay apart
        (
            ("09:00-10:00", "10:00-11:00"),
            ("09:30-09:45",),
            ("09:00-09:30", "09:45-10:00", "10:00-11:00"),
        ),
    ],
)
def test_subtract(
    kept: tuple[str, ...], removed: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    assert subtract(spans(*kept), spans(*removed)) == spans(*expected)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # one side empty
        ((), ("09:00-10:00",), ("09:00-10:00",)),
        # disjoint: both kept, in order
        (("11:00-12:00",), ("09:00-10:00",), ("09:00-10:00", "11:00-12:00")),
        # touching: joined
        (("09:00-10:00",), ("10:00-11:00",), ("09:00-11:00",)),
        # a bridge joining two intervals of the other list
        (("09:00-10:00", "11:00-12:00"), ("09:30-11:30",), ("09:00-12:00",)),
    ],
)
def test_union(first: tuple[str, ...], second: tuple[str, ...], expected: tuple[str, ...]) -> None:
    result = union(spans(*first), spans(*second))
    assert result == spans(*expected)
    assert is_normalised(result)


@pytest.mark.parametrize(
    ("given_spans", "normalised", "disjoint"),
    [
        # the empty list is both
        ((), True, True),
        # well separated
        (("09:00-10:00", "11:00-12:00"), True, True),
        # touching: disjoint, not normalised
        (("09:00-10:00", "10:00-11:00"), False, True),
        # overlapping: neither
        (("09:00-10:30", "10:00-11:00"), False, False),
        # out of order: neither
        (("11:00-12:00", "09:00-10:00"), False, False),
        # an empty interval: neither
        (("09:00-09:00",), False, False),
    ],
)
def test_shape_checks(given_spans: tuple[str, ...], normalised: bool, disjoint: bool) -> None:
    assert is_normalised(spans(*given_spans)) is normalised
    assert is_disjoint(spans(*given_spans)) is disjoint


def test_integer_points_work_the_same() -> None:
    # The slot engine runs on microseconds since the epoch.
    assert normalise([(5, 9), (0, 5), (20, 20)]) == [(0, 9)]
    assert intersect([(0, 10), (10, 20)], [(5, 15)]) == [(5, 10), (10, 15)]
    assert subtract([(0, 10)], [(2, 3), (5, 7)]) == [(0, 2), (3, 5), (7, 10)]


# --- properties against the minute-set model -------------------------------------------------

MINUTES = 240
raw_spans = st.lists(st.tuples(st.integers(0, MINUTES), st.integers(0, MINUTES)), max_size=8).map(
    lambda pairs: [(at_minute(start), at_minute(end)) for start, end in pairs]
)


def at_minute(minute: int) -> datetime:
    return ORIGIN + timedelta(minutes=minute)


def minutes_of(intervals: list[Span]) -> set[int]:
    covered: set[int] = set()
    for start, end in intervals:
        covered.update(
            range(
                int((start - ORIGIN) / timedelta(minutes=1)),
                int((end - ORIGIN) / timedelta(minutes=1)),
            )
        )
    return covered


@st.composite
def disjoint_spans(draw: st.DrawFn) -> list[Span]:
    """Sorted, disjoint intervals that may touch: cut points, each gap kept or not."""
    cuts = sorted(draw(st.sets(st.integers(0, MINUTES), max_size=10)))
    kept = draw(st.lists(st.booleans(), min_size=len(cuts), max_size=len(cuts)))
    return [
        (at_minute(start), at_minute(end))
        for start, end, keep in zip(cuts, cuts[1:], kept, strict=False)
        if keep
    ]


def lies_in_one_of(interval: Span, containers: list[Span]) -> bool:
    return any(start <= interval[0] and interval[1] <= end for start, end in containers)


@settings(max_examples=200, deadline=None)
@given(raw_spans, st.booleans())
def test_normalise_covers_the_same_minutes(intervals: list[Span], join_touching: bool) -> None:
    result = normalise(intervals, join_touching=join_touching)
    assert minutes_of(result) == minutes_of(intervals)
    assert (is_normalised if join_touching else is_disjoint)(result)
    # normalising twice changes nothing
    assert normalise(result, join_touching=join_touching) == result


@settings(max_examples=200, deadline=None)
@given(disjoint_spans(), disjoint_spans())
def test_intersect_matches_the_model(first: list[Span], second: list[Span]) -> None:
    result = intersect(first, second)
    assert minutes_of(result) == minutes_of(first) & minutes_of(second)
    assert is_disjoint(result)
    assert all(lies_in_one_of(piece, first) and lies_in_one_of(piece, second) for piece in result)


@settings(max_examples=200, deadline=None)
@given(disjoint_spans(), disjoint_spans())
def test_subtract_matches_the_model(kept: list[Span], removed: list[Span]) -> None:
    result = subtract(kept, removed)
    assert minutes_of(result) == minutes_of(kept) - minutes_of(removed)
    assert is_disjoint(result)
    assert all(lies_in_one_of(piece, kept) for piece in result)


@settings(max_examples=200, deadline=None)
@given(disjoint_spans(), disjoint_spans())
def test_union_matches_the_model(first: list[Span], second: list[Span]) -> None:
    result = union(first, second)
    assert minutes_of(result) == minutes_of(first) | minutes_of(second)
    assert is_normalised(result)
