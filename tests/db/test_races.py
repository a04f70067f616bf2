"""`visio.db.races.lost_race`: the database errors that mean another transaction won, as
each driver really raises them (a deadlock PostgreSQL breaks comes through asyncpg as a
plain `DBAPIError`), and those that do not."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from visio.db.races import lost_race

BUMP = text("UPDATE races SET v = v + 1 WHERE id = :id")


async def _refused(
    engine: AsyncEngine, first: int, second: int, both_hold_one: asyncio.Barrier
) -> DBAPIError | None:
    """Update two rows in this order, the second once the other transaction holds its first
    row too (a pause instead would not do on a busy machine: the other might come after
    this one committed, and wait instead of deadlocking); the error, if any."""
    async with engine.connect() as connection:
        try:
            async with connection.begin():
                await connection.execute(BUMP, {"id": first})
                await both_hold_one.wait()
                await connection.execute(BUMP, {"id": second})
        except DBAPIError as error:
            return error
    return None


@pytest.mark.postgres
async def test_a_deadlock_postgresql_breaks_is_a_lost_race(scratch_url: str) -> None:
    engine = create_async_engine(scratch_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE races (id int PRIMARY KEY, v int)"))
            await connection.execute(text("INSERT INTO races VALUES (1, 0), (2, 0)"))
        # Two transactions taking the same two rows in opposite orders: one is broken.
        both_hold_one = asyncio.Barrier(2)
        async with asyncio.timeout(120):  # only so that a failure cannot hang the suite
            refused = await asyncio.gather(
                _refused(engine, 1, 2, both_hold_one), _refused(engine, 2, 1, both_hold_one)
            )
        errors = [error for error in refused if error is not None]
        assert len(errors) == 1
        assert getattr(errors[0].orig, "sqlstate", None) == "40P01"
        assert lost_race(errors[0])
        # Anything else the database refuses is not a race.
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as wrong:
                await connection.execute(text("SELECT no_such_column FROM races"))
        assert not lost_race(wrong.value)
    finally:
        await engine.dispose()


async def test_a_constraint_refusing_the_row_is_a_lost_race(scratch_url: str) -> None:
    engine = create_async_engine(scratch_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE races (id int PRIMARY KEY, v int)"))
            await connection.execute(text("INSERT INTO races VALUES (1, 0)"))
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as taken:
                await connection.execute(text("INSERT INTO races VALUES (1, 1)"))
            assert lost_race(taken.value)
    finally:
        await engine.dispose()
