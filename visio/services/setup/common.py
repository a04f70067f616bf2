"""What every set-up use case shares: who may, and how a unique name is settled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment, Site
from visio.domain import AppointmentStatus
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services.errors import AlreadyExists, InUse, Message
from visio.services.permissions import Action, Actor, require


def require_admin(actor: Actor) -> None:
    """Set-up is for administrators: `NotAllowed` for anyone else."""
    require(actor, Action.SET_UP)


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


async def flush_unique(session: AsyncSession, conflict: AlreadyExists) -> None:
    """Flush; a unique index refusing the row (two scripts at once) becomes `conflict`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise conflict from None


async def refuse_if_booked(session: AsyncSession, where: Any, now: datetime) -> None:
    """`InUse` listing the booked appointments to come that `where` picks (the first 100,
    in their house's time, with how many in all), if any."""
    criteria = (where, Appointment.status == AppointmentStatus.BOOKED, Appointment.start_at > now)
    count = int(await session.scalar(select(func.count()).where(*criteria)) or 0)
    if not count:
        return
    first = await session.execute(
        select(Appointment.id, Appointment.start_at, Site.timezone)
        .join(Site, Site.id == Appointment.site_id)
        .where(*criteria)
        .order_by(Appointment.start_at, Appointment.id)
        .limit(100)
    )
    raise InUse(
        _l("Appointments to come still depend on this: move or cancel them first."),
        extra={
            "appointments_count": count,
            "appointments": [
                {"id": id_, "start": start.astimezone(time_zone(zone)).isoformat()}
                for id_, start, zone in first
            ],
        },
    )


async def refuse_if_used(
    session: AsyncSession, uses: Mapping[str, Select[int]], message: Message
) -> None:
    """`InUse` with `message` when any count of `uses` (what could still need a record,
    each a SELECT count) is not zero, saying which and how many."""
    counted = {name: int(await session.scalar(query) or 0) for name, query in uses.items()}
    if any(counted.values()):
        raise InUse(
            message, extra={"uses": {name: count for name, count in counted.items() if count}}
        )
