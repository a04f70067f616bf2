"""Houses, their visio stations and closures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.models import (
    AvailabilityRule,
    Closure,
    OpeningHour,
    Site,
    Station,
)
from visio.db.models.agents import rule_sites
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services import audit
from visio.services.errors import AlreadyExists, InvalidInput, NotFound
from visio.services.permissions import Action, Actor, require, site_scope
from visio.services.records import (
    ClosureView,
    OpeningHoursView,
    SiteSummary,
    SiteView,
    StationView,
)
from visio.services.setup.common import flush_unique, hhmm, require_admin


def site_view(site: Site) -> SiteView:
    """A site whose hours and stations are loaded."""
    return SiteView(
        id=site.id, name=site.name, commune=site.commune, timezone=site.timezone,
        holiday_calendar=site.holiday_calendar, address=site.address,
        opening_hours=[
            OpeningHoursView(weekday=hours.weekday, start=hhmm(hours.start), end=hhmm(hours.end))
            for hours in site.opening_hours
        ],
        stations=[StationView(id=station.id, name=station.name) for station in site.stations],
    )  # fmt: skip


def closure_view(closure: Closure, timezone: str) -> ClosureView:
    zone = time_zone(timezone)
    return ClosureView(
        id=closure.id, site_id=closure.site_id, station_id=closure.station_id,
        start=closure.start_at.astimezone(zone), end=closure.end_at.astimezone(zone),
        reason=closure.reason,
    )  # fmt: skip


# ---------------------------------------------------------------- sites


@dataclass(frozen=True, slots=True)
class OpeningRange:
    weekday: int
    start: time
    end: time


def _overlapping_hours(hours: Sequence[OpeningRange]) -> int | None:
    """The index of the first range overlapping an earlier one of the same weekday."""
    for index, current in enumerate(hours):
        for earlier in hours[:index]:
            if (
                earlier.weekday == current.weekday
                and current.start < earlier.end
                and earlier.start < current.end
            ):
                return index
    return None


async def create_site(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    commune: str,
    timezone: str,
    holiday_calendar: str | None,
    opening_hours: Sequence[OpeningRange],
    address: str,
    email: str | None,
    phone: str | None,
    now: datetime,
) -> SiteView:
    """A new France Services house with its weekly opening hours (site-local wall clock)."""
    require_admin(actor)
    overlap = _overlapping_hours(opening_hours)
    if overlap is not None:
        raise InvalidInput(
            fields={f"opening_hours.{overlap}": _l("Overlaps another range of the same day.")}
        )
    if await session.scalar(select(Site.id).where(Site.name == name)) is not None:
        raise _site_exists()
    site = Site(
        name=name,
        commune=commune,
        timezone=timezone,
        holiday_calendar=holiday_calendar,
        address=address,
        email=email,
        phone=phone,
        created_at=now,
    )
    site.opening_hours = [
        OpeningHour(weekday=hours.weekday, start=hours.start, end=hours.end)
        for hours in sorted(opening_hours, key=lambda hours: (hours.weekday, hours.start))
    ]
    site.stations = []
    session.add(site)
    await flush_unique(session, _site_exists())
    audit.record(
        session, actor_id=actor.user_id, action="site.create", entity="site",
        entity_id=site.id, now=now, details={"name": name, "timezone": timezone},
    )  # fmt: skip
    return site_view(site)


def _site_exists() -> AlreadyExists:
    return AlreadyExists(
        _l("A site with this name already exists."), fields={"name": _l("Already used.")}
    )


async def get_site(session: AsyncSession, actor: Actor, site_id: int) -> SiteView:
    """A site with its hours and stations, if the actor may see it (else `NotFound`)."""
    if not await _may_see_site(session, actor, site_id):
        raise NotFound()
    site = await session.scalar(
        select(Site)
        .where(Site.id == site_id)
        .options(selectinload(Site.opening_hours), selectinload(Site.stations))
    )
    if site is None:
        raise NotFound()
    return site_view(site)


async def _may_see_site(session: AsyncSession, actor: Actor, site_id: int) -> bool:
    require(actor, Action.READ_SET_UP)
    scope = site_scope(actor)
    if scope.served_by_agent is not None:
        return site_id in set(await _served_by(session, scope.served_by_agent))
    return scope.every or site_id in scope.site_ids


async def _served_by(session: AsyncSession, agent_id: int) -> list[int]:
    """The sites an agent serves: those named by their rules, or all when a rule names none."""
    rules = select(AvailabilityRule.id).where(AvailabilityRule.agent_id == agent_id)
    rule_ids = list((await session.scalars(rules)).all())
    if not rule_ids:
        return []
    named = select(rule_sites.c.rule_id, rule_sites.c.site_id).where(
        rule_sites.c.rule_id.in_(rule_ids)
    )
    links = (await session.execute(named)).all()
    if {rule_id for rule_id, _site in links} != set(rule_ids):
        return list((await session.scalars(select(Site.id))).all())
    return sorted({site_id for _rule, site_id in links})


async def list_sites(session: AsyncSession, actor: Actor) -> list[SiteSummary]:
    """The sites the actor may see, by name."""
    require(actor, Action.READ_SET_UP)
    query = select(Site).order_by(Site.name)
    scope = site_scope(actor)
    if scope.served_by_agent is not None:
        query = query.where(Site.id.in_(await _served_by(session, scope.served_by_agent)))
    elif not scope.every:
        query = query.where(Site.id.in_(scope.site_ids))
    return [
        SiteSummary(id=site.id, name=site.name, commune=site.commune, timezone=site.timezone)
        for site in await session.scalars(query)
    ]


async def create_station(
    session: AsyncSession, actor: Actor, *, site_id: int, name: str, now: datetime
) -> StationView:
    """A new visio station (cabin, kiosk) at a site."""
    require_admin(actor)
    if await session.get(Site, site_id) is None:
        raise NotFound()
    station = Station(site_id=site_id, name=name, created_at=now)
    session.add(station)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="station.create", entity="station",
        entity_id=station.id, now=now, details={"site_id": site_id, "name": name},
    )  # fmt: skip
    return StationView(id=station.id, name=station.name)


async def create_closure(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    station_id: int | None,
    now: datetime,
) -> ClosureView:
    """Close a whole site, or one of its stations, for a while (no slot in that range)."""
    require_admin(actor)
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound()
    if station_id is not None:
        station = await session.get(Station, station_id)
        if station is None or station.site_id != site_id:
            raise InvalidInput(fields={"station_id": _l("Not a station of this site.")})
    closure = Closure(
        site_id=site_id, station_id=station_id, start_at=start, end_at=end, reason=reason
    )
    session.add(closure)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="closure.create", entity="site",
        entity_id=site_id, now=now,
        details={"closure_id": closure.id, "station_id": station_id,
                 "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    return closure_view(closure, site.timezone)
