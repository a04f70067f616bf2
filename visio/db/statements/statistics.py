"""The statistics' counters: add to them as appointments change, read them grouped."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import Update, and_, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import table
from visio.db.models import SessionCount
from visio.domain import AppointmentStatus


class CountKey(NamedTuple):
    """One counter: a house, partner, motive and agent, a day of the house's calendar, a
    status."""

    site_id: int
    partner_id: int
    motive_id: int
    agent_id: int
    day: date
    status: AppointmentStatus


def _periods(day: date) -> dict[str, object]:
    iso_year, iso_week, _weekday = day.isocalendar()
    return {"year": day.year, "month": day.month, "week": f"{iso_year}-W{iso_week:02d}"}


async def add_counts(connection: AsyncConnection, changes: Mapping[CountKey, int]) -> None:
    """Add each change to its counter: one statement for the increments (a counter is
    created at its first one), one for the decrements (never below zero)."""
    ups = [
        {**key._asdict(), **_periods(key.day), "count": delta}
        for key, delta in changes.items()
        if delta > 0
    ]
    downs = [
        {**{f"key_{name}": value for name, value in key._asdict().items()}, "delta": -delta}
        for key, delta in changes.items()
        if delta < 0
    ]
    if ups:
        await connection.execute(_increment(connection.dialect.name), ups)
    if downs:
        await connection.execute(_decrement(), downs)


@functools.cache
def _increment(dialect: str) -> Any:  # an INSERT … ON CONFLICT of either dialect
    counts = table(SessionCount)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(counts)
    return statement.on_conflict_do_update(
        index_elements=[column.name for column in counts.primary_key.columns],
        set_={"count": counts.c.count + statement.excluded.count},
    )


@functools.cache
def _decrement() -> Update:
    counts = table(SessionCount)
    key = and_(*(column == bindparam(f"key_{column.name}") for column in counts.primary_key))
    return (
        update(counts)
        .where(key, counts.c.count >= bindparam("delta"))
        .values(count=counts.c.count - bindparam("delta"))
    )
