"""The statistics' counters: add to them as appointments change and as the desk records its
requests; one upsert for the increments, one guarded update for the decrements."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import CTE, Update, and_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import Base, table
from visio.db.direct import direct
from visio.db.models import DeskRequestCount, SessionCount
from visio.domain import AppointmentStatus, RequestChannel


class CountKey(NamedTuple):
    """One counter of appointments: a house, partner, motive and agent, a day of the house's
    calendar, a status."""

    site_id: int
    partner_id: int
    motive_id: int
    agent_id: int
    day: date
    status: AppointmentStatus


class SessionMeasures(NamedTuple):
    """Added to the columns `count` and `minutes`."""

    appointments: int
    minutes: int  # their booked minutes


class CountChange(NamedTuple):
    """One change of one appointment counter."""

    key: CountKey
    measures: SessionMeasures


class DeskKey(NamedTuple):
    """One counter of desk requests: a house, a partner and a theme (0 for none), a channel,
    a day of the house's calendar."""

    site_id: int
    partner_id: int
    theme_id: int
    channel: RequestChannel
    day: date


class DeskMeasures(NamedTuple):
    requests: int
    accompanied: int
    new_people: int
    people_accompanied: int


def periods(day: date) -> dict[str, object]:
    """The day's year, month and ISO week ("2026-W12"), stored beside it."""
    iso_year, iso_week, _weekday = day.isocalendar()
    return {"year": day.year, "month": day.month, "week": f"{iso_year}-W{iso_week:02d}"}


async def add_counts(
    connection: AsyncConnection, changes: Mapping[CountKey, SessionMeasures]
) -> None:
    """Add each change to its appointment counter."""
    await _add(connection, SessionCount, ("count", "minutes"), changes)


def counted_with(anchor: CTE) -> CTE:
    """PostgreSQL: a CTE adding one increment (bound as `counter_parameters` gives it) to
    its appointment counter, once for each row of `anchor`: written by the statement that
    writes what it counts (no row, no count), the roll-up trigger firing as for any other."""
    counts = table(SessionCount)
    names = [column.name for column in counts.columns]
    rows = select(
        *(bindparam(f"counter_{name}", type_=counts.c[name].type) for name in names)
    ).select_from(anchor)
    statement: postgresql.Insert = _summed(postgresql.insert(counts).from_select(names, rows))
    return statement.cte("counted")


def counter_parameters(change: CountChange) -> dict[str, object]:
    """The parameters of `counted_with` for `change`, an increment."""
    if change.measures.appointments <= 0 or change.measures.minutes < 0:
        raise ValueError(f"not an increment: {change.measures}")
    row = {**change.key._asdict(), **periods(change.key.day), **change.measures._asdict()}
    row["count"] = row.pop("appointments")
    return {f"counter_{name}": value for name, value in row.items()}


async def add_desk_counts(
    connection: AsyncConnection, changes: Mapping[DeskKey, DeskMeasures]
) -> None:
    """Add each change to its desk counter."""
    await _add(connection, DeskRequestCount, DeskMeasures._fields, changes)


async def _add(
    connection: AsyncConnection,
    model: type[Base],
    measures: Sequence[str],
    changes: Mapping[Any, Sequence[int]],
) -> None:
    """Increments (a counter is created at its first) in one statement, decrements (never
    below zero: a counter that would is left alone, `visio stats rebuild` recounts) in
    another. A change adds to every measure of its counter, all one way."""
    ups, downs = [], []
    for key, deltas in changes.items():
        if all(delta >= 0 for delta in deltas) and any(deltas):
            ups.append(
                {**key._asdict(), **periods(key.day), **dict(zip(measures, deltas, strict=True))}
            )
        elif all(delta <= 0 for delta in deltas) and any(deltas):
            downs.append(
                {
                    **{f"key_{name}": value for name, value in key._asdict().items()},
                    **{
                        f"delta_{name}": -delta
                        for name, delta in zip(measures, deltas, strict=True)
                    },
                }
            )
        elif any(deltas):
            raise ValueError(f"a change adds to some measures and takes from others: {deltas}")
    # One change (a booking's) as one plain statement: a list of one would take the
    # driver's executemany path, slower on PostgreSQL.
    if ups:
        increment = direct(_increment(connection.dialect.name, model))
        if len(ups) == 1:
            await increment.run(connection, ups[0])
        else:
            await increment.run_many(connection, ups)
    if downs:
        await connection.execute(_decrement(model), downs[0] if len(downs) == 1 else downs)


@functools.cache
def _increment(dialect: str, model: type[Base]) -> Any:  # an INSERT … ON CONFLICT
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Every column bound by name, as `visio.db.direct` runs it.
    counts = table(model)
    return _summed(
        insert(counts).values({c.name: bindparam(c.name, type_=c.type) for c in counts.c})
    )


def _summed(statement: Any) -> Any:
    """`statement`, an INSERT into a counters' table, adding its measures to a counter
    already there."""
    counts = statement.table
    keys = [column.name for column in counts.primary_key.columns]
    measures = [
        column.name
        for column in counts.columns
        if column.name not in keys and not _period(column.name)
    ]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: counts.c[name] + statement.excluded[name] for name in measures},
    )


@functools.cache
def _decrement(model: type[Base]) -> Update:
    counts = table(model)
    keys = {column.name for column in counts.primary_key.columns}
    measures = [
        column for column in counts.columns if column.name not in keys and not _period(column.name)
    ]
    key = and_(*(column == bindparam(f"key_{column.name}") for column in counts.primary_key))
    enough = and_(*(column >= bindparam(f"delta_{column.name}") for column in measures))
    return (
        update(counts)
        .where(key, enough)
        .values({column: column - bindparam(f"delta_{column.name}") for column in measures})
    )


def _period(name: str) -> bool:
    return name in ("year", "month", "week")
