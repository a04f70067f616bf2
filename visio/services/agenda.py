"""What the pages around an appointment show: the desk's day, the agent's agenda, one
appointment's overview, and whether the agent is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Agent, Appointment, Motive, Site, Station
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone
from visio.services import appointments
from visio.services.errors import NotFound
from visio.services.permissions import (
    Action,
    Actor,
    require,
    require_agent_self,
    site_scope,
)
from visio.services.records import AppointmentView


@dataclass(frozen=True, slots=True)
class SiteDay:
    """The appointments of one site on its own calendar day."""

    site_id: int
    site_name: str
    timezone: str
    day: date
    appointments: tuple[AppointmentView, ...]
    # The site's active visio stations, by name: (id, name).
    stations: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SiteWeek:
    """One site's days of a week, Monday first."""

    site_id: int
    site_name: str
    timezone: str
    monday: date
    days: tuple[SiteDay, ...]


@dataclass(frozen=True, slots=True)
class AgentAgenda:
    """A partner agent's appointments over consecutive days of their own calendar."""

    agent_id: int
    timezone: str
    first_day: date
    last_day: date
    appointments: tuple[AppointmentView, ...]


# Every zone's calendar day lies within this distance of any instant (UTC−12 … UTC+14).
_ANY_ZONE_DAY = timedelta(days=2)


async def desk_day(
    session: AsyncSession, actor: Actor, *, now: datetime, day: date | None = None
) -> list[SiteDay]:
    """The appointments of a desk agent's sites on one day (None: each site's today, on its
    own calendar), by start.

    Every site of a desk agent is listed, even without appointments; an administrator gets
    the sites that have some. Cancelled appointments stay listed with their status.
    """
    (site_days,) = await _site_days(session, actor, now=now, days=1, first=day)
    if site_scope(actor).every:
        return [site_day for site_day in site_days if site_day.appointments]
    return site_days


async def desk_week(
    session: AsyncSession, actor: Actor, *, now: datetime, week_of: date | None = None
) -> list[SiteWeek]:
    """The seven days, Monday to Sunday, of the week of `week_of` (None: this week) at each
    of a desk agent's sites (an administrator: the sites with appointments that week)."""
    day = week_of or now.date()
    monday = day - timedelta(days=day.weekday())
    days = await _site_days(session, actor, now=now, days=7, first=monday)
    by_site: dict[int, list[SiteDay]] = {}
    for site_days in days:
        for site_day in site_days:
            by_site.setdefault(site_day.site_id, []).append(site_day)
    scope_every = site_scope(actor).every
    return [
        SiteWeek(site[0].site_id, site[0].site_name, site[0].timezone, monday, tuple(site))
        for site in by_site.values()
        if not scope_every or any(site_day.appointments for site_day in site)
    ]


async def _site_days(
    session: AsyncSession, actor: Actor, *, now: datetime, days: int, first: date | None
) -> list[list[SiteDay]]:
    """For each of `days` days from `first` (None: each site's today), each site's day,
    empty or not."""
    require(actor, Action.SEE_DESK_DAY)
    scope = site_scope(actor)
    site_query = select(Site.id, Site.name, Site.timezone).order_by(Site.name)
    if not scope.every:
        site_query = site_query.where(Site.id.in_(scope.site_ids))
    sites = (await session.execute(site_query)).all()
    around = now.date() if first is None else first
    found: list[AppointmentView] = []
    if sites:
        found = await appointments.views_where(
            session,
            Appointment.site_id.in_([site.id for site in sites]),
            Appointment.start_at >= datetime.combine(around, time(), UTC) - _ANY_ZONE_DAY,
            Appointment.start_at
            < datetime.combine(around, time(), UTC) + timedelta(days=days) + _ANY_ZONE_DAY,
            now=now,
        )
    stations: dict[int, list[tuple[int, str]]] = {}
    if sites:
        station_rows = await session.execute(
            select(Station.site_id, Station.id, Station.name)
            .where(Station.site_id.in_([site.id for site in sites]), Station.active)
            .order_by(Station.name)
        )
        for site_id, station_id, station_name in station_rows:
            stations.setdefault(site_id, []).append((station_id, station_name))
    result = []
    for offset in range(days):
        site_days = []
        for site_id, name, timezone in sites:
            start = first if first is not None else now.astimezone(time_zone(timezone)).date()
            day = start + timedelta(days=offset)
            on_day = tuple(a for a in found if a.site_id == site_id and a.start.date() == day)
            site_days.append(
                SiteDay(site_id, name, timezone, day, on_day, tuple(stations.get(site_id, ())))
            )
        result.append(site_days)
    return result


@dataclass(frozen=True, slots=True)
class StationNext:
    """What a visio station's screen shows: its current or next session today, if any."""

    station_id: int
    station_name: str
    site_name: str
    timezone: str
    appointment: AppointmentView | None


async def station_next(
    session: AsyncSession, actor: Actor, station_id: int, *, now: datetime
) -> StationNext:
    """The station's session under way or next today (its house's day), for the desk of
    its house; `NotFound` for a station elsewhere."""
    require(actor, Action.JOIN_AS_STATION)
    row = (
        await session.execute(
            select(Station.name, Station.site_id, Site.name, Site.timezone)
            .join(Site, Site.id == Station.site_id)
            .where(Station.id == station_id)
        )
    ).one_or_none()
    if row is None or not actor.may_see_site(row.site_id):
        raise NotFound()
    station_name, _site_id, site_name, timezone = row
    zone = time_zone(timezone)
    day_end = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(), zone)
    found = await appointments.views_where(
        session,
        Appointment.station_id == station_id,
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.end_at > now,
        Appointment.start_at < day_end,
        now=now,
        limit=1,
    )
    return StationNext(station_id, station_name, site_name, timezone, found[0] if found else None)


async def agent_agenda(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    days: int = 7,
    week_of: date | None = None,
) -> AgentAgenda:
    """A partner agent's own appointments, whole days of the agent's time zone (which may
    differ from the sites'): from today to `days` days later, or, with `week_of`, the
    week (Monday to Sunday) of that day, past or to come."""
    agent_id = require_agent_self(actor, Action.SEE_OWN_AGENDA)
    timezone = await session.scalar(select(Agent.timezone).where(Agent.id == agent_id))
    if timezone is None:
        raise NotFound()
    zone = time_zone(timezone)
    if week_of is None:
        first_day = now.astimezone(zone).date()
        last_day = first_day + timedelta(days=days)
    else:
        first_day = week_of - timedelta(days=week_of.weekday())
        last_day = first_day + timedelta(days=6)
    first = datetime.combine(first_day, datetime.min.time(), zone)
    last = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), zone)
    found = await appointments.views_where(
        session,
        Appointment.agent_id == agent_id,
        Appointment.start_at >= first,
        Appointment.start_at < last,
        now=now,
    )
    return AgentAgenda(agent_id, timezone, first_day, last_day, tuple(found))


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a citizen takes home when the desk prints the booking (no email needed)."""

    appointment: AppointmentView
    site_address: str
    documents: tuple[str, ...]
    instructions: str

    @property
    def cancelled(self) -> bool:
        return self.appointment.status is AppointmentStatus.CANCELLED


async def confirmation(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> Confirmation:
    """The printable confirmation of an appointment, for the booking site's desk (and
    admins); `NotFound` for anyone else."""
    require(actor, Action.PRINT_CONFIRMATION)
    view = await appointments.read(session, actor, appointment_id, now=now)
    row = (
        await session.execute(
            select(Site.address, Motive.documents, Motive.instructions)
            .select_from(Motive)
            .join(Site, Site.id == view.site_id)
            .where(Motive.id == view.motive_id)
        )
    ).one()
    return Confirmation(view, row.address, tuple(row.documents), row.instructions)
