"""The audit log: every change made through visio, with who made it."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.base import table
from visio.db.models import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one audit entry to the current transaction (it lands only if the change does).

    `details` must not carry citizen data: the log outlives the retention period.
    """
    entry = AuditEntry(
        at=now,
        user_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details or {},
    )
    session.add(entry)
    return entry


async def write(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    """Like `record`, written at once by a plain statement (hot paths: no unit of work)."""
    await (await session.connection()).execute(
        _insert_statement(),
        {"at": now, "user_id": actor_id, "action": action, "entity": entity,
         "entity_id": entity_id, "details": details or {}},
    )  # fmt: skip


@functools.cache
def _insert_statement() -> Any:
    return insert(table(AuditEntry))
