"""What the monitoring reads of the database: how the outbox is doing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import OutboxMessage
from visio.domain import OutboxStatus


@dataclass(frozen=True, slots=True)
class OutboxHealth:
    # Messages by status, every status named (0 when none).
    counts: dict[OutboxStatus, int]
    # Seconds the oldest message still to send has waited (0 when none waits).
    oldest_pending_age: float


async def outbox_health(session: AsyncSession, now: datetime) -> OutboxHealth:
    """The outbox by status, and how long its oldest pending message has waited."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    counts = dict.fromkeys(OutboxStatus, 0)
    for status, count in rows.all():
        counts[OutboxStatus(status)] = int(count)
    oldest = await session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return OutboxHealth(counts, age)
