"""SQLite through `visio.db.sqlite`: results as the stock driver gives them, writers of one
process taking turns without SQLite's busy sleeps, and a turn always handed back."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError, TimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from visio.db.engine import make_engine

NOTES = Table("notes", MetaData(), Column("id", Integer, primary_key=True), Column("body", String))


@pytest.fixture(params=["one connection", "four connections"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """visio's default (one connection: requests queue for it), and a pool of four whose
    writers queue for their turn instead; a busy timeout of 0.5 s, for the tests that wait
    it out."""
    async with _notes_engine(request.param, tmp_path, busy_timeout_ms=500) as engine:
        yield engine


@pytest.fixture(params=["one connection", "four connections"])
async def patient_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncEngine]:
    """The same, waiting as long as a loaded machine needs: for the tests in which nobody
    should wait out a timeout at all."""
    async with _notes_engine(request.param, tmp_path, busy_timeout_ms=120_000) as engine:
        yield engine


@asynccontextmanager
async def _notes_engine(
    way: str, folder: Path, *, busy_timeout_ms: int
) -> AsyncIterator[AsyncEngine]:
    pool = {"pool_size": 4} if way == "four connections" else {}
    engine = make_engine(
        f"sqlite+aiosqlite:///{folder / 'driver.db'}", sqlite_busy_timeout_ms=busy_timeout_ms,
        **pool,
    )  # fmt: skip
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")
        )
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_rows_counts_and_ids_come_back_as_with_the_stock_driver(
    engine: AsyncEngine,
) -> None:
    notes = text("SELECT id, body FROM notes ORDER BY id")
    async with engine.begin() as connection:
        added = await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body) RETURNING id"), {"body": "Murat"}
        )
        assert added.scalar_one() == 1
        many = await connection.execute(
            text("INSERT INTO notes (body) VALUES (:body)"),
            [{"body": "Allanche"}, {"body": "Massiac"}],
        )
        assert many.rowcount == 2
        changed = await connection.execute(
            text("UPDATE notes SET body = body || ' !' WHERE id > :id"), {"id": 1}
        )
        assert changed.rowcount == 2
        result = await connection.execute(notes)
        assert list(result.keys()) == ["id", "body"]
        assert result.all() == [(1, "Murat"), (2, "Allanche !"), (3, "Massiac !")]
        # An empty answer still knows its columns.
        empty = await connection.execute(text("SELECT id FROM notes WHERE id < 0"))
        assert list(empty.keys()) == ["id"] and empty.all() == []
    async with engine.connect() as connection:
        assert len((await connection.execute(notes)).all()) == 3


async def test_writers_of_one_process_take_turns_and_each_sees_the_last(
    patient_engine: AsyncEngine,
) -> None:
    """Forty read-then-write transactions at once: each waits its turn (none meets
    "database is locked"), and each reads what the previous one wrote."""
    async with patient_engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('0')"))
    count = select(text("CAST(body AS INTEGER)")).select_from(text("notes"))

    async def increment() -> None:
        async with patient_engine.begin() as connection:
            value = await connection.scalar(count)
            await asyncio.sleep(0)  # let the others try to come in meanwhile
            await connection.execute(update(NOTES).values(body=str(int(value or 0) + 1)))

    await asyncio.gather(*(increment() for _ in range(40)))
    async with patient_engine.connect() as connection:
        assert await connection.scalar(count) == 40


async def test_a_failed_statement_or_commit_hands_the_turn_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('Murat')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO notes (body) VALUES ('Murat')"))
    with pytest.raises(OperationalError):
        async with engine.begin() as connection:
            await connection.execute(text("SELECT nothing FROM nowhere"))
    # Nothing was left holding the turn: the next writer goes straight in.
    async with asyncio.timeout(0.4), engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('Neussargues')"))
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM notes")) == 2


async def test_a_turn_held_too_long_is_refused_not_waited_for(engine: AsyncEngine) -> None:
    """A writer stuck past the busy timeout: the next one gets an error (SQLite's own, or
    the pool's when it has one connection only), not a hang, and once the first is done
    writing works again."""
    holder = await engine.connect()
    await holder.begin()
    await holder.execute(text("INSERT INTO notes (body) VALUES ('held')"))
    try:
        with pytest.raises((OperationalError, TimeoutError), match=r"locked|limit"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO notes (body) VALUES ('late')"))
    finally:
        await holder.commit()
        await holder.close()
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('later')"))
    async with engine.connect() as connection:
        bodies = (await connection.scalars(text("SELECT body FROM notes ORDER BY id"))).all()
        assert bodies == ["held", "later"]


async def test_another_process_writing_meets_the_busy_timeout(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Another program holds SQLite's write lock: the BEGIN that rides with the first
    statement waits the busy timeout, fails cleanly, and gives the turn back."""
    other = sqlite3.connect(tmp_path / "driver.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO notes (body) VALUES ('blocked')"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with asyncio.timeout(0.4), engine.begin() as connection:
        await connection.execute(text("INSERT INTO notes (body) VALUES ('free again')"))
    async with engine.connect() as connection:
        assert (await connection.scalars(text("SELECT body FROM notes"))).all() == ["free again"]


async def test_statements_built_by_sqlalchemy_with_bound_parameters(engine: AsyncEngine) -> None:
    """The way the services run them: statements built once, values bound per call."""
    by_body = select(NOTES.c.id, NOTES.c.body).where(NOTES.c.body == bindparam("wanted"))
    async with engine.begin() as connection:
        await connection.execute(insert(NOTES), [{"body": "Pélussin"}, {"body": "Murat"}])
        assert (await connection.execute(by_body, {"wanted": "Pélussin"})).all() == [
            (1, "Pélussin")
        ]
        renamed = await connection.execute(
            update(NOTES).where(NOTES.c.id == bindparam("renamed")),
            {"renamed": 2, "body": "Murat-le-Quaire"},
        )
        assert renamed.rowcount == 1
        assert (await connection.execute(by_body, {"wanted": "Murat"})).all() == []


async def test_the_wal_is_copied_back_as_commits_go(engine: AsyncEngine, tmp_path: Path) -> None:
    """Commits do not checkpoint (that would fsync on the event loop): the driver does it
    on its thread every so many commits, so the WAL stays small however long it runs."""
    for number in range(1000):
        async with engine.begin() as connection:
            await connection.execute(insert(NOTES), {"body": f"note {number} " + "x" * 500})
    wal = tmp_path / "driver.db-wal"
    # Without checkpoints these commits leave a WAL of some 17 MB; with one every hundred
    # commits it is reused from its start and stays around what a hundred commits write.
    assert wal.stat().st_size < 3_000_000
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM notes")) == 1000
