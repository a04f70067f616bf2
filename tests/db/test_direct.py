"""Statements run on the driver's connection (`visio.db.direct`) answer exactly what
SQLAlchemy's own execution answers, in the same transaction, with the same errors; and
they fall back to SQLAlchemy when the driver cannot take them in place."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, event, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from visio.db.base import table
from visio.db.direct import Direct, direct
from visio.db.engine import make_engine
from visio.db.models import AuditEntry, Motive, Partner
from visio.db.statements import availability
from visio.db.statements import citizens as citizen_statements

MOMENT = datetime(2026, 3, 30, 7, 15, 0, 250_000, tzinfo=UTC)


def audit_insert() -> Direct:
    entries = table(AuditEntry)
    named = ("at", "user_id", "action", "entity", "entity_id", "details", "request_id")
    return Direct(
        insert(entries)
        .values({name: bindparam(name, type_=entries.c[name].type) for name in named})
        .returning(entries.c.id)
    )


ENTRY = {
    "at": MOMENT, "user_id": None, "action": "test.direct", "entity": "test", "entity_id": 7,
    "details": {"quand": "lundi", "n": [1, 2]}, "request_id": "req-direct-1",
}  # fmt: skip


async def test_a_row_written_and_read_directly_is_what_sqlalchemy_reads(
    connection: AsyncConnection,
) -> None:
    new_id = await audit_insert().scalar(connection, ENTRY)
    assert isinstance(new_id, int)
    query = select(
        AuditEntry.at, AuditEntry.action, AuditEntry.details, AuditEntry.request_id
    ).where(AuditEntry.id == bindparam("entry_id", type_=Integer))
    (directly,) = await Direct(query).rows(connection, {"entry_id": new_id})
    (through,) = (await connection.execute(query, {"entry_id": new_id})).all()
    assert directly == tuple(through)
    assert directly == (MOMENT, "test.direct", {"quand": "lundi", "n": [1, 2]}, "req-direct-1")
    assert directly[0].tzinfo == UTC  # an instant comes back aware, in UTC


async def test_the_booking_read_answers_as_through_sqlalchemy(
    connection: AsyncConnection, session: AsyncSession, create_site: Any, clock: Any
) -> None:
    """Times of day, JSON lists, nullable columns, literals held by the statement."""
    site = await create_site(hours=((time(8, 30), time(12)), (time(13, 30), time(17, 45))))
    partner = Partner(code="MSA", name="MSA", created_at=clock())
    session.add(partner)
    await session.flush()
    motive = Motive(partner_id=partner.id, name="Retraite", duration_minutes=45,
                    documents=["Relevé de carrière"], reminder_offsets=[1440])  # fmt: skip
    session.add(motive)
    await session.flush()
    parameters = {"site_id": site.id, "motive_id": motive.id}
    directly = await direct(availability.head()).rows(connection, parameters)
    through = [tuple(row) for row in await connection.execute(availability.head(), parameters)]
    assert sorted(directly, key=repr) == sorted(through, key=repr)
    assert len(directly) == 10  # five days, two spans each
    assert {row[-2:] for row in directly} == {(time(8, 30), time(12)), (time(13, 30), time(17, 45))}
    assert directly[0][14] == ["Relevé de carrière"]
    window = {
        "site_id": site.id, "partner_id": partner.id, "agent_id": None,
        "range_start": MOMENT, "range_end": MOMENT + timedelta(days=2),
    }  # fmt: skip
    blocked = await direct(availability.blocking()).rows(connection, window)
    assert blocked == [
        tuple(row) for row in await connection.execute(availability.blocking(), window)
    ]
    assert blocked == [("s", None, site.stations[0].id, None, None)]  # the station, no time


async def test_a_refused_write_raises_sqlalchemys_integrity_error(
    connection: AsyncConnection,
) -> None:
    citizen = {
        "first_name": "Jeanne", "last_name": "Vidal", "first_name_key": "jeanne",
        "last_name_key": "vidal", "birth_date": None, "email": None, "phone": None,
        "locale": None,  # NOT NULL: the database refuses it
        "created_at": MOMENT,
    }  # fmt: skip
    with pytest.raises(IntegrityError):
        await direct(citizen_statements.insert_citizen()).scalar(connection, citizen)


async def test_statement_listeners_are_told(connection: AsyncConnection) -> None:
    seen: list[str] = []

    def listener(*arguments: Any) -> None:
        # No cursor: the statement went to the driver itself, not through SQLAlchemy.
        assert arguments[1] is None
        seen.append(arguments[2])

    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", listener)
    try:
        await audit_insert().run(connection, ENTRY)
    finally:
        event.remove(target, "before_cursor_execute", listener)
    assert len(seen) == 1 and seen[0].startswith("INSERT INTO audit_log")


async def test_many_rows_in_one_call(connection: AsyncConnection) -> None:
    entries = table(AuditEntry)
    named = ("at", "user_id", "action", "entity", "entity_id", "details", "request_id")
    statement = insert(entries).values(
        {name: bindparam(name, type_=entries.c[name].type) for name in named}
    )
    rows = [{**ENTRY, "action": "test.many", "entity_id": number} for number in range(5)]
    await Direct(statement).run_many(connection, rows)
    counted = await connection.scalar(
        select(AuditEntry.entity_id).where(AuditEntry.action == "test.many").order_by(
            AuditEntry.entity_id.desc()).limit(1)
    )  # fmt: skip
    assert counted == 4


async def test_outside_a_transaction_sqlalchemy_runs_it(database_url: str) -> None:
    """No transaction begun yet (asyncpg), or no write lock held (SQLite): the statement goes
    through SQLAlchemy, which begins the transaction as it always does."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await Direct(select(text("41 + 1"))).scalar(connection) == 42
            await connection.rollback()
    finally:
        await engine.dispose()


def test_a_list_bound_at_execution_keeps_sqlalchemys_path(database_url: str) -> None:
    statement = select(AuditEntry.id).where(AuditEntry.id.in_(bindparam("ids", expanding=True)))
    dialect = make_engine(database_url).dialect
    with pytest.raises(TypeError, match="cannot be bound once"):
        Direct(statement)._compiled_for(dialect)
