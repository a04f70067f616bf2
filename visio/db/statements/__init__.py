"""Hand-tuned SQL of the hot paths, built once with bound parameters, typed.

Services speak rules and call these; the SQL, and the differences between PostgreSQL
and SQLite (row locks, data-modifying CTEs), live here and nowhere else.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


def writers_take_turns(connection: AsyncConnection) -> bool:
    """Whether a write transaction already excludes every other writer from its start.

    SQLite's does (BEGIN IMMEDIATE takes the database's write lock): what a transaction
    reads stays true until it commits, so there is nothing to lock row by row. On
    PostgreSQL writers run side by side and take row locks (`lock_agent_and_station`).
    """
    return connection.dialect.name == "sqlite"
