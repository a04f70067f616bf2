"""The audit log: every change made through visio, with who made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import AuditEntry
from visio.db.statements.audit import AuditRow, Details, write_entry


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    details: Details | None = None,
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
    details: Details | None = None,
) -> None:
    """Like `record`, written at once by a plain statement (hot paths: no unit of work)."""
    row = AuditRow(at=now, user_id=actor_id, action=action, entity=entity,
                   entity_id=entity_id, details=details or {})  # fmt: skip
    await write_entry(await session.connection(), row)
