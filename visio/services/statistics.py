"""Statistics of visio sessions and of the desk's tally, read from their counters
(`visio.services.counters`, `visio.services.desk_tally`) and the roll-ups the database
keeps of them: never an appointment, never a citizen, so the counts outlive the erasure of
personal data and cost the same over any history.

A view of some houses reads their daily counters; a view of every house over whole months
or years reads the smallest roll-up that answers it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import bindparam, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import QueryableAttribute

from visio.db.models import (
    Agent,
    DeskRequestCount,
    DeskRollup,
    Motive,
    Partner,
    RequestTheme,
    SessionCount,
    SessionRollup,
    Site,
)
from visio.domain import AppointmentStatus
from visio.i18n import current_locale
from visio.i18n import lazy_gettext as _l
from visio.services.errors import InvalidInput
from visio.services.opening import Openings, openings
from visio.services.permissions import Action, Actor, require, require_site, site_scope

# ---------------------------------------------------------------- reading


# What rows can be grouped by.
GROUP_KEYS = ("year", "month", "week", "day", "site", "partner", "motive", "agent")
DESK_GROUP_KEYS = ("year", "month", "week", "day", "site", "partner", "theme", "channel")
# The longest period a request may cover: a typing slip beyond (and a costly scan).
LONGEST_PERIOD_DAYS = 20 * 366
RowT = TypeVar("RowT")


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One group's counts, by status; `held` is a visio session. `minutes`: the booked
    minutes of the appointments not cancelled."""

    keys: dict[str, object]
    booked: int
    held: int
    no_show: int
    agent_absent: int
    cancelled: int
    minutes: int = 0

    @property
    def total(self) -> int:
        return self.booked + self.held + self.no_show + self.agent_absent + self.cancelled


@dataclass(frozen=True, slots=True)
class DeskRow:
    """One group of desk requests: how many, how many accompanied, from people new this
    year, and people accompanied (both); the opening days of its houses and period, and the
    requests per opening day (None when none opened)."""

    keys: dict[str, object]
    requests: int
    accompanied: int
    new_people: int
    people_accompanied: int
    opening_days: int
    per_opening_day: float | None


@dataclass(frozen=True, slots=True)
class Filters:
    """What a statistics request asks for, checked: the period (house-local days), a house,
    a partner."""

    group_by: tuple[str, ...]
    first_day: date | None
    last_day: date | None
    site_id: int | None = None
    partner_id: int | None = None


def _check(
    actor: Actor, allowed: Sequence[str], group_by: Sequence[str], first_day: date | None,
    last_day: date | None, site_id: int | None, partner_id: int | None,
) -> Filters:  # fmt: skip
    require(actor, Action.READ_STATISTICS)
    unknown = [key for key in group_by if key not in allowed]
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
    return Filters(tuple(dict.fromkeys(group_by)), first_day, last_day, site_id, partner_id)


def _where(query: Any, counts: Any, actor: Actor, filters: Filters) -> Any:
    scope = site_scope(actor)
    if not scope.every:
        query = query.where(counts.site_id.in_(sorted(scope.site_ids)))
    if filters.site_id is not None:
        query = query.where(counts.site_id == filters.site_id)
    if filters.partner_id is not None:
        query = query.where(counts.partner_id == filters.partner_id)
    if filters.first_day is not None:
        query = query.where(counts.day >= filters.first_day)
    if filters.last_day is not None:
        query = query.where(counts.day <= filters.last_day)
    return query


def _period_columns(counts: Any) -> dict[str, list[Any]]:
    return {
        "year": [counts.year],
        "month": [counts.year, counts.month],
        "week": [counts.week],
        "day": [counts.day],
    }


# The roll-ups (migration 0007) the network-wide views read instead of the daily counters:
# each grain, the groupings and filters it can answer, and whether it keeps the month.
# Smallest first: the first that can answer is read.
SESSION_GRAINS: tuple[tuple[str, frozenset[str], bool], ...] = (
    ("partner_motive_month", frozenset({"partner", "motive"}), True),
    ("site_year", frozenset({"site"}), False),
    ("partner_site_year", frozenset({"partner", "site"}), False),
    ("site_month", frozenset({"site"}), True),
)
DESK_GRAINS: tuple[tuple[str, frozenset[str], bool], ...] = (
    ("partner_theme_channel_month", frozenset({"partner", "theme", "channel"}), True),
    ("site_year", frozenset({"site"}), False),
    ("partner_site_year", frozenset({"partner", "site"}), False),
    ("site_month", frozenset({"site"}), True),
)


@dataclass(frozen=True, slots=True)
class Grain:
    """The roll-up a request reads; `unique`: it holds one row per group already (nothing
    to add up)."""

    name: str
    unique: bool


def _grain(
    actor: Actor, filters: Filters, grains: Sequence[tuple[str, frozenset[str], bool]]
) -> Grain | None:
    """The roll-up that answers exactly, or None for the daily counters: for a view of every
    house (houses one by one read their daily counters fast), whole months or years, no day
    or week."""
    if not site_scope(actor).every or filters.site_id is not None:
        return None
    first, last = filters.first_day, filters.last_day
    if first is None or last is None or first.day != 1 or (last + timedelta(days=1)).day != 1:
        return None
    whole_years = (first.month, last.month) == (1, 12)
    grouped = {key for key in filters.group_by if key not in ("year", "month")}
    needed = set(grouped)
    if filters.partner_id is not None:
        needed.add("partner")
    if {"day", "week"} & set(filters.group_by):
        return None
    for grain, kept, monthly in grains:
        if needed <= kept and (monthly or (whole_years and "month" not in filters.group_by)):
            one_year = "year" in filters.group_by or first.year == last.year
            per_month = "month" in filters.group_by
            unique = needed == kept and (per_month or (not monthly and one_year))
            return Grain(grain, unique)
    return None


def _rollup_where(query: Any, rollup: Any, grain: str, filters: Filters) -> Any:
    assert filters.first_day is not None and filters.last_day is not None
    first, last = filters.first_day, filters.last_day
    # The grain written into the statement, not bound: PostgreSQL then plans each grain
    # with its own partial indexes (migration 0009) even once it plans generically.
    named: Any = bindparam("grain", grain, literal_execute=True)
    query = query.where(rollup.grain == named, rollup.year.between(first.year, last.year))
    if (first.month, last.month) != (1, 12):
        query = query.where(
            (rollup.year * 100 + rollup.month).between(
                first.year * 100 + first.month, last.year * 100 + last.month
            )
        )
    if filters.partner_id is not None:
        query = query.where(rollup.partner_id == filters.partner_id)
    elif grain.startswith("site_"):
        # A house's roll-up keeps no partner (0): said, the key narrows to the period's rows.
        query = query.where(rollup.partner_id == 0)
    return query


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
    filters = _check(actor, GROUP_KEYS, group_by, first_day, last_day, site_id, partner_id)
    grain = _grain(actor, filters, SESSION_GRAINS)
    if grain is not None:
        return await _session_rollup(session, filters, grain)
    counts = SessionCount
    columns: dict[str, list[QueryableAttribute[Any]]] = {
        **_period_columns(counts),
        "site": [counts.site_id, Site.name],
        "partner": [counts.partner_id, Partner.name],
        "motive": [counts.motive_id, Motive.name],
        "agent": [counts.agent_id, Agent.name],
    }
    chosen = [column for key in filters.group_by for column in columns[key]]
    query = select(
        *chosen, counts.status, func.sum(counts.count), func.sum(counts.minutes)
    ).group_by(*chosen, counts.status)
    for key, model in (("site", Site), ("partner", Partner), ("motive", Motive), ("agent", Agent)):
        if key in filters.group_by:
            query = query.join(model, model.id == getattr(counts, f"{key}_id"))
    query = _where(query, counts, actor, filters)
    groups: dict[tuple[object, ...], dict[str, int]] = {}
    width = len(chosen)
    for row in await (await session.connection()).execute(query):
        by_status = groups.setdefault(tuple(row[:width]), {"minutes": 0})
        by_status[str(row[width])] = int(row[width + 1] or 0)
        if row[width] != AppointmentStatus.CANCELLED:
            by_status["minutes"] += int(row[width + 2] or 0)
    if not groups and not filters.group_by:
        groups[()] = {"minutes": 0}  # nothing counted: zeros, not an empty answer
    rows = []
    for values, by_status in sorted(groups.items(), key=lambda item: _sortable(item[0])):
        rows.append(
            SessionRow(
                keys=_keys(filters.group_by, values), booked=by_status.get("booked", 0),
                held=by_status.get("held", 0), no_show=by_status.get("no_show", 0),
                agent_absent=by_status.get("agent_absent", 0),
                cancelled=by_status.get("cancelled", 0), minutes=by_status["minutes"],
            )
        )  # fmt: skip
    return rows


async def _session_rollup(
    session: AsyncSession, filters: Filters, grain: Grain
) -> list[SessionRow]:
    """`session_counts` read from one roll-up: the statuses are its columns. Tens of
    thousands of rows for the network's cross-tab: the database sorts them, names come from
    one small statement per kind, and each row is made in one step."""
    rollup = SessionRollup
    columns: dict[str, list[Any]] = {
        "year": [rollup.year],
        "month": [rollup.year, rollup.month],
        "site": [rollup.site_id],
        "partner": [rollup.partner_id],
        "motive": [rollup.motive_id],
    }
    chosen = list(dict.fromkeys(column for key in filters.group_by for column in columns[key]))
    measures = [rollup.held, rollup.no_show, rollup.agent_absent, rollup.cancelled,
                rollup.booked, rollup.minutes]  # fmt: skip
    if grain.unique:  # one row per group: read as they are, in order
        query = select(*chosen, *measures).order_by(*chosen)
    else:
        query = select(*chosen, *(func.sum(measure) for measure in measures))
        if chosen:
            query = query.group_by(*chosen).order_by(*chosen)
    query = _rollup_where(query, rollup, grain.name, filters)
    connection = await session.connection()
    found = (await connection.execute(query)).all()
    make_keys = await _key_maker(connection, filters.group_by, [column.key for column in chosen])
    width = len(chosen)
    rows = []
    for row in found:
        held, no_show, agent_absent, cancelled, booked, minutes = row[width:]
        if chosen and not (held or no_show or agent_absent or cancelled or booked):
            continue  # a roll-up emptied by moves: no group
        rows.append(
            SessionRow(
                make_keys(row),
                int(booked or 0),
                int(held or 0),
                int(no_show or 0),
                int(agent_absent or 0),
                int(cancelled or 0),
                int(minutes or 0),
            )
        )
    return rows


NAMED: dict[str, Any] = {"site": Site, "partner": Partner, "motive": Motive}


async def _key_maker(
    connection: AsyncConnection, group_by: Sequence[str], names: Sequence[str]
) -> Callable[[Sequence[Any]], dict[str, object]]:
    """A function that makes a row's keys as the API names them (`month` "2020-03",
    `site_id` and `site_name`…) from the row's leading columns, `names` (column names)."""
    position = {name: index for index, name in enumerate(names)}
    labels: dict[str, dict[int, str]] = {}
    for key in group_by:
        if key in NAMED:
            model = NAMED[key]
            labels[key] = dict((await connection.execute(select(model.id, model.name))).all())
    steps: list[Callable[[Sequence[Any], dict[str, object]], None]] = []
    for key in dict.fromkeys(group_by):
        if key == "month":

            def month(row: Sequence[Any], keys: dict[str, object],
                      y: int = position["year"], m: int = position["month"]) -> None:  # fmt: skip
                keys["month"] = f"{row[y]}-{row[m]:02d}"

            steps.append(month)
        elif key == "year":

            def year(
                row: Sequence[Any], keys: dict[str, object], y: int = position["year"]
            ) -> None:
                keys["year"] = row[y]

            steps.append(year)
        else:
            at, named = position[f"{key}_id"], labels[key]

            def step(row: Sequence[Any], keys: dict[str, object], at: int = at,
                     key: str = key, named: dict[int, str] = named) -> None:  # fmt: skip
                keys[f"{key}_id"] = row[at] or None
                keys[f"{key}_name"] = named.get(row[at])

            steps.append(step)

    def make(row: Sequence[Any]) -> dict[str, object]:
        keys: dict[str, object] = {}
        for one in steps:
            one(row, keys)
        return keys

    return make


async def desk_counts(
    session: AsyncSession,
    actor: Actor,
    *,
    group_by: Sequence[str],
    first_day: date | None,
    last_day: date | None,
    site_id: int | None = None,
    partner_id: int | None = None,
    today: date,
    opened: Openings | None = None,
) -> list[DeskRow]:
    """The desk requests counted, grouped by any of `DESK_GROUP_KEYS`, within the actor's
    houses, with the requests per opening day of each group's houses and period (a period
    left open ends `today`, and starts at the first request counted).

    A request for no partner in particular has `partner_id` None; so has its theme, for
    one counted before themes were. `opened`: the houses' openings over the period, when the
    caller has them already (the dashboard asks several groupings of one period)."""
    filters = _check(actor, DESK_GROUP_KEYS, group_by, first_day, last_day, site_id, partner_id)
    grain = _grain(actor, filters, DESK_GRAINS)
    counts: Any = DeskRollup if grain is not None else DeskRequestCount
    columns: dict[str, list[Any]] = {
        "year": [counts.year],
        "month": [counts.year, counts.month],
        "week": [getattr(counts, "week", None)],
        "day": [getattr(counts, "day", None)],
        "site": [counts.site_id, Site.name],
        "partner": [counts.partner_id, Partner.name],
        "theme": [counts.theme_id, RequestTheme.name, RequestTheme.name_en],
        "channel": [counts.channel],
    }
    chosen = [column for key in filters.group_by for column in columns[key]]
    if grain is None:  # the period's first and last days counted, for an open period
        bounds: list[Any] = [func.min(counts.day), func.max(counts.day)]
    else:
        assert filters.first_day is not None and filters.last_day is not None
        bounds = [literal(filters.first_day), literal(filters.last_day)]
    measures = [counts.requests, counts.accompanied, counts.new_people, counts.people_accompanied]
    if grain is not None and grain.unique:  # one row per group: read as they are
        query = select(*chosen, *measures, *bounds)
    else:
        query = select(*chosen, *(func.sum(measure) for measure in measures), *bounds)
        if chosen:
            query = query.group_by(*chosen)
    if "site" in filters.group_by:
        query = query.join(Site, Site.id == counts.site_id)
    if "partner" in filters.group_by:
        query = query.outerjoin(Partner, Partner.id == counts.partner_id)
    if "theme" in filters.group_by:
        query = query.outerjoin(RequestTheme, RequestTheme.id == counts.theme_id)
    if grain is None:
        query = _where(query, counts, actor, filters)
    else:
        query = _rollup_where(query, counts, grain.name, filters)
    found = [tuple(row) for row in await (await session.connection()).execute(query)]
    found = [row for row in found if row[len(chosen)]]  # no group without a request
    if not found and filters.group_by:
        return []
    width = len(chosen)
    first = filters.first_day or min((row[width + 4] for row in found), default=today)
    last = filters.last_day or max(max((row[width + 5] for row in found), default=today), today)
    if not found:  # nothing counted: zeros, and the period's opening days
        found = [(0, 0, 0, 0, first, last)]
    scope = site_scope(actor)
    houses: list[int] | None
    if filters.site_id is not None:
        houses = [filters.site_id]
    elif scope.every:
        houses = None
    else:
        houses = sorted(scope.site_ids)
    if opened is None:
        opened = await openings(session, houses, first, last)
    everywhere = opened.union()
    locale = current_locale.get()
    rows = []
    for values in sorted(found, key=lambda row: _sortable(row[:width])):
        keys = _keys(filters.group_by, values[:width], locale=locale)
        days = opened[keys["site_id"]].days if "site_id" in keys else everywhere  # type: ignore[index]
        period_first, period_last = _period_of(keys, first, last)
        opening_days = days.count(period_first, period_last)
        requests = int(values[width] or 0)
        rows.append(
            DeskRow(
                keys=keys, requests=requests, accompanied=int(values[width + 1] or 0),
                new_people=int(values[width + 2] or 0),
                people_accompanied=int(values[width + 3] or 0), opening_days=opening_days,
                per_opening_day=round(requests / opening_days, 1) if opening_days else None,
            )
        )  # fmt: skip
    return rows


@dataclass(frozen=True, slots=True)
class Largest(Generic[RowT]):
    """The groups with the most of a measure, largest first (ties by name), and how many
    groups there are in all."""

    rows: list[RowT]
    count: int


async def houses_by_sessions(
    session: AsyncSession, actor: Actor, *, first_day: date, last_day: date,
    site_id: int | None = None, partner_id: int | None = None, limit: int | None,
) -> Largest[SessionRow]:  # fmt: skip
    """`session_counts` by house, the houses with the most visio sessions held first: the
    first `limit` of them (all for None). Over the network's roll-ups the database sorts
    and cuts, so a page of the largest costs the same for 30 houses or 3,000."""
    filters = _check(actor, GROUP_KEYS, ["site"], first_day, last_day, site_id, partner_id)
    grain = _grain(actor, filters, SESSION_GRAINS)
    if grain is None:
        rows = await session_counts(
            session, actor, group_by=["site"], first_day=first_day, last_day=last_day,
            site_id=site_id, partner_id=partner_id,
        )  # fmt: skip
        rows.sort(key=lambda row: (-row.held, str(row.keys["site_name"]), row.keys["site_id"]))
        return Largest(rows[:limit] if limit is not None else rows, len(rows))
    rollup = SessionRollup
    measures = [rollup.held, rollup.no_show, rollup.agent_absent, rollup.cancelled,
                rollup.booked, rollup.minutes]  # fmt: skip
    found, count = await _largest_sites(session, rollup, measures, filters, grain, limit, counted=5)
    return Largest(
        [SessionRow({"site_id": site, "site_name": name}, booked=int(booked),
                    held=int(held), no_show=int(no_show), agent_absent=int(agent_absent),
                    cancelled=int(cancelled), minutes=int(minutes))
         for site, name, held, no_show, agent_absent, cancelled, booked, minutes in found],
        count,
    )  # fmt: skip


async def houses_by_requests(
    session: AsyncSession, actor: Actor, *, first_day: date, last_day: date,
    site_id: int | None = None, partner_id: int | None = None, today: date,
    opened: Openings | None = None, limit: int | None,
) -> Largest[DeskRow]:  # fmt: skip
    """`desk_counts` by house, the houses with the most desk requests first: the first
    `limit` of them (all for None), sorted and cut by the database over the roll-ups."""
    filters = _check(actor, DESK_GROUP_KEYS, ["site"], first_day, last_day, site_id, partner_id)
    grain = _grain(actor, filters, DESK_GRAINS)
    if grain is None:
        rows = await desk_counts(
            session, actor, group_by=["site"], first_day=first_day, last_day=last_day,
            site_id=site_id, partner_id=partner_id, today=today, opened=opened,
        )  # fmt: skip
        rows.sort(key=lambda row: (-row.requests, str(row.keys["site_name"]), row.keys["site_id"]))
        return Largest(rows[:limit] if limit is not None else rows, len(rows))
    rollup = DeskRollup
    measures = [rollup.requests, rollup.accompanied, rollup.new_people,
                rollup.people_accompanied]  # fmt: skip
    found, count = await _largest_sites(session, rollup, measures, filters, grain, limit, counted=1)
    if opened is None:
        opened = await openings(session, None, first_day, last_day)
    rows = []
    for site, name, requests, accompanied, new_people, people_accompanied in found:
        days = opened[site].days.count(first_day, last_day) if site in opened else 0
        rows.append(
            DeskRow({"site_id": site, "site_name": name}, requests=int(requests),
                    accompanied=int(accompanied), new_people=int(new_people),
                    people_accompanied=int(people_accompanied), opening_days=days,
                    per_opening_day=round(requests / days, 1) if days else None)
        )  # fmt: skip
    return Largest(rows, count)


async def _largest_sites(
    session: AsyncSession, rollup: Any, measures: Sequence[Any], filters: Filters,
    grain: Grain, limit: int | None, counted: int,
) -> tuple[list[Any], int]:  # fmt: skip
    """A roll-up's houses with their measures and names, the first measure's largest first
    (ties by name), the first `limit`; and how many houses have anything counted in the
    first `counted` measures (a house whose counts moves emptied is no group)."""
    if grain.unique:
        inner = select(rollup.site_id, *measures)
    else:
        inner = select(
            rollup.site_id, *(func.sum(measure).label(measure.key) for measure in measures)
        ).group_by(rollup.site_id)
    grouped = _rollup_where(inner, rollup, grain.name, filters).subquery()
    values = [grouped.c[measure.key] for measure in measures]
    query = (
        select(grouped.c.site_id, Site.name, *values, func.count().over())
        .join(Site, Site.id == grouped.c.site_id)
        .where(functools.reduce(operator.add, values[:counted]) > 0)
        .order_by(values[0].desc(), Site.name, Site.id)
        .limit(limit)
    )
    found = (await (await session.connection()).execute(query)).all()
    return [row[:-1] for row in found], int(found[0][-1]) if found else 0


def _period_of(keys: dict[str, object], first: date, last: date) -> tuple[date, date]:
    """The days of a row's period (its day, week, month or year) within `first`…`last`."""
    if isinstance(keys.get("day"), str):
        day = date.fromisoformat(str(keys["day"]))
        return day, day
    if isinstance(keys.get("week"), str):
        iso_year, iso_week = str(keys["week"]).split("-W")
        monday = date.fromisocalendar(int(iso_year), int(iso_week), 1)
        return max(first, monday), min(last, monday + timedelta(days=6))
    if isinstance(keys.get("month"), str):
        year, month = (int(part) for part in str(keys["month"]).split("-"))
        following = date(year + month // 12, month % 12 + 1, 1)
        return max(first, date(year, month, 1)), min(last, following - timedelta(days=1))
    if isinstance(keys.get("year"), int):
        whole = int(str(keys["year"]))
        return max(first, date(whole, 1, 1)), min(last, date(whole, 12, 31))
    return first, last


def _sortable(values: tuple[object, ...]) -> tuple[str, ...]:
    return tuple(
        f"{value:020d}" if isinstance(value, int) else "" if value is None else str(value)
        for value in values
    )


def _keys(
    group_by: Sequence[str], values: Sequence[object], *, locale: str = "fr"
) -> dict[str, object]:
    """The group's keys as the API names them: `month` "2020-03", `day` "2020-03-16",
    `site` its id and `site_name`, `theme` its id and name in the locale…"""
    keys: dict[str, object] = {}
    position = 0
    for key in dict.fromkeys(group_by):
        if key == "month":
            year, month = values[position], values[position + 1]
            keys["month"] = f"{year}-{month:02d}"
            position += 2
        elif key == "theme":
            theme_id, name, name_en = values[position : position + 3]
            keys["theme_id"] = theme_id or None
            keys["theme_name"] = (name_en if locale == "en" else name) if theme_id else None
            position += 3
        elif key in ("site", "partner", "motive", "agent"):
            keys[f"{key}_id"] = values[position] or None
            keys[f"{key}_name"] = values[position + 1]
            position += 2
        else:
            value = values[position]
            keys[key] = (
                value.isoformat()
                if isinstance(value, date)
                else str(value)
                if key == "channel"
                else value
            )
            position += 1
    return keys


# ---------------------------------------------------------------- the network's cross-tab

STATUS_NAMES = tuple(status.value for status in AppointmentStatus)


@dataclass(frozen=True, slots=True)
class CrossRow:
    """One house's appointments of one status, month by month (January first), and their
    total over the year."""

    site_id: int
    site_name: str
    months: tuple[int, ...]
    total: int


async def crosstab(
    session: AsyncSession,
    actor: Actor,
    *,
    year: int,
    status: str = AppointmentStatus.HELD.value,
    partner_id: int | None = None,
) -> list[CrossRow]:
    """The houses × months table of one year (`held`: the visio sessions), one row per house
    of the actor's scope that had any, pivoted by the database: thousands of houses, twelve
    months, one statement whose answer has one row per house."""
    require(actor, Action.READ_STATISTICS)
    if status not in STATUS_NAMES:
        raise InvalidInput(fields={"status": _l("Unknown status: %(keys)s.", keys=status)})
    if not 2000 <= year <= 2100:
        raise InvalidInput(fields={"year": _l("A year from 2000 to 2100.")})
    scope = site_scope(actor)
    if scope.every and partner_id is None:
        rollup = SessionRollup
        value: Any = getattr(rollup, status)
        query = select(
            rollup.site_id,
            *(func.sum(case((rollup.month == month, value), else_=0)) for month in range(1, 13)),
        ).where(rollup.grain == "site_month", rollup.partner_id == 0, rollup.year == year)
        site = rollup.site_id
    else:
        counts = SessionCount
        query = select(
            counts.site_id,
            *(func.sum(case((counts.month == month, counts.count), else_=0))
              for month in range(1, 13)),
        ).where(
            counts.day.between(date(year, 1, 1), date(year, 12, 31)), counts.status == status
        )  # fmt: skip
        if not scope.every:
            query = query.where(counts.site_id.in_(sorted(scope.site_ids)))
        if partner_id is not None:
            query = query.where(counts.partner_id == partner_id)
        site = counts.site_id
    connection = await session.connection()
    found = (await connection.execute(query.group_by(site).order_by(site))).all()
    names = dict((await connection.execute(select(Site.id, Site.name))).all())
    rows = []
    for site_id, *months in found:
        counted = tuple(int(count or 0) for count in months)
        total = sum(counted)
        if total:
            rows.append(CrossRow(site_id, names.get(site_id, ""), counted, total))
    return rows
