"""Reading appointments: one, a list, the days of a house or of an agent, as records.

Every read goes through one statement (`visio.db.statements.appointments.views`) and
one mapping (`view_of`), so an appointment looks the same on every page and in every
JSON answer. Who sees what is `visio.services.permissions.appointment_scope`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment
from visio.db.statements import appointments as statements
from visio.db.statements.appointments import ViewRow
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone
from visio.services.errors import NotFound
from visio.services.permissions import Actor, appointment_scope
from visio.services.records import AppointmentView, CitizenView, reference_of

# The widest gap between UTC and a French house's wall clock (Polynesia -10h, New
# Caledonia +11h), and then some: enough to catch every site-local day in a UTC range.
WIDEST_OFFSET = timedelta(hours=14)


def agent_presence(
    status: AppointmentStatus,
    start: datetime,
    end: datetime,
    agent_joined_at: datetime | None,
    now: datetime,
) -> str:
    """Whether the desk should see the agent as connected, late or never come.

    Late from the start time on, as long as the appointment is booked and the agent has not
    opened their link; never come once it is over.
    """
    if agent_joined_at is not None:
        return "joined"
    if status is not AppointmentStatus.BOOKED or now < start:
        return ""
    return "late" if now < end else "missed"


def view_of(row: ViewRow, now: datetime) -> AppointmentView:
    """The record of one row of `statements.views()`, times in the house's zone."""
    appointment = row.appointment
    zone = time_zone(row.timezone)

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone) if moment is not None else None

    citizen = None
    if appointment.citizen_id is not None and row.first_name is not None and not row.erased_at:
        citizen = CitizenView(
            id=appointment.citizen_id, first_name=row.first_name, last_name=row.last_name or "",
            birth_date=row.birth_date, email=row.email, phone=row.phone,
            locale=row.citizen_locale or "fr",
        )  # fmt: skip
    return AppointmentView(
        id=appointment.id,
        reference=reference_of(appointment.id),
        status=appointment.status,
        start=appointment.start_at.astimezone(zone),
        end=appointment.end_at.astimezone(zone),
        timezone=row.timezone,
        site_id=appointment.site_id,
        site_name=row.site_name,
        station_id=appointment.station_id,
        partner_id=appointment.partner_id,
        partner_name=row.partner_name,
        motive_id=appointment.motive_id,
        motive_name=row.motive_name,
        agent_id=appointment.agent_id,
        agent_name=row.agent_name,
        agent_timezone=row.agent_timezone,
        citizen=citizen,
        room=appointment.room,
        rescheduled_from_id=appointment.rescheduled_from_id,
        arrived_at=local(appointment.arrived_at),
        agent_joined_at=local(appointment.agent_joined_at),
        cancel_reason=appointment.cancel_reason,
        outcome_note=appointment.outcome_note,
        agent_presence=agent_presence(
            appointment.status, appointment.start_at, appointment.end_at,
            appointment.agent_joined_at, now,
        ),
    )  # fmt: skip


async def views_where(
    session: AsyncSession, *criteria: ColumnElement[bool], now: datetime, limit: int = 500
) -> list[AppointmentView]:
    """The appointments matching `criteria`, by start, as records (one statement)."""
    query = statements.views().where(*criteria).limit(limit)
    return [view_of(ViewRow._make(row), now) for row in await session.execute(query)]


async def read(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> AppointmentView:
    """An appointment the actor may see (the booking site's desk, its agent, admins).

    `NotFound` otherwise: whether it exists is nobody else's business.
    """
    scope = statements.in_scope(appointment_scope(actor))
    found = await views_where(session, Appointment.id == appointment_id, scope, now=now)
    if not found:
        raise NotFound()
    return found[0]


async def locked(session: AsyncSession, actor: Actor, appointment_id: int) -> Appointment:
    """The appointment the actor may see, its row locked until the transaction ends (the
    change about to be made to it is the only one); `NotFound` otherwise."""
    scope = statements.in_scope(appointment_scope(actor))
    query = select(Appointment).where(Appointment.id == appointment_id, scope)
    appointment = await session.scalar(query.with_for_update())
    if appointment is None:
        raise NotFound()
    return appointment


async def on_days(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int | None,
    agent_id: int | None,
    first_day: date | None,
    last_day: date | None,
    statuses: Sequence[AppointmentStatus],
    now: datetime,
    limit: int = 500,
) -> list[AppointmentView]:
    """The appointments in the actor's scope starting on the given days, each day read in
    the appointment's own site's zone (a list may span houses of several zones)."""
    criteria = [statements.in_scope(appointment_scope(actor))]
    if site_id is not None:
        criteria.append(Appointment.site_id == site_id)
    if agent_id is not None:
        criteria.append(Appointment.agent_id == agent_id)
    if first_day is not None:
        criteria.append(
            Appointment.end_at > datetime.combine(first_day, time(), UTC) - WIDEST_OFFSET
        )
    if last_day is not None:
        last = datetime.combine(last_day + timedelta(days=1), time(), UTC) + WIDEST_OFFSET
        criteria.append(Appointment.start_at < last)
    if statuses:
        criteria.append(Appointment.status.in_(statuses))
    found = await views_where(session, *criteria, now=now, limit=limit)
    return [
        view
        for view in found
        if (first_day is None or view.start.date() >= first_day)
        and (last_day is None or view.start.date() <= last_day)
    ]


def local_day(view: AppointmentView, timezone: str) -> date:
    """The calendar day of an appointment's start in another zone (an agent's own)."""
    return view.start.astimezone(ZoneInfo(timezone)).date()
