"""Half-open interval arithmetic on sorted, disjoint lists (pure core).

An interval ``(start, end)`` stands for the half-open range ``start <= x < end``; it is empty
when ``end <= start``, and two intervals *touch* when one ends where the other starts (they
share no point). Points are aware datetimes, the public use, or integers: the slot engine
counts microseconds since the epoch, which is UTC and several times cheaper to compare. Only
ordering is used, so both kinds behave the same.

Two shapes of list appear here:

- *normalised*: sorted by start, no empty interval, no two intervals overlapping or touching.
  :func:`normalise` builds one from anything; :func:`union` returns one.
- *sorted and disjoint*: sorted by start, no empty interval, no two intervals overlapping, but
  touching allowed. :func:`intersect` and :func:`subtract` accept this weaker shape and keep it:
  every interval they return lies inside one interval of their first argument, so touching
  intervals that a caller keeps apart (the slot engine's windows of two different days) are
  never joined behind its back.

:func:`intersect`, :func:`subtract` and :func:`union` are single sweeps, linear in the total
length of their arguments; :func:`normalise` sorts first (linear on sorted input).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from heapq import merge
from typing import TypeAlias, TypeVar

# Constrained rather than bound to a comparison protocol: intervals never mix datetimes and
# integers, and mypy then checks each use with the concrete type.
P = TypeVar("P", int, datetime)
Interval: TypeAlias = tuple[P, P]

__all__ = [
    "Interval",
    "intersect",
    "is_disjoint",
    "is_normalised",
    "normalise",
    "subtract",
    "union",
]


def normalise(intervals: Iterable[Interval[P]], *, join_touching: bool = True) -> list[Interval[P]]:
    """Return the same set of points as a sorted list with empty intervals dropped and
    overlapping intervals joined.

    With ``join_touching`` (the default) touching intervals are joined too and the result is
    normalised; without it they stay apart and the result is only sorted and disjoint.
    """
    ordered = sorted(interval for interval in intervals if interval[0] < interval[1])
    joined: list[Interval[P]] = []
    for start, end in ordered:
        if joined:
            last_start, last_end = joined[-1]
            if start < last_end or (join_touching and start == last_end):
                if end > last_end:
                    joined[-1] = (last_start, end)
                continue
        joined.append((start, end))
    return joined


def is_normalised(intervals: Sequence[Interval[P]]) -> bool:
    """Tell whether ``intervals`` is sorted, free of empty intervals, and has no two intervals
    overlapping or touching."""
    return _well_ordered(intervals, allow_touching=False)


def is_disjoint(intervals: Sequence[Interval[P]]) -> bool:
    """Tell whether ``intervals`` is sorted, free of empty intervals, and has no two intervals
    overlapping (touching allowed): the shape :func:`intersect` and :func:`subtract` need."""
    return _well_ordered(intervals, allow_touching=True)


def _well_ordered(intervals: Sequence[Interval[P]], *, allow_touching: bool) -> bool:
    for index, (start, end) in enumerate(intervals):
        if not start < end:
            return False
        if index:
            previous_end = intervals[index - 1][1]
            if start < previous_end or (start == previous_end and not allow_touching):
                return False
    return True


def union(first: Sequence[Interval[P]], second: Sequence[Interval[P]]) -> list[Interval[P]]:
    """Return the normalised union of two sorted, disjoint lists (touching intervals joined)."""
    joined: list[Interval[P]] = []
    for start, end in merge(first, second):
        if joined and start <= joined[-1][1]:
            if end > joined[-1][1]:
                joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def intersect(first: Sequence[Interval[P]], second: Sequence[Interval[P]]) -> list[Interval[P]]:
    """Return the points lying in both sorted, disjoint lists, as a sorted, disjoint list.

    Each returned interval is the overlap of one interval of ``first`` with one of ``second``,
    so nothing that either argument keeps apart is joined.
    """
    overlaps: list[Interval[P]] = []
    i = j = 0
    first_count, second_count = len(first), len(second)
    while i < first_count and j < second_count:
        first_start, first_end = first[i]
        second_start, second_end = second[j]
        start = first_start if first_start > second_start else second_start
        end = first_end if first_end < second_end else second_end
        if start < end:
            overlaps.append((start, end))
        # Whichever interval ends first can meet nothing further in the other list.
        if first_end < second_end:
            i += 1
        elif second_end < first_end:
            j += 1
        else:
            i += 1
            j += 1
    return overlaps


def subtract(kept: Sequence[Interval[P]], removed: Sequence[Interval[P]]) -> list[Interval[P]]:
    """Return the points of ``kept`` that are in no interval of ``removed`` (both sorted and
    disjoint), as a sorted, disjoint list whose every interval lies inside one of ``kept``."""
    remainder: list[Interval[P]] = []
    j = 0
    removed_count = len(removed)
    for kept_start, kept_end in kept:
        # Removals ending before this kept interval cannot touch any later one either, since
        # `kept` is sorted: skipping them once keeps the sweep linear.
        while j < removed_count and removed[j][1] <= kept_start:
            j += 1
        cursor = kept_start
        k = j
        while k < removed_count and cursor < kept_end:
            removed_start, removed_end = removed[k]
            if removed_start >= kept_end:
                break
            if removed_start > cursor:
                remainder.append((cursor, removed_start))
            if removed_end > cursor:
                cursor = removed_end
            k += 1
        if cursor < kept_end:
            remainder.append((cursor, kept_end))
    return remainder
