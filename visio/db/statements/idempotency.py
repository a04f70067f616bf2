"""Idempotency keys: claiming one (a row waiting for its answer), reading the first
answer, forgetting keys past their lifetime."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Delete, Select, Update, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import table
from visio.db.models import IdempotencyKey
from visio.db.statements import shaped

# The status of a claimed key whose answer is not written yet. Only its own transaction
# sees it: the answer is written before that transaction commits, and a refusal rolls
# the claim back with everything else.
IN_PROGRESS = 0


class KeptAnswer(NamedTuple):
    """A user's key as stored: which request it was for, and the answer given."""

    id: int
    request_hash: str
    status: int
    body: dict[str, object]
    location: str | None
    created_at: datetime


@functools.cache
def _claim(dialect: str) -> Any:  # an INSERT … ON CONFLICT DO NOTHING RETURNING id
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    keys = table(IdempotencyKey)
    return (
        insert(keys)
        .on_conflict_do_nothing(index_elements=[keys.c.user_id, keys.c.key])
        .returning(keys.c.id)
    )


async def claim_key(
    connection: AsyncConnection, *, user_id: int, key: str, request_hash: str, now: datetime
) -> int | None:
    """Insert the user's key, its answer still to come (`IN_PROGRESS`); the new row's id,
    or None when the user already holds this key.

    On PostgreSQL, a row for the same key that another transaction inserted and has not
    committed yet makes this statement wait for that transaction's end: None once it
    commits, the new row if it rolled back. On SQLite writers take turns: there is no
    such transaction.
    """
    found: int | None = await connection.scalar(
        _claim(connection.dialect.name),
        {"user_id": user_id, "key": key, "request_hash": request_hash,
         "status": IN_PROGRESS, "body": {}, "location": None, "created_at": now},
    )  # fmt: skip
    return found


@functools.cache
def _kept() -> Select[*KeptAnswer]:
    keys = table(IdempotencyKey)
    return shaped(
        select(
            keys.c.id, keys.c.request_hash, keys.c.status, keys.c.body, keys.c.location,
            keys.c.created_at,
        ).where(keys.c.user_id == bindparam("user_id"), keys.c.key == bindparam("key")),
        KeptAnswer._fields,
    )  # fmt: skip


async def kept_answer(connection: AsyncConnection, *, user_id: int, key: str) -> KeptAnswer | None:
    """The user's key as stored, or None."""
    row = (await connection.execute(_kept(), {"user_id": user_id, "key": key})).first()
    return KeptAnswer._make(row) if row is not None else None


@functools.cache
def _answer() -> Update:
    keys = table(IdempotencyKey)
    return update(keys).where(keys.c.id == bindparam("row_id"))


async def write_answer(
    connection: AsyncConnection,
    row_id: int,
    *,
    status: int,
    body: dict[str, object],
    location: str | None,
) -> None:
    """Fill a claimed key with its answer."""
    await connection.execute(
        _answer(), {"row_id": row_id, "status": status, "body": body, "location": location}
    )


@functools.cache
def _forget() -> Delete:
    keys = table(IdempotencyKey)
    return delete(keys).where(keys.c.created_at <= bindparam("before"))


@functools.cache
def _forget_one() -> Delete:
    keys = table(IdempotencyKey)
    return delete(keys).where(
        keys.c.id == bindparam("row_id"), keys.c.created_at <= bindparam("before")
    )


async def forget_key(connection: AsyncConnection, row_id: int, *, before: datetime) -> None:
    """Delete one key, if it was created at or before `before`."""
    await connection.execute(_forget_one(), {"row_id": row_id, "before": before})


async def count_keys(connection: AsyncConnection, *, before: datetime) -> int:
    """How many keys were created at or before `before`."""
    keys = table(IdempotencyKey)
    found = await connection.scalar(
        select(func.count()).select_from(keys).where(keys.c.created_at <= before)
    )
    return int(found or 0)


async def forget_keys(connection: AsyncConnection, *, before: datetime) -> int:
    """Delete every key created at or before `before`; how many."""
    result = await connection.execute(_forget(), {"before": before})
    return int(result.rowcount or 0)
