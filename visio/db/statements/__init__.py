"""Hand-tuned SQL of the hot paths, built once with bound parameters, typed.

Services speak rules and call these; the SQL, and the differences between PostgreSQL
and SQLite (row locks, data-modifying CTEs), live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import Insert, Select, Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection

_Statement = TypeVar("_Statement", bound=Select)  # type: ignore[type-arg]


def shaped(statement: _Statement, fields: tuple[str, ...]) -> _Statement:
    """`statement`, checked once (statements are built once) to select `fields`, those of
    a named tuple, in their order: its rows are then read by name as `Shape._make(row)`,
    at the cost of one tuple, not of a lookup per column."""
    labels = tuple(str(column["name"]) for column in statement.column_descriptions)
    if labels != fields:
        raise TypeError(f"columns {labels} do not match the fields {fields}")
    return statement


def writers_take_turns(connection: AsyncConnection) -> bool:
    """Whether a write transaction already excludes every other writer from its start.

    SQLite's does (BEGIN IMMEDIATE takes the database's write lock): what a transaction
    reads stays true until it commits, so there is nothing to lock row by row. On
    PostgreSQL writers run side by side and take row locks (`lock_agent_and_station`).
    """
    return connection.dialect.name == "sqlite"


def bound_insert(into: Table, names: Iterable[str] | None = None) -> Insert:
    """An INSERT of one row whose columns (`names`; None: every one but an `id`) are each
    bound by name, as `visio.db.direct` runs them: every value is given at execution, none
    is left to a column's default."""
    if names is None:
        names = [column.name for column in into.columns if column.name != "id"]
    return insert(into).values({name: bindparam(name, type_=into.c[name].type) for name in names})
