"""Houses, their visio stations and closures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from visio.db.models import (
    Appointment,
    AvailabilityRule,
    Closure,
    DeskRequest,
    OpeningHour,
    Site,
    Station,
)
from visio.db.models.agents import rule_sites
from visio.db.models.users import user_sites
from visio.domain import RebookReason
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services import audit, rebooking
from visio.services.changes import KEEP, ActiveState, Keep, matching
from visio.services.errors import AlreadyExists, InvalidInput, NotFound
from visio.services.notifications import Links
from visio.services.permissions import Action, Actor, require, site_scope
from visio.services.records import (
    ClosureView,
    Listing,
    OpeningHoursView,
    SiteSummary,
    SiteView,
    StationView,
)
from visio.services.setup.common import (
    flush_unique,
    hhmm,
    refuse_if_booked,
    refuse_if_used,
    require_admin,
)


def site_view(site: Site) -> SiteView:
    """A site whose hours and stations are loaded."""
    return SiteView(
        id=site.id, name=site.name, commune=site.commune, timezone=site.timezone,
        active=site.active, holiday_calendar=site.holiday_calendar, address=site.address,
        opening_hours=[
            OpeningHoursView(weekday=hours.weekday, start=hhmm(hours.start), end=hhmm(hours.end))
            for hours in site.opening_hours
        ],
        stations=[station_view(station) for station in site.stations],
    )  # fmt: skip


def station_view(station: Station) -> StationView:
    return StationView(id=station.id, name=station.name, active=station.active)


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
        active=True,
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
    """The open sites the actor may see, by name (a house chosen for a new booking)."""
    return (await find_sites(session, actor)).items


async def find_sites(
    session: AsyncSession, actor: Actor, *, search: str = "", state: ActiveState = "active",
    page: int = 1, per_page: int | None = None,
) -> Listing[SiteSummary]:  # fmt: skip
    """The sites the actor may see, by name: open ones (`state`), or closed for good, or
    all; whose name or commune holds `search` (letters' case aside); a page of `per_page`
    (None: all)."""
    require(actor, Action.READ_SET_UP)
    criteria: list[ColumnElement[bool]] = []
    scope = site_scope(actor)
    if scope.served_by_agent is not None:
        criteria.append(Site.id.in_(await _served_by(session, scope.served_by_agent)))
    elif not scope.every:
        criteria.append(Site.id.in_(sorted(scope.site_ids)))
    if state != "all":
        criteria.append(Site.active.is_(state == "active"))
    criteria += matching(search, Site.name, Site.commune)
    total = int(await session.scalar(select(func.count()).select_from(Site).where(*criteria)) or 0)
    query = (
        select(Site.id, Site.name, Site.commune, Site.timezone, Site.active)
        .where(*criteria)
        .order_by(Site.name, Site.id)
    )
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [
        SiteSummary(id=row.id, name=row.name, commune=row.commune, timezone=row.timezone,
                    active=row.active)
        for row in await session.execute(query)
    ]  # fmt: skip
    return Listing(items, total, page, per_page)


def _weekly_order(hours: OpeningRange) -> tuple[int, time]:
    return hours.weekday, hours.start


@dataclass(frozen=True, slots=True)
class SiteChanges:
    """What a correction of a site changes: each field given, the others `KEEP`."""

    name: str | Keep = KEEP
    commune: str | Keep = KEEP
    timezone: str | Keep = KEEP
    holiday_calendar: str | Keep | None = KEEP
    opening_hours: Sequence[OpeningRange] | Keep = KEEP
    address: str | Keep = KEEP
    email: str | Keep | None = KEEP
    phone: str | Keep | None = KEEP
    active: bool | Keep = KEEP


async def change_site(
    session: AsyncSession, actor: Actor, site_id: int, changes: SiteChanges, *, now: datetime
) -> SiteView:
    """Correct a site, field by field, checked as at its creation (a name another site has,
    overlapping opening hours: refused by field, nothing written). Closing it for good
    (`active` false) is refused while it has appointments to come, listed (`InUse`): they
    are moved or cancelled first. Opening hours given replace the week's."""
    require_admin(actor)
    site = await _loaded_site(session, site_id)
    if isinstance(changes.name, str) and changes.name != site.name:
        taken = select(Site.id).where(Site.name == changes.name, Site.id != site_id)
        if await session.scalar(taken) is not None:
            raise _site_exists()
    if not isinstance(changes.opening_hours, Keep):
        overlap = _overlapping_hours(changes.opening_hours)
        if overlap is not None:
            raise InvalidInput(
                fields={f"opening_hours.{overlap}": _l("Overlaps another range of the same day.")}
            )
    if changes.active is False and site.active:
        await refuse_if_booked(session, Appointment.site_id == site_id, now)
    changed = []
    for name in ("name", "commune", "timezone", "holiday_calendar", "address", "email",
                 "phone", "active"):  # fmt: skip
        value = getattr(changes, name)
        if not isinstance(value, Keep) and value != getattr(site, name):
            setattr(site, name, value)
            changed.append(name)
    if not isinstance(changes.opening_hours, Keep):
        site.opening_hours = [
            OpeningHour(weekday=hours.weekday, start=hours.start, end=hours.end)
            for hours in sorted(changes.opening_hours, key=_weekly_order)
        ]
        changed.append("opening_hours")
    await flush_unique(session, _site_exists())
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="site.change", entity="site",
            entity_id=site_id, now=now, details={"fields": ", ".join(changed)},
        )  # fmt: skip
    return site_view(site)


async def delete_site(session: AsyncSession, actor: Actor, site_id: int, *, now: datetime) -> None:
    """Remove a site set up by mistake, with its hours, stations and closures. A site with
    a history (appointments, desk requests counted), named by a permanence or serving a
    user is refused (`InUse`, saying what uses it): it is closed for good instead."""
    require_admin(actor)
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound()
    uses = {
        "appointments": select(func.count()).select_from(Appointment)
        .where(Appointment.site_id == site_id),
        "desk_requests": select(func.count()).select_from(DeskRequest)
        .where(DeskRequest.site_id == site_id),
        "permanences": select(func.count()).select_from(rule_sites)
        .where(rule_sites.c.site_id == site_id),
        "users": select(func.count()).select_from(user_sites)
        .where(user_sites.c.site_id == site_id),
    }  # fmt: skip
    await refuse_if_used(
        session,
        uses,
        _l("This house has a history or is still named: close it instead (active: false)."),
    )
    await session.execute(delete(Closure).where(Closure.site_id == site_id))
    await session.execute(delete(Station).where(Station.site_id == site_id))
    await session.execute(delete(OpeningHour).where(OpeningHour.site_id == site_id))
    await session.execute(delete(Site).where(Site.id == site_id))
    session.expunge(site)
    audit.record(
        session, actor_id=actor.user_id, action="site.delete", entity="site",
        entity_id=site_id, now=now, details={"name": site.name},
    )  # fmt: skip


async def _loaded_site(session: AsyncSession, site_id: int) -> Site:
    site = await session.scalar(
        select(Site)
        .where(Site.id == site_id)
        .options(selectinload(Site.opening_hours), selectinload(Site.stations))
    )
    if site is None:
        raise NotFound()
    return site


async def create_station(
    session: AsyncSession, actor: Actor, *, site_id: int, name: str, now: datetime
) -> StationView:
    """A new visio station (cabin, kiosk) at a site."""
    require_admin(actor)
    if await session.get(Site, site_id) is None:
        raise NotFound()
    station = Station(site_id=site_id, name=name, active=True, created_at=now)
    session.add(station)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="station.create", entity="station",
        entity_id=station.id, now=now, details={"site_id": site_id, "name": name},
    )  # fmt: skip
    return station_view(station)


async def create_closure(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    start: datetime,
    end: datetime,
    reason: str,
    station_id: int | None,
    confirm: bool = False,
    links: Links,
    now: datetime,
) -> ClosureView:
    """Close a whole site, or one of its stations, for a while (no slot in that range).
    Booked appointments it falls on (at the house, or on that station) are shown first
    (`WouldStrand`, nothing written); once `confirm`ed they are set aside to rebook, their
    citizens and agents told (`visio.services.rebooking`)."""
    require_admin(actor)
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound()
    where, why = Appointment.site_id == site_id, RebookReason.HOUSE_CLOSED
    if station_id is not None:
        station = await session.get(Station, station_id)
        if station is None or station.site_id != site_id:
            raise InvalidInput(fields={"station_id": _l("Not a station of this site.")})
        where, why = Appointment.station_id == station_id, RebookReason.STATION_CLOSED
    falls_on = await rebooking.booked_to_come(
        session, where, Appointment.start_at < end, Appointment.end_at > start, now=now
    )
    await rebooking.set_aside(session, actor, falls_on, why, confirm=confirm, links=links, now=now)
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


async def change_station(
    session: AsyncSession, actor: Actor, site_id: int, station_id: int, *,
    name: str | Keep = KEEP, active: bool | Keep = KEEP, confirm: bool = False,
    links: Links, now: datetime,
) -> StationView:  # fmt: skip
    """Rename a station, or take it out of service or back. Booked appointments to come
    on a station taken out of service are shown first (`WouldStrand`, nothing written);
    once `confirm`ed they are set aside to rebook, their citizens and agents told."""
    require_admin(actor)
    station = await _station_of(session, site_id, station_id)
    if active is False and station.active:
        booked = await rebooking.booked_to_come(
            session, Appointment.station_id == station_id, now=now
        )
        await rebooking.set_aside(
            session, actor, booked, RebookReason.STATION_OUT_OF_SERVICE, confirm=confirm,
            links=links, now=now,
        )  # fmt: skip
    changed: list[str] = []
    if isinstance(name, str) and name != station.name:
        station.name, changed = name, [*changed, "name"]
    if isinstance(active, bool) and active != station.active:
        station.active, changed = active, [*changed, "active"]
    await session.flush()
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="station.change", entity="station",
            entity_id=station_id, now=now,
            details={"site_id": site_id, "fields": ", ".join(changed)},
        )  # fmt: skip
    return station_view(station)


async def delete_station(
    session: AsyncSession, actor: Actor, site_id: int, station_id: int, *, now: datetime
) -> None:
    """Remove a station added by mistake (and its closures); one that hosted appointments
    is refused (`InUse`): it is taken out of service instead."""
    require_admin(actor)
    station = await _station_of(session, site_id, station_id)
    await refuse_if_used(
        session,
        {"appointments": select(func.count()).where(Appointment.station_id == station_id)},
        _l("This station has appointments: take it out of service instead (active: false)."),
    )
    await session.execute(delete(Closure).where(Closure.station_id == station_id))
    await session.delete(station)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="station.delete", entity="station",
        entity_id=station_id, now=now, details={"site_id": site_id, "name": station.name},
    )  # fmt: skip


async def _station_of(session: AsyncSession, site_id: int, station_id: int) -> Station:
    station = await session.get(Station, station_id)
    if station is None or station.site_id != site_id:
        raise NotFound()
    return station


async def list_closures(
    session: AsyncSession, actor: Actor, site_id: int, *, include_past: bool, now: datetime
) -> list[ClosureView]:
    """A site's closures by start, those not over yet (all with `include_past`)."""
    if not await _may_see_site(session, actor, site_id):
        raise NotFound()
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound()
    query = select(Closure).where(Closure.site_id == site_id)
    if not include_past:
        query = query.where(Closure.end_at > now)
    closures = await session.scalars(query.order_by(Closure.start_at, Closure.id))
    return [closure_view(closure, site.timezone) for closure in closures]


async def delete_closure(
    session: AsyncSession, actor: Actor, site_id: int, closure_id: int, *, now: datetime
) -> None:
    """Remove a closure (the house or station opens again in that range)."""
    require_admin(actor)
    closure = await session.get(Closure, closure_id)
    if closure is None or closure.site_id != site_id:
        raise NotFound()
    await session.delete(closure)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="closure.delete", entity="site",
        entity_id=site_id, now=now,
        details={"closure_id": closure_id, "start": closure.start_at.isoformat(),
                 "end": closure.end_at.isoformat()},
    )  # fmt: skip
