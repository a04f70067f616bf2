"""Instants are stored in UTC on both databases; a naive datetime is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import AuditEntry


@pytest.mark.parametrize(
    "moment",
    [
        # a Paris summer time instant
        datetime(2026, 3, 30, 9, 0, tzinfo=ZoneInfo("Europe/Paris")),
        # La Réunion, UTC+4 all year
        datetime(2026, 12, 24, 16, 30, tzinfo=ZoneInfo("Indian/Reunion")),
        # a fixed offset, microseconds kept
        datetime(2026, 10, 25, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-3))),
    ],
)
async def test_an_instant_comes_back_as_the_same_utc_instant(
    session: AsyncSession, moment: datetime
) -> None:
    entry = AuditEntry(at=moment, action="test", entity="test", entity_id=None, details={})
    session.add(entry)
    await session.flush()
    session.expunge_all()
    loaded = await session.scalar(select(AuditEntry.at).where(AuditEntry.id == entry.id))
    assert loaded == moment
    assert loaded is not None and loaded.tzinfo == UTC


async def test_a_naive_datetime_is_refused(session: AsyncSession) -> None:
    session.add(AuditEntry(at=datetime(2026, 3, 30, 9, 0), action="t", entity="t", details={}))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()
