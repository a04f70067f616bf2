"""Reading appointments: one, a list, the days of a house or of an agent, as records.

Every read goes through one statement (`visio.db.statements.appointments.views`) and
one mapping (`view_of`), so an appointment looks the same on every page and in every
JSON answer. Who sees what is `visio.services.permissions.appointment_scope`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment, Site
from visio.db.statements import appointments as statements
from visio.db.statements.appointments import ViewRow
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone
from visio.services.errors import NotFound
from visio.services.permissions import Actor, appointment_scope
from visio.services.records import AppointmentView, CitizenView, reference_of


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
        to_rebook_since=local(appointment.to_rebook_since),
        to_rebook_reason=appointment.to_rebook_reason,
    )  # fmt: skip


async def views_where(
    session: AsyncSession,
    *criteria: ColumnElement[bool],
    now: datetime,
    limit: int | None = None,
    offset: int = 0,
) -> list[AppointmentView]:
    """The appointments matching `criteria`, by start, as records (one statement); with
    `limit`, at most that many from `offset` (a page; see `page_on_days` for one that
    says its total)."""
    query = statements.views().where(*criteria)
    if limit is not None:
        query = query.limit(limit).offset(offset)
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


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list and what the reader needs to get the others: the whole count,
    and where this page stands in it."""

    items: tuple[AppointmentView, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def _day_windows(
    session: AsyncSession, first_day: date | None, last_day: date | None
) -> ColumnElement[bool]:
    """SQL condition: the appointment starts between `first_day` and `last_day` included,
    each day read on its own site's calendar. One window of instants per time zone of the
    houses (a handful), so the database filters, counts and pages exactly."""
    zones = (await session.scalars(select(Site.timezone).distinct())).all()
    windows = []
    for name in zones:
        zone = time_zone(name)
        bounds = [Site.timezone == name]
        if first_day is not None:
            bounds.append(Appointment.start_at >= datetime.combine(first_day, time(), zone))
        if last_day is not None:
            end = datetime.combine(last_day + timedelta(days=1), time(), zone)
            bounds.append(Appointment.start_at < end)
        windows.append(and_(*bounds))
    return or_(*windows) if windows else false()


async def page_on_days(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int | None,
    agent_id: int | None,
    first_day: date | None,
    last_day: date | None,
    statuses: Sequence[AppointmentStatus],
    now: datetime,
    page: int = 1,
    per_page: int = 500,
) -> Page:
    """The appointments in the actor's scope starting on the given days (each read on its
    own site's calendar: a list may span houses of several zones), by start, one page of
    `per_page` at a time, with their total."""
    criteria = [statements.in_scope(appointment_scope(actor))]
    if site_id is not None:
        criteria.append(Appointment.site_id == site_id)
    if agent_id is not None:
        criteria.append(Appointment.agent_id == agent_id)
    if first_day is not None or last_day is not None:
        criteria.append(await _day_windows(session, first_day, last_day))
    if statuses:
        criteria.append(Appointment.status.in_(statuses))
    count = (
        select(func.count())
        .select_from(Appointment)
        .join(Site, Site.id == Appointment.site_id)
        .where(*criteria)
    )
    total = int(await session.scalar(count) or 0)
    items: list[AppointmentView] = []
    if total > (page - 1) * per_page:
        items = await views_where(
            session, *criteria, now=now, limit=per_page, offset=(page - 1) * per_page
        )
    return Page(tuple(items), total, page, per_page)


def local_day(view: AppointmentView, timezone: str) -> date:
    """The calendar day of an appointment's start in another zone (an agent's own)."""
    return view.start.astimezone(ZoneInfo(timezone)).date()
