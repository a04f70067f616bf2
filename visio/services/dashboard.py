"""The coordinator's dashboard and the yearly report: a period's figures against the same
period a year before, read from the statistics' counters (never an appointment, never a
citizen), so they survive the purge of personal data and cost the same over any history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Partner, Site
from visio.services.opening import calendar_stamp, openings
from visio.services.permissions import Action, Actor, require, site_scope
from visio.services.statistics import (
    DeskRow,
    SessionRow,
    desk_counts,
    houses_by_requests,
    houses_by_sessions,
    session_counts,
)


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure of the period and of the same period a year before; `growth` the change as a
    fraction (0.5: half as much again), None when there was nothing before."""

    current: float
    previous: float

    @property
    def growth(self) -> float | None:
        if not self.previous:
            return None
        return self.current / self.previous - 1


@dataclass(frozen=True, slots=True)
class MonthBar:
    month: str  # "2020-03"
    held: int
    previous_held: int


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One house, partner or motive: its appointments by status, its rates."""

    id: int | None
    name: str
    held: int
    no_show: int
    agent_absent: int
    cancelled: int
    booked: int
    minutes: int
    # The station minutes the house opened (houses only), and the share booked.
    station_minutes: int | None = None

    @property
    def due(self) -> int:
        """The sessions that were to take place: held, or missed by one side."""
        return self.held + self.no_show + self.agent_absent

    @property
    def no_show_rate(self) -> float | None:
        return self.no_show / self.due if self.due else None

    @property
    def agent_absent_rate(self) -> float | None:
        return self.agent_absent / self.due if self.due else None

    @property
    def occupancy(self) -> float | None:
        if not self.station_minutes:
            return None
        return self.minutes / self.station_minutes


@dataclass(frozen=True, slots=True)
class DeskLine:
    """One partner, theme, channel or house of the desk's tally."""

    key: object
    name: str
    requests: int
    people_accompanied: int
    per_opening_day: float | None


@dataclass(frozen=True, slots=True)
class Dashboard:
    first_day: date
    last_day: date
    previous_first: date
    previous_last: date
    site_id: int | None
    partner_id: int | None
    sessions: Figure  # held visio sessions
    people_accompanied: Figure
    desk_requests: Figure
    per_opening_day: Figure
    opening_days: int
    months: list[MonthBar]
    total: SessionLine
    houses: list[SessionLine]  # the largest first: all of them, or as many as asked
    houses_count: int  # the houses with sessions counted
    partners: list[SessionLine]
    motives: list[SessionLine]
    desk_partners: list[DeskLine]
    desk_themes: list[DeskLine]
    desk_channels: list[DeskLine]
    desk_houses: list[DeskLine]
    desk_houses_count: int


@dataclass(frozen=True, slots=True)
class Choices:
    """What the filters offer: the actor's houses and the partners."""

    sites: tuple[tuple[int, str], ...]
    partners: tuple[tuple[int, str], ...]


def year_before(day: date) -> date:
    """The same day a year before (28 February for a 29th)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


async def choices(session: AsyncSession, actor: Actor) -> Choices:
    """The actor's houses and the partners, by name. The houses (thousands for an
    administrator) are kept while the calendars' stamp stays: a house added, renamed or
    removed renews it."""
    require(actor, Action.READ_STATISTICS)
    scope = site_scope(actor)
    connection = await session.connection()  # plain rows
    houses = None if scope.every else tuple(sorted(scope.site_ids))
    stamp = await calendar_stamp(session)
    sites = _kept_sites.get((stamp, houses)) if stamp is not None else None
    if sites is None:
        query = select(Site.id, Site.name).order_by(Site.name, Site.id)
        if houses is not None:
            query = query.where(Site.id.in_(houses))
        sites = tuple((site_id, name) for site_id, name in await connection.execute(query))
        if stamp is not None:
            if len(_kept_sites) >= KEPT_SITE_LISTS:
                _kept_sites.clear()
            _kept_sites[(stamp, houses)] = sites
    partners = select(Partner.id, Partner.name).order_by(Partner.name, Partner.id)
    return Choices(
        sites=sites,
        partners=tuple(
            (partner_id, name) for partner_id, name in await connection.execute(partners)
        ),
    )


# The house lists kept, by stamp and scope (None: every house).
KEPT_SITE_LISTS = 64
_kept_sites: dict[tuple[str, tuple[int, ...] | None], tuple[tuple[int, str], ...]] = {}


async def dashboard(
    session: AsyncSession,
    actor: Actor,
    *,
    first_day: date,
    last_day: date,
    site_id: int | None = None,
    partner_id: int | None = None,
    today: date,
    longest: int | None = None,
) -> Dashboard:
    """The figures of `first_day`…`last_day` (house-local days) against the same days a year
    before, within the actor's houses, for one house and one partner when asked.

    The tables by house hold the `longest` largest houses (a page shows them, with the
    count of all), every house for None (a download). The station occupancy of the whole
    is over every house of the scope, those with no session too."""
    previous_first, previous_last = year_before(first_day), year_before(last_day)
    common = {"site_id": site_id, "partner_id": partner_id}
    scope = site_scope(actor)
    houses = [site_id] if site_id is not None else None if scope.every else sorted(scope.site_ids)
    # The houses' openings once, over both periods, for every grouping of the desk requests.
    opened = await openings(session, houses, min(previous_first, first_day), last_day)

    async def sessions(group_by: Sequence[str], first: date, last: date) -> list[SessionRow]:
        return await session_counts(
            session, actor, group_by=group_by, first_day=first, last_day=last, **common
        )

    async def desk(group_by: Sequence[str], first: date, last: date) -> list[DeskRow]:
        return await desk_counts(
            session, actor, group_by=group_by, first_day=first, last_day=last, today=today,
            opened=opened, **common,
        )  # fmt: skip

    now_months = await sessions(["month"], first_day, last_day)
    then_months = await sessions(["month"], previous_first, previous_last)
    total_now = (await sessions([], first_day, last_day))[0]
    by_site = await houses_by_sessions(
        session, actor, first_day=first_day, last_day=last_day, limit=longest, **common
    )
    by_partner = await sessions(["partner"], first_day, last_day)
    by_motive = await sessions(["motive"], first_day, last_day)
    desk_now = (await desk([], first_day, last_day))[0]
    desk_then = (await desk([], previous_first, previous_last))[0]
    desk_partners = await desk(["partner"], first_day, last_day)
    desk_themes = await desk(["theme"], first_day, last_day)
    desk_channels = await desk(["channel"], first_day, last_day)
    desk_sites = await houses_by_requests(
        session, actor, first_day=first_day, last_day=last_day, today=today, opened=opened,
        limit=longest, **common,
    )  # fmt: skip
    held_then = sum(row.held for row in then_months)
    houses_lines = [
        _line(row, "site",
              station_minutes=opened[site].station_minutes(first_day, last_day)
              if (site := int(str(row.keys["site_id"]))) in opened else None)
        for row in by_site.rows
    ]  # fmt: skip
    total = _line(total_now, "", station_minutes=opened.station_minutes(first_day, last_day))
    return Dashboard(
        first_day=first_day, last_day=last_day, previous_first=previous_first,
        previous_last=previous_last, site_id=site_id, partner_id=partner_id,
        sessions=Figure(total.held, held_then),
        people_accompanied=Figure(desk_now.people_accompanied, desk_then.people_accompanied),
        desk_requests=Figure(desk_now.requests, desk_then.requests),
        per_opening_day=Figure(desk_now.per_opening_day or 0, desk_then.per_opening_day or 0),
        opening_days=desk_now.opening_days,
        months=_months(first_day, last_day, now_months, then_months),
        total=total,
        houses=houses_lines, houses_count=by_site.count,
        partners=sorted((_line(row, "partner") for row in by_partner),
                        key=lambda line: (-line.held, line.name)),
        motives=sorted((_line(row, "motive") for row in by_motive),
                       key=lambda line: (-line.held, line.name)),
        desk_partners=_desk_lines(desk_partners, "partner"),
        desk_themes=_desk_lines(desk_themes, "theme"),
        desk_channels=_desk_lines(desk_channels, "channel"),
        desk_houses=[_desk_line(row, "site") for row in desk_sites.rows],
        desk_houses_count=desk_sites.count,
    )  # fmt: skip


def _line(row: SessionRow, key: str, *, station_minutes: int | None = None) -> SessionLine:
    identifier = row.keys.get(f"{key}_id")
    return SessionLine(
        id=int(str(identifier)) if identifier is not None else None,
        name=str(row.keys.get(f"{key}_name") or ""), held=row.held, no_show=row.no_show,
        agent_absent=row.agent_absent, cancelled=row.cancelled, booked=row.booked,
        minutes=row.minutes, station_minutes=station_minutes,
    )  # fmt: skip


def _desk_line(row: DeskRow, key: str) -> DeskLine:
    if key == "channel":
        identifier: object = row.keys["channel"]
        name = str(identifier)
    else:
        identifier = row.keys.get(f"{key}_id")
        name = str(row.keys.get(f"{key}_name") or "")
    return DeskLine(identifier, name, row.requests, row.people_accompanied, row.per_opening_day)


def _desk_lines(rows: Sequence[DeskRow], key: str) -> list[DeskLine]:
    lines = [_desk_line(row, key) for row in rows]
    return sorted(lines, key=lambda line: (-line.requests, line.name))


def _months(
    first: date, last: date, now: Sequence[SessionRow], then: Sequence[SessionRow]
) -> list[MonthBar]:
    """Every month of the period (none left out for want of sessions), with the same month
    a year before."""
    held_now = {str(row.keys["month"]): row.held for row in now}
    held_then = {str(row.keys["month"]): row.held for row in then}
    bars = []
    month = first.replace(day=1)
    while month <= last:
        label = f"{month.year}-{month.month:02d}"
        before = f"{month.year - 1}-{month.month:02d}"
        bars.append(MonthBar(label, held_now.get(label, 0), held_then.get(before, 0)))
        month = (month + timedelta(days=32)).replace(day=1)
    return bars
