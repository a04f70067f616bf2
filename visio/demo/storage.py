"""Writing the drawn history: citizens, appointments with their events, desk requests.

Thousands of rows, so plain INSERT statements rather than ORM objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    Citizen,
    DeskRequest,
    RequestTheme,
)
from visio.demo.houses import PARIS
from visio.demo.records import DrawnAppointment, DrawnCitizen, DrawnDeskRequest
from visio.services.citizens import name_key

# Desk requests go in batches of this many rows.
DESK_BATCH = 5_000


async def store_history(
    session: AsyncSession,
    appointments: Sequence[DrawnAppointment],
    desk_requests: Sequence[DrawnDeskRequest],
    *,
    booked_by: int | None,
) -> None:
    """Insert the drawn history in the current transaction, every appointment booked (and
    its status set) by the account `booked_by`."""
    citizens = [drawn.citizen for drawn in appointments if drawn.citizen is not None]
    # Ids are paired with rows by position: SQLite and PostgreSQL return them in the order
    # of the rows for these single-statement inserts.
    citizen_ids = iter(await _insert_citizens(session, citizens))
    result = await session.execute(
        insert(Appointment).returning(Appointment.id),
        [
            _appointment_row(
                drawn, next(citizen_ids) if drawn.citizen else None, booked_by=booked_by
            )
            for drawn in appointments
        ],
    )
    appointment_ids = list(result.scalars())
    events = [
        event
        for appointment_id, drawn in zip(appointment_ids, appointments, strict=True)
        for event in _event_rows(appointment_id, drawn, booked_by=booked_by)
    ]
    await session.execute(insert(AppointmentEvent), events)
    themes = {
        code: id_ for code, id_ in await session.execute(select(RequestTheme.code, RequestTheme.id))
    }
    rows = [_desk_request_row(drawn, themes[drawn.theme]) for drawn in desk_requests]
    for start in range(0, len(rows), DESK_BATCH):
        await session.execute(insert(DeskRequest), rows[start : start + DESK_BATCH])


async def _insert_citizens(session: AsyncSession, citizens: Sequence[DrawnCitizen]) -> list[int]:
    if not citizens:
        return []
    rows = [
        {
            "first_name": citizen.first_name,
            "last_name": citizen.last_name,
            "first_name_key": name_key(citizen.first_name),
            "last_name_key": name_key(citizen.last_name),
            "email": citizen.email,
            "phone": citizen.phone,
            "locale": "fr",
            "created_at": citizen.created_at,
        }
        for citizen in citizens
    ]
    result = await session.execute(insert(Citizen).returning(Citizen.id), rows)
    return list(result.scalars())


def _appointment_row(
    drawn: DrawnAppointment, citizen_id: int | None, *, booked_by: int | None
) -> dict[str, object]:
    return {
        "site_id": drawn.site_id,
        "station_id": drawn.station_id,
        "partner_id": drawn.partner_id,
        "motive_id": drawn.motive_id,
        "agent_id": drawn.agent_id,
        "citizen_id": citizen_id,
        "start_at": drawn.start_at,
        "end_at": drawn.end_at,
        "busy_from": drawn.busy_from,
        "busy_until": drawn.busy_until,
        "status": drawn.status,
        "room": drawn.room,
        "booked_by_id": booked_by,
        "arrived_at": drawn.arrived_at,
        "cancel_reason": drawn.cancel_reason,
        "created_at": drawn.booked_at,
        "updated_at": drawn.updated_at,
    }


def _event_rows(
    appointment_id: int, drawn: DrawnAppointment, *, booked_by: int | None
) -> list[dict[str, object]]:
    """Its booking, then the change to its status unless it is still booked."""
    booked = {
        "appointment_id": appointment_id,
        "at": drawn.booked_at,
        "by_user_id": booked_by,
        "from_status": None,
        "to_status": AppointmentStatus.BOOKED,
        "note": "",
    }
    if drawn.status == AppointmentStatus.BOOKED:
        return [booked]
    settled = {
        **booked,
        "at": drawn.updated_at,
        "from_status": AppointmentStatus.BOOKED,
        "to_status": drawn.status,
    }
    return [booked, settled]


def _desk_request_row(drawn: DrawnDeskRequest, theme_id: int) -> dict[str, object]:
    return {
        "site_id": drawn.site_id,
        "partner_id": drawn.partner_id,
        "theme_id": theme_id,
        "kind": drawn.kind,
        "channel": drawn.channel,
        "accompanied": drawn.accompanied,
        "new_person": drawn.new_person,
        "at": drawn.at,
        "day": drawn.at.astimezone(ZoneInfo(PARIS)).date(),
        "recorded_by_id": None,
    }
