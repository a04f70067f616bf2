"""The statistics' counters of visio sessions, kept with every change.

Every change of an appointment's status moves one unit between two counters in the same
transaction (a booking adds one `booked`, written with the appointment itself; a
cancellation moves it to `cancelled`; an outcome to `held`, `no_show` or `agent_absent`; a
move cancels the old appointment and books the new one), each on the day of the house's
own calendar the appointment starts, with the appointment's booked minutes. The database
adds each counter's change into the roll-ups (triggers, migration 0007).
`visio.services.statistics` reads them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment, SessionCount, SessionRollup, Site
from visio.db.statements.statistics import CountChange, CountKey, SessionMeasures, add_counts
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone


def _key(
    site_id: int, partner_id: int, motive_id: int, agent_id: int, start: datetime,
    timezone: str, status: AppointmentStatus,
) -> CountKey:  # fmt: skip
    day = start.astimezone(time_zone(timezone)).date()
    return CountKey(site_id, partner_id, motive_id, agent_id, day, status)


def booked(
    *,
    site_id: int,
    partner_id: int,
    motive_id: int,
    agent_id: int,
    start: datetime,
    end: datetime,
    timezone: str,
) -> CountChange:
    """One more appointment booked: the change the booking writes with the appointment, in
    its transaction (`visio.db.statements.appointments.insert_appointment`)."""
    key = _key(site_id, partner_id, motive_id, agent_id, start, timezone, AppointmentStatus.BOOKED)
    return CountChange(key, SessionMeasures(1, _minutes(start, end)))


def _minutes(start: datetime, end: datetime) -> int:
    return round((end - start).total_seconds() / 60)


async def count_change(
    session: AsyncSession, appointment: Appointment, to_status: AppointmentStatus
) -> None:
    """The appointment leaves its status for `to_status` (call before changing it)."""
    if appointment.status is to_status:
        return
    timezone = await session.scalar(select(Site.timezone).where(Site.id == appointment.site_id))
    assert timezone is not None  # an appointment's house exists (a foreign key)
    parts = (
        appointment.site_id, appointment.partner_id, appointment.motive_id,
        appointment.agent_id, appointment.start_at, timezone,
    )  # fmt: skip
    minutes = _minutes(appointment.start_at, appointment.end_at)
    changes = {
        _key(*parts, appointment.status): SessionMeasures(-1, -minutes),
        _key(*parts, to_status): SessionMeasures(1, minutes),
    }
    await add_counts(await session.connection(), changes)


async def rebuild(session: AsyncSession) -> int:
    """Count every appointment again into fresh counters (`visio stats rebuild`); the number
    of appointments counted."""
    zones = {
        site_id: name for site_id, name in await session.execute(select(Site.id, Site.timezone))
    }
    counted: Counter[CountKey] = Counter()
    minutes: Counter[CountKey] = Counter()
    rows = await session.stream(
        select(
            Appointment.site_id, Appointment.partner_id, Appointment.motive_id,
            Appointment.agent_id, Appointment.start_at, Appointment.end_at, Appointment.status,
        ).execution_options(yield_per=10_000)
    )  # fmt: skip
    total = 0
    async for site_id, partner_id, motive_id, agent_id, start, end, status in rows:
        key = _key(site_id, partner_id, motive_id, agent_id, start, zones[site_id], status)
        counted[key] += 1
        minutes[key] += _minutes(start, end)
        total += 1
    # The roll-ups are the triggers' sums of the counters: emptied with them, refilled by
    # the triggers as the counters go back in.
    await session.execute(delete(SessionRollup))
    await session.execute(delete(SessionCount))
    keys = [(key, SessionMeasures(count, minutes[key])) for key, count in counted.items()]
    connection = await session.connection()
    for first in range(0, len(keys), 5_000):
        await add_counts(connection, dict(keys[first : first + 5_000]))
    return total
