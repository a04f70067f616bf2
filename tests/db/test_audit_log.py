"""The audit log is append-only on PostgreSQL (migration 0014's trigger): no UPDATE, no
DELETE, no TRUNCATE gets through, but an account's deletion (its entries keep their place,
without their author) and the purge of the entries older than the instant it names; and
the purge two processes start on the same day runs once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import SECRET
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import AuditEntry, Citizen, Role, User
from visio.db.statements.retention import purge_audit
from visio.personal_data import DailyPurge
from visio.settings import Settings

pytestmark = pytest.mark.postgres

NOW = datetime(2027, 6, 1, 8, tzinfo=UTC)


async def entry(session: AsyncSession, at: datetime, user_id: int | None = None) -> AuditEntry:
    added = AuditEntry(at=at, user_id=user_id, action="site.change", entity="site",
                       entity_id=1, details={"name": "Murat"})  # fmt: skip
    session.add(added)
    await session.flush()
    return added


async def refused(session: AsyncSession, statement: str, **parameters: object) -> str:
    """Run `statement` in a savepoint; the database's refusal, as text."""
    with pytest.raises(DBAPIError) as raised:
        async with session.begin_nested():
            await session.execute(text(statement), parameters)
    return str(raised.value.orig)


async def test_no_update_delete_or_truncate_gets_through(session: AsyncSession) -> None:
    old = await entry(session, NOW - timedelta(days=400))
    recent = await entry(session, NOW - timedelta(days=1))
    for statement in (
        "UPDATE audit_log SET action = 'site.delete' WHERE id = :id",
        "UPDATE audit_log SET details = '{}' WHERE id = :id",
        "DELETE FROM audit_log WHERE id = :id",
    ):
        for target in (old, recent):
            assert "append-only" in await refused(session, statement, id=target.id)
    assert "append-only" in await refused(session, "TRUNCATE audit_log")
    # The purge's permission covers what is older than its instant, nothing newer.
    await session.execute(
        text("SELECT set_config('visio.audit_purge_before', :t, true)"),
        {"t": (NOW - timedelta(days=365)).isoformat()},
    )
    assert "append-only" in await refused(
        session, "DELETE FROM audit_log WHERE id = :id", id=recent.id
    )
    assert "append-only" in await refused(
        session, "UPDATE audit_log SET action = 'x' WHERE id = :id", id=old.id
    )
    assert "append-only" in await refused(session, "TRUNCATE audit_log")
    ids = set(await session.scalars(select(AuditEntry.id)))
    assert {old.id, recent.id} <= ids


async def test_the_purge_deletes_only_what_is_older_than_its_instant(
    session: AsyncSession,
) -> None:
    old = await entry(session, NOW - timedelta(days=400))
    recent = await entry(session, NOW - timedelta(days=1))
    deleted = await purge_audit(await session.connection(), NOW - timedelta(days=365))
    assert deleted >= 1
    left = set(await session.scalars(select(AuditEntry.id)))
    assert old.id not in left and recent.id in left


async def test_deleting_an_account_keeps_its_entries_without_their_author(
    session: AsyncSession,
) -> None:
    user = User(email="parti@visio.example", name="Parti", role=Role.DESK, created_at=NOW)
    session.add(user)
    await session.flush()
    kept = await entry(session, NOW - timedelta(days=3), user_id=user.id)
    await session.execute(delete(User).where(User.id == user.id))
    found = await session.get(AuditEntry, kept.id, populate_existing=True)
    assert found is not None and found.user_id is None
    assert found.details == {"name": "Murat"} and found.action == "site.change"
    # Setting an author back, or another one, is an update like any other.
    assert "append-only" in await refused(
        session, "UPDATE audit_log SET user_id = NULL, action = 'x' WHERE id = :id", id=kept.id
    )
    with pytest.raises(DBAPIError):
        async with session.begin_nested():
            await session.execute(
                update(AuditEntry).where(AuditEntry.id == kept.id).values(entity_id=2)
            )


# ---------------------------------------------------------------- the daily job, twice


@pytest.fixture
async def migrated(scratch_url: str) -> AsyncIterator[str]:
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    yield scratch_url


async def test_two_processes_starting_the_same_day_purge_once(migrated: str) -> None:
    """Two servers (two engines, two pools) look at once, then again: one purge in all."""
    settings = Settings(database_url=migrated, secret_key=SECRET)
    engines = [make_engine(migrated) for _ in range(2)]
    try:
        async with make_sessionmaker(engines[0])() as session, session.begin():
            session.add(Citizen(first_name="Jean", last_name="Rigal", first_name_key="jean",
                                last_name_key="rigal", email="jean@courriel.example",
                                created_at=NOW - timedelta(days=200)))  # fmt: skip
        jobs = [
            DailyPurge(make_sessionmaker(engine), settings, clock=lambda: NOW) for engine in engines
        ]
        first = await asyncio.gather(*(job.run_once() for job in jobs))
        again = await asyncio.gather(*(job.run_once() for job in jobs))
        done = [report for report in [*first, *again] if report is not None]
        assert len(done) == 1 and done[0].citizens == 1
        async with make_sessionmaker(engines[0])() as session:
            runs = await session.scalar(
                select(func.count()).where(AuditEntry.action == "citizen.purge")
            )
            erased = await session.scalar(select(Citizen.last_name))
        assert (runs, erased) == (1, "")
    finally:
        for engine in engines:
            await engine.dispose()
