"""What the pages around an appointment show: the desk's day, the agent's agenda, one
appointment's overview, and whether the agent is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    Citizen,
    Motive,
    Partner,
    Role,
    Site,
)
from visio.scheduling.calendars import time_zone
from visio.services.accounts import Actor
from visio.services.booking import get_appointment
from visio.services.errors import NotAllowed, NotFound


@dataclass(frozen=True, slots=True)
class AppointmentOverview:
    """One appointment with the names its pages show, and what the desk should know of
    its agent: ``agent_presence`` is ``"joined"`` (the agent opened their link), ``"late"``
    (booked, started, the agent has not come), ``"missed"`` (booked, over, the agent never
    came) or ``""`` (nothing to say yet)."""

    id: int
    status: AppointmentStatus
    start_at: datetime
    end_at: datetime
    site_id: int
    site_name: str
    site_timezone: str
    partner_name: str
    motive_name: str
    agent_id: int
    agent_name: str
    agent_timezone: str
    citizen_name: str | None  # None once erased
    arrived_at: datetime | None
    agent_joined_at: datetime | None
    agent_presence: str


@dataclass(frozen=True, slots=True)
class SiteDay:
    """The appointments of one site on its own calendar day."""

    site_id: int
    site_name: str
    timezone: str
    day: date
    appointments: tuple[AppointmentOverview, ...]


@dataclass(frozen=True, slots=True)
class AgentAgenda:
    """A partner agent's appointments over consecutive days of their own calendar."""

    agent_id: int
    timezone: str
    first_day: date
    last_day: date
    appointments: tuple[AppointmentOverview, ...]


# Every zone's calendar day lies within this distance of any instant (UTC−12 … UTC+14).
_ANY_ZONE_DAY = timedelta(days=2)


def agent_presence(appointment: Appointment, now: datetime) -> str:
    """Whether the desk should see the agent as connected, late or never come.

    Late from the start time on, as long as the appointment is booked and the agent has not
    opened their link; never come once it is over.
    """
    if appointment.agent_joined_at is not None:
        return "joined"
    if appointment.status is not AppointmentStatus.BOOKED or now < appointment.start_at:
        return ""
    return "late" if now < appointment.end_at else "missed"


async def _overviews(
    session: AsyncSession, *criteria: Any, now: datetime
) -> list[AppointmentOverview]:
    """The appointments matching `criteria`, by start, with their names in one statement."""

    query = (
        select(
            Appointment,
            Site.name,
            Site.timezone,
            Partner.name,
            Motive.name,
            Agent.name,
            Agent.timezone,
            Citizen.first_name,
            Citizen.last_name,
            Citizen.erased_at,
        )
        .join(Site, Site.id == Appointment.site_id)
        .join(Partner, Partner.id == Appointment.partner_id)
        .join(Motive, Motive.id == Appointment.motive_id)
        .join(Agent, Agent.id == Appointment.agent_id)
        .outerjoin(Citizen, Citizen.id == Appointment.citizen_id)
        .where(*criteria)
        .order_by(Appointment.start_at, Appointment.id)
    )
    found = []
    for row in await session.execute(query):
        appointment = row[0]
        first_name, last_name, erased_at = row[7], row[8], row[9]
        citizen_name = (
            f"{first_name} {last_name}".strip()
            if first_name is not None and erased_at is None
            else None
        )
        found.append(
            AppointmentOverview(
                id=appointment.id, status=appointment.status, start_at=appointment.start_at,
                end_at=appointment.end_at, site_id=appointment.site_id, site_name=row[1],
                site_timezone=row[2], partner_name=row[3], motive_name=row[4],
                agent_id=appointment.agent_id, agent_name=row[5], agent_timezone=row[6],
                citizen_name=citizen_name, arrived_at=appointment.arrived_at,
                agent_joined_at=appointment.agent_joined_at,
                agent_presence=agent_presence(appointment, now),
            )
        )  # fmt: skip
    return found


async def desk_day(session: AsyncSession, actor: Actor, *, now: datetime) -> list[SiteDay]:
    """Today's appointments at a desk agent's sites, each site on its own calendar day.

    Every site of a desk agent is listed, even without appointments; an administrator gets
    the sites that have some. Cancelled appointments stay listed with their status.
    """
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    site_query = select(Site.id, Site.name, Site.timezone).order_by(Site.name)
    if not actor.is_admin:
        site_query = site_query.where(Site.id.in_(actor.site_ids))
    sites = (await session.execute(site_query)).all()
    if not sites:
        return []
    in_scope = True if actor.is_admin else Appointment.site_id.in_([s.id for s in sites])
    around = await _overviews(
        session,
        in_scope,
        Appointment.start_at >= now - _ANY_ZONE_DAY,
        Appointment.start_at < now + _ANY_ZONE_DAY,
        now=now,
    )
    days = []
    for site_id, name, timezone in sites:
        zone = time_zone(timezone)
        today = now.astimezone(zone).date()
        appointments = tuple(
            a
            for a in around
            if a.site_id == site_id and a.start_at.astimezone(zone).date() == today
        )
        if appointments or not actor.is_admin:
            days.append(SiteDay(site_id, name, timezone, today, appointments))
    return days


async def agent_agenda(
    session: AsyncSession, actor: Actor, *, now: datetime, days: int = 7
) -> AgentAgenda:
    """A partner agent's own appointments from today to `days` days later, whole days of
    the agent's time zone (which may differ from the sites')."""
    if actor.role is not Role.AGENT or actor.agent_id is None:
        raise NotAllowed()
    timezone = await session.scalar(select(Agent.timezone).where(Agent.id == actor.agent_id))
    if timezone is None:
        raise NotFound()
    zone = time_zone(timezone)
    first_day = now.astimezone(zone).date()
    last_day = first_day + timedelta(days=days)
    first = datetime.combine(first_day, datetime.min.time(), zone)
    last = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone)
    appointments = await _overviews(
        session,
        Appointment.agent_id == actor.agent_id,
        Appointment.start_at >= first,
        Appointment.start_at < last,
        now=now,
    )
    return AgentAgenda(actor.agent_id, timezone, first_day, last_day, tuple(appointments))


async def appointment_overview(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> AppointmentOverview:
    """One appointment the actor may see, with its names; `NotFound` otherwise."""
    appointment = await get_appointment(session, actor, appointment_id)
    (found,) = await _overviews(session, Appointment.id == appointment.id, now=now)
    return found


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a citizen takes home when the desk prints the booking (no email needed)."""

    reference: str
    start_at: datetime
    end_at: datetime
    timezone: str
    site_name: str
    site_address: str
    partner_name: str
    motive_name: str
    documents: tuple[str, ...]
    instructions: str
    citizen_name: str | None
    status: AppointmentStatus


async def confirmation(session: AsyncSession, actor: Actor, appointment_id: int) -> Confirmation:
    """The printable confirmation of an appointment, for the booking site's desk (and
    admins); `NotFound` for anyone else."""
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotFound()
    appointment = await get_appointment(session, actor, appointment_id)
    row = (
        await session.execute(
            select(
                Site.name, Site.address, Site.timezone, Partner.name, Motive.name,
                Motive.documents, Motive.instructions,
            )
            .select_from(Motive)
            .join(Partner, Partner.id == Motive.partner_id)
            .join(Site, Site.id == appointment.site_id)
            .where(Motive.id == appointment.motive_id)
        )
    ).one()  # fmt: skip
    citizen = await session.get(Citizen, appointment.citizen_id) if appointment.citizen_id else None
    return Confirmation(
        reference=f"V-{appointment.id:06d}",
        start_at=appointment.start_at,
        end_at=appointment.end_at,
        timezone=row[2],
        site_name=row[0],
        site_address=row[1],
        partner_name=row[3],
        motive_name=row[4],
        documents=tuple(row[5]),
        instructions=row[6],
        citizen_name=(
            f"{citizen.first_name} {citizen.last_name}"
            if citizen and citizen.erased_at is None
            else None
        ),
        status=appointment.status,
    )
