"""Hand-tuned SQL of the hot paths, built once with bound parameters, typed.

Services speak rules and call these; the SQL, and the differences between PostgreSQL
and SQLite (row locks, data-modifying CTEs), live here and nowhere else.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select
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
