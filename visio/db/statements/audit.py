"""The audit log's one statement."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NotRequired, TypedDict

from sqlalchemy import Insert
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import table
from visio.db.direct import direct
from visio.db.models import AuditEntry
from visio.db.statements import bound_insert
from visio.logs import current_request_id

# What an audit entry's `details` may hold: ids, codes, instants as text. Never citizen
# data: the log outlives the retention period.
Details = dict[str, str | int | list[int] | None]


class AuditRow(TypedDict):
    at: datetime
    user_id: int | None
    action: str
    entity: str
    entity_id: int | None
    details: Details
    # The request that wrote it (its `X-Request-Id`), when there is one.
    request_id: NotRequired[str | None]


@functools.cache
def insert_entry() -> Insert:
    return bound_insert(
        table(AuditEntry),
        ("at", "user_id", "action", "entity", "entity_id", "details", "request_id"),
    )


async def write_entry(connection: AsyncConnection, row: AuditRow) -> None:
    """One audit entry, in the connection's transaction; the request's id when it names none."""
    values = dict(row)
    values.setdefault("request_id", current_request_id.get())
    await direct(insert_entry()).run(connection, values)
