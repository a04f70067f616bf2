"""Statistics of visio sessions: counters kept with every change, and the counts read from
them.

Every change of an appointment's status moves one unit between two counters in the same
transaction (a booking adds one `booked`; a cancellation moves it to `cancelled`; an
outcome to `held`, `no_show` or `agent_absent`; a move cancels the old appointment and
books the new one), each on the day of the house's own calendar the appointment starts.
Statistics read these counters only: never an appointment, never a citizen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import QueryableAttribute

from visio.db.models import Agent, Appointment, Motive, Partner, SessionCount, Site
from visio.db.statements.statistics import CountKey, SessionMeasures, add_counts
from visio.domain import AppointmentStatus
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services.errors import InvalidInput
from visio.services.permissions import Action, Actor, require, require_site, site_scope


def _key(
    site_id: int, partner_id: int, motive_id: int, agent_id: int, start: datetime,
    timezone: str, status: AppointmentStatus,
) -> CountKey:  # fmt: skip
    day = start.astimezone(time_zone(timezone)).date()
    return CountKey(site_id, partner_id, motive_id, agent_id, day, status)


async def count_booked(
    connection: AsyncConnection,
    *,
    site_id: int,
    partner_id: int,
    motive_id: int,
    agent_id: int,
    start: datetime,
    end: datetime,
    timezone: str,
) -> None:
    """One more appointment booked (in the booking's transaction)."""
    key = _key(site_id, partner_id, motive_id, agent_id, start, timezone, AppointmentStatus.BOOKED)
    await add_counts(connection, {key: SessionMeasures(1, _minutes(start, end))})


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
    await session.execute(delete(SessionCount))
    keys = [(key, SessionMeasures(count, minutes[key])) for key, count in counted.items()]
    connection = await session.connection()
    for first in range(0, len(keys), 5_000):
        await add_counts(connection, dict(keys[first : first + 5_000]))
    return total


# ---------------------------------------------------------------- reading


# What rows can be grouped by, and the counters' columns behind each.
GROUP_KEYS = ("year", "month", "week", "day", "site", "partner", "motive", "agent")
# The longest period a request may cover: a typing slip beyond (and a costly scan).
LONGEST_PERIOD_DAYS = 20 * 366


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One group's counts, by status; `held` is a visio session."""

    keys: dict[str, object]
    booked: int
    held: int
    no_show: int
    agent_absent: int
    cancelled: int


async def session_counts(
    session: AsyncSession,
    actor: Actor,
    *,
    group_by: Sequence[str],
    first_day: date | None,
    last_day: date | None,
    site_id: int | None = None,
    partner_id: int | None = None,
) -> list[SessionRow]:
    """The appointments counted by status, grouped by any of `GROUP_KEYS` (periods on each
    house's own calendar), within the actor's houses; one statement on the counters.

    Groups are sorted by their keys; names come with ids (`site_name`…). A house outside
    the actor's scope is `NotFound`; an empty period gives no rows, not an error.
    """
    require(actor, Action.READ_STATISTICS)
    unknown = [key for key in group_by if key not in GROUP_KEYS]
    if unknown:
        raise InvalidInput(
            fields={"group_by": _l("Unknown grouping: %(keys)s.", keys=", ".join(unknown))}
        )
    if first_day is not None and last_day is not None:
        if last_day < first_day:
            raise InvalidInput(fields={"to": _l("Must not come before the start of the range.")})
        if (last_day - first_day).days > LONGEST_PERIOD_DAYS:
            raise InvalidInput(fields={"to": _l("A period covers at most 20 years.")})
    if site_id is not None:
        require_site(actor, Action.READ_STATISTICS, site_id)
    counts = SessionCount
    columns: dict[str, list[QueryableAttribute[Any]]] = {
        "year": [counts.year],
        "month": [counts.year, counts.month],
        "week": [counts.week],
        "day": [counts.day],
        "site": [counts.site_id, Site.name],
        "partner": [counts.partner_id, Partner.name],
        "motive": [counts.motive_id, Motive.name],
        "agent": [counts.agent_id, Agent.name],
    }
    chosen = [column for key in dict.fromkeys(group_by) for column in columns[key]]
    query = select(*chosen, counts.status, func.sum(counts.count)).group_by(*chosen, counts.status)
    if "site" in group_by:
        query = query.join(Site, Site.id == counts.site_id)
    if "partner" in group_by:
        query = query.join(Partner, Partner.id == counts.partner_id)
    if "motive" in group_by:
        query = query.join(Motive, Motive.id == counts.motive_id)
    if "agent" in group_by:
        query = query.join(Agent, Agent.id == counts.agent_id)
    scope = site_scope(actor)
    if not scope.every:
        query = query.where(counts.site_id.in_(sorted(scope.site_ids)))
    if site_id is not None:
        query = query.where(counts.site_id == site_id)
    if partner_id is not None:
        query = query.where(counts.partner_id == partner_id)
    if first_day is not None:
        query = query.where(counts.day >= first_day)
    if last_day is not None:
        query = query.where(counts.day <= last_day)
    groups: dict[tuple[object, ...], dict[str, int]] = {}
    width = len(chosen)
    for row in await session.execute(query):
        by_status = groups.setdefault(tuple(row[:width]), {})
        by_status[str(row[width])] = int(row[width + 1] or 0)
    rows = []
    for values, by_status in sorted(groups.items(), key=lambda item: _sortable(item[0])):
        rows.append(
            SessionRow(
                keys=_keys(group_by, values), booked=by_status.get("booked", 0),
                held=by_status.get("held", 0), no_show=by_status.get("no_show", 0),
                agent_absent=by_status.get("agent_absent", 0),
                cancelled=by_status.get("cancelled", 0),
            )
        )  # fmt: skip
    return rows


def _sortable(values: tuple[object, ...]) -> tuple[str, ...]:
    return tuple(f"{value:020d}" if isinstance(value, int) else str(value) for value in values)


def _keys(group_by: Sequence[str], values: tuple[object, ...]) -> dict[str, object]:
    """The group's keys as the API names them: `month` "2020-03", `day` "2020-03-16",
    `site` its id and `site_name`…"""
    keys: dict[str, object] = {}
    position = 0
    for key in dict.fromkeys(group_by):
        if key == "month":
            year, month = values[position], values[position + 1]
            keys["month"] = f"{year}-{month:02d}"
            position += 2
        elif key in ("site", "partner", "motive", "agent"):
            keys[f"{key}_id"], keys[f"{key}_name"] = values[position], values[position + 1]
            position += 2
        else:
            value = values[position]
            keys[key] = value.isoformat() if isinstance(value, date) else value
            position += 1
    return keys
