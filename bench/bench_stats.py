"""Statistics: the coordinator's dashboard and the network's cross-tab, read from the counters
and their roll-ups, at two sizes of history, on SQLite or PostgreSQL.

Builds a scratch database at the head migration with 2,800 houses (Monday to Friday,
9:00-12:00 and 14:00-17:00 in Paris, one or two stations each), 7 partners with 2 to 4
motives each and 350 agents, then a small history (10,000 appointments and 30,000 desk
requests spread over 2017-2026), copies it aside, and grows it to the full one (1,000,000
appointments and 3,000,000 requests by default). Appointments never overlap for an agent or
a station (PostgreSQL's exclusion constraints hold them to it); most past ones are held,
some missed by either side or cancelled, the last ones still booked. Desk requests have a
theme of the seeded `request_themes`, a channel, a partner or none, and their "accompanied"
and "new person" flags. Rows go in by COPY on PostgreSQL, by executemany on SQLite.

The counters are filled on the small set by the services' own `rebuild` (the roll-ups by
their triggers) and by INSERT ... SELECT ... GROUP BY (the triggers off, the roll-ups added
up from the daily counters), which must give the same rows in all four tables; the full set
is counted the second way (or `--counters rebuild`). The databases are then as a server
finds them: PostgreSQL vacuumed and analysed (autovacuum would), SQLite not analysed (visio
never runs ANALYZE), its WAL checkpointed.

Measured for 2026 (against 2025), p50 and p95 of `--repeat` calls after `--warmup`, each
in a session and transaction of its own as a request has; the small and the large set in
turn, call by call, so that both meet the same noise of a shared machine:

- one house's dashboard (an admin, site_id=): each call `dashboard.dashboard` makes (the
  houses' openings among them, and its tables by house: the 50 largest, as the page shows
  them), then `dashboard()` whole; and, as the API and the downloads answer them, the
  tables by house with every house;
- one partner's dashboard (partner_id=, every house), the same way;
- the network's cross-tab, sessions by house and month (2,800 houses x 12 months), pivoted
  by the database, one row per house (crosstab, as GET /api/v1/stats/sessions/crosstab
  answers) with its CSV export (csv_text, French, semicolons), and for comparison the
  same figures as one row per house and month (session_counts); the page's filters
  (choices);
- once visio has a GET /stats route (or with `--page`), `visio serve` in a process of its
  own per set: GET /stats for the house and for the partner, signed in through /login,
  beside GET /healthz in the same rounds (round trips on loopback; their difference is the
  page's own work);
- the same-run baselines: for the dashboards whole, the cross-tab and its CSV export, the
  very statements the call ran last, replayed bare with their parameters through the
  driver (`exec_driver_sql`, rows fetched, nothing built from them), timed as the calls are
  on both sets: the database's part of the work without visio's Python around it; beside
  the page, GET /select of the bare aiohttp server of bench/baseline.py (one SELECT of ten
  rows, same database and engine settings, no sign-in) in a process of its own per set,
  asked in the same rounds. These figures (large set, p95) are marked as results for
  `python -m bench` (bench/report.py) beside their baselines.

Prints each figure on both sets with the ratio large/small, the counter rows each scope
holds in 2026 (a scope whose rows grew a hundredfold grows with its data, not its history),
the SQL statements and SQL time of a call, the longest garbage collector pause within a
call, and the verdict against the targets of 2026-12: every query p95 <= 10 ms, the page
p95 <= 60 ms (dashboard() is held to it too), the cross-tab p95 <= 100 ms (a table of every
house too), its CSV export p95 <= 300 ms, the dashboards' and the page's large/small p95
<= 2 (or within 1 ms: sub-millisecond figures jitter). With
`--explain`, the plan of the slowest statement of each call over its target (EXPLAIN QUERY
PLAN; on PostgreSQL EXPLAIN (ANALYZE, BUFFERS)).

    python bench/bench_stats.py                                   # SQLite, 1M / 3M
    python bench/bench_stats.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python bench/bench_stats.py --quick                           # 100,000 / 300,000
    python bench/bench_stats.py --appointments 300000 --requests 900000 --explain

The PostgreSQL database named is used to create (and drop) scratch databases beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import inspect
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import Column as SqlColumn
from sqlalchemy import (
    Date,
    Integer,
    MetaData,
    String,
    Table,
    case,
    cast,
    delete,
    event,
    extract,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import SELECT_ROWS
from bench_booking import bare_server, free_port, wait_ready
from bench_pages import sign_in
from bench_slots import percentile, scratch_database
from report import result

from visio.app import create_app
from visio.db.base import Base, table
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import (
    Agent,
    Appointment,
    DeskRequest,
    DeskRequestCount,
    DeskRollup,
    Motive,
    OpeningHour,
    Partner,
    RequestTheme,
    SessionCount,
    SessionRollup,
    Site,
    Station,
)
from visio.db.statements.statistics import DeskMeasures, periods
from visio.domain import AppointmentStatus, RequestChannel, Role
from visio.handlers.statistics import crosstab_table, session_table
from visio.handlers.stats_pages import SHOWN_ROWS
from visio.handlers.tables import csv_text
from visio.scheduling import public_holidays
from visio.services import accounts, counters, dashboard, desk_tally
from visio.services import statistics as stats
from visio.services.opening import openings
from visio.services.permissions import Actor
from visio.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)  # a Wednesday, 12:00 in Paris
TODAY = NOW.astimezone(PARIS).date()
FIRST_DAY, LAST_DAY = date(2017, 1, 1), date(2026, 12, 31)  # the history
YEAR_FIRST, YEAR_LAST = date(2026, 1, 1), date(2026, 12, 31)  # the period measured
HOUSES, PARTNERS, AGENTS = 2_800, 7, 350
HALF_DAYS = ((wall(9), wall(12)), (wall(14), wall(17)))
CELL = timedelta(minutes=30)  # an appointment and its buffers fit in one cell
SECRET = "bench-stats-" + "s" * 40
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@bench.example", "bench-stats-password"
ADMIN = Actor(user_id=1, email=ADMIN_EMAIL, name="Admin", role=Role.ADMIN, locale="fr")

# Targets (2026-12), on p95.
QUERY_MS, PAGE_MS, CROSS_TAB_MS, CSV_MS, GROWTH = 10.0, 60.0, 100.0, 300.0, 2.0
# The pages measured: one house's dashboard, one partner's (every house).
PAGE_PATHS = (
    "/stats?site_id={site_id}&from={first}&to={last}",
    "/stats?partner_id={partner_id}&from={first}&to={last}",
)
NOISE_MS = 1.0
# The figures marked as results, each with the row of its statements replayed bare; and
# the page's baseline: the bare server of bench/baseline.py.
HEADLINE = {
    "house: dashboard() whole": "baseline: house dashboard's SQL bare",
    "partner: dashboard() whole": "baseline: partner dashboard's SQL bare",
    "network: pivoted cross-tab house x month": "baseline: cross-tab's SQL bare",
    "network: pivoted cross-tab CSV export": "baseline: cross-tab CSV's SQL bare",
}
BARE_PAGE = "page: bare GET /select (baseline.py)"

# Past appointments' outcomes; the future ones are booked, or cancelled already.
PAST_STATUSES = (
    (AppointmentStatus.HELD, 78), (AppointmentStatus.NO_SHOW, 8),
    (AppointmentStatus.AGENT_ABSENT, 2), (AppointmentStatus.CANCELLED, 10),
    (AppointmentStatus.BOOKED, 2),
)  # fmt: skip
FUTURE_STATUSES = ((AppointmentStatus.BOOKED, 90), (AppointmentStatus.CANCELLED, 10))
CHANNELS = (
    (RequestChannel.IN_PERSON, 62), (RequestChannel.PHONE, 24), (RequestChannel.EMAIL, 8),
    (RequestChannel.VISIO, 6),
)  # fmt: skip
APPOINTMENT_COLUMNS = (
    "id", "site_id", "station_id", "partner_id", "motive_id", "agent_id", "start_at", "end_at",
    "busy_from", "busy_until", "status", "room", "created_at", "updated_at",
)  # fmt: skip
# Tables given their ids here: PostgreSQL's sequences are moved past them afterwards.
EXPLICIT_IDS = ("sites", "stations", "partners", "motives", "agents", "appointments",
                "desk_requests")  # fmt: skip
REQUEST_COLUMNS = (
    "id", "site_id", "partner_id", "theme_id", "channel", "accompanied", "new_person", "at", "day",
)  # fmt: skip


@dataclass(frozen=True)
class Network:
    """The houses, partners and agents generated, as the history's generators need them."""

    site_ids: list[int]
    stations: dict[int, list[int]]  # site -> its stations
    agents: list[tuple[int, int]]  # (agent, its partner)
    motives: dict[int, list[tuple[int, int, int]]]  # partner -> (motive, minutes, buffer after)
    theme_ids: list[int]
    partner_ids: list[int]
    open_days: list[date]  # the history's opening days (Monday to Friday, no holiday)


@dataclass
class Timing:
    """One measured call: its times, SQL time and statements per call, rows answered."""

    total: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    statements: set[int] = field(default_factory=set)
    rows: int = 0
    gc: list[float] = field(default_factory=list)  # the garbage collector's pauses, per call
    # The last call's statements: (SQL, parameters, ms), for --explain.
    executed: list[tuple[str, Any, float]] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.total)

    @property
    def p95(self) -> float:
        return percentile(self.total, 0.95)


@dataclass
class Measured:
    """One data set's figures: timings by name, and the counter rows each scope covers."""

    appointments: int
    requests: int
    session_counters: int
    desk_counters: int
    timings: dict[str, Timing] = field(default_factory=dict)
    scope_rows: dict[str, tuple[int, int]] = field(default_factory=dict)


def weighted(choices: Sequence[tuple[Any, int]]) -> Callable[[float], Any]:
    """A draw by weight: the value for a uniform number in [0, 1)."""
    values = [value for value, _weight in choices]
    cumulative, total = [], 0
    for _value, weight in choices:
        total += weight
        cumulative.append(total)
    return lambda uniform: values[bisect.bisect_right(cumulative, uniform * total)]


def sqlite_stamp(moment: datetime) -> str:
    """A UTC instant as SQLAlchemy stores it in SQLite (naive UTC, microseconds always)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# ---------------------------------------------------------------- the network


async def populate_network(engine: AsyncEngine, seed: int) -> Network:
    """Houses with their opening hours and stations, partners, motives, agents, and the
    admin account the page is read by."""
    rng = random.Random(f"{seed}:network")
    site_rows, hour_rows, station_rows = [], [], []
    stations: dict[int, list[int]] = {}
    for site_id in range(1, HOUSES + 1):
        site_rows.append({
            "id": site_id, "name": f"France Services {site_id:04d}",
            "commune": f"Commune {site_id:04d}", "timezone": "Europe/Paris", "created_at": NOW,
        })  # fmt: skip
        hour_rows += [
            {"site_id": site_id, "weekday": weekday, "start": start, "end": end}
            for weekday in range(1, 6)
            for start, end in HALF_DAYS
        ]
        stations[site_id] = []
        for number in range(1, rng.choice((1, 1, 2)) + 1):
            station_id = len(station_rows) + 1
            station_rows.append({"id": station_id, "site_id": site_id,
                                 "name": f"Cabine {number}", "created_at": NOW})  # fmt: skip
            stations[site_id].append(station_id)
    partner_rows, motive_rows = [], []
    motives: dict[int, list[tuple[int, int, int]]] = {}
    for partner_id in range(1, PARTNERS + 1):
        partner_rows.append(
            {"id": partner_id, "code": f"P{partner_id}", "name": f"Partenaire {partner_id}",
             "created_at": NOW}
        )  # fmt: skip
        motives[partner_id] = []
        for number in range(rng.randint(2, 4)):
            motive_id = len(motive_rows) + 1
            minutes, buffer = rng.choice(((20, 0), (20, 10), (30, 0)))
            motive_rows.append({
                "id": motive_id, "partner_id": partner_id, "name": f"Motif {partner_id}.{number}",
                "duration_minutes": minutes, "buffer_after_minutes": buffer,
                "min_notice_minutes": 60, "horizon_days": 60, "documents": [],
                "reminder_offsets": [1440, 60],
            })  # fmt: skip
            motives[partner_id].append((motive_id, minutes, buffer))
    agents = [(agent_id, (agent_id - 1) % PARTNERS + 1) for agent_id in range(1, AGENTS + 1)]
    agent_rows = [
        {"id": agent_id, "partner_id": partner_id, "name": f"Agent {agent_id}",
         "email": f"agent{agent_id}@bench.example", "timezone": "Europe/Paris", "locale": "fr",
         "created_at": NOW}
        for agent_id, partner_id in agents
    ]  # fmt: skip
    sessions = make_sessionmaker(engine)
    async with sessions() as session, session.begin():
        for model, rows in (
            (Site, site_rows), (OpeningHour, hour_rows), (Station, station_rows),
            (Partner, partner_rows), (Motive, motive_rows), (Agent, agent_rows),
        ):  # fmt: skip
            for first in range(0, len(rows), 5_000):
                await session.execute(insert(model), rows[first : first + 5_000])
        theme_ids = list(await session.scalars(select(RequestTheme.id).order_by("position")))
        await accounts.create_user(
            session, None, email=ADMIN_EMAIL, name="Admin", role=Role.ADMIN, now=NOW,
            password=ADMIN_PASSWORD,
        )  # fmt: skip
    holidays = public_holidays(None, FIRST_DAY, LAST_DAY)
    open_days = [
        day
        for day in (FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1))
        if day.weekday() < 5 and day not in holidays
    ]
    return Network(
        site_ids=[row["id"] for row in site_rows], stations=stations, agents=agents,
        motives=motives, theme_ids=theme_ids, partner_ids=[row["id"] for row in partner_rows],
        open_days=open_days,
    )  # fmt: skip


# ---------------------------------------------------------------- the history


class AppointmentPlan:
    """Where appointment number i goes, never clashing with another.

    The history's time is cut into 30-minute cells (opening days x 12). Appointment i takes
    cell `order[i % cells]` in round `i // cells`: a cell's rounds go to distinct agents
    (consecutive ones from the cell's own offset) at distinct houses (a step coprime with
    the number of houses from another offset), so no agent and no station is busy twice at
    once, and the first appointments are spread over the whole history."""

    def __init__(self, network: Network, seed: int) -> None:
        rng = random.Random(f"{seed}:cells")
        self.network = network
        self.cells: list[tuple[datetime, date]] = []  # (start in UTC, house-local day)
        for day in network.open_days:
            for opens, closes in HALF_DAYS:
                start = datetime.combine(day, opens)
                while start.time() < closes:
                    self.cells.append((start.replace(tzinfo=PARIS).astimezone(UTC), day))
                    start += CELL
        self.order = list(range(len(self.cells)))
        rng.shuffle(self.order)
        self.agent_offset = [rng.randrange(AGENTS) for _ in self.cells]
        self.site_offset = [rng.randrange(HOUSES) for _ in self.cells]
        self.step = next(n for n in range(97, HOUSES) if math.gcd(n, HOUSES) == 1)

    def capacity(self) -> int:
        return len(self.cells) * min(AGENTS, HOUSES)

    def rows(self, first: int, stop: int, seed: int, sqlite: bool) -> Iterator[tuple[Any, ...]]:
        """Appointments number `first` to `stop - 1` as rows of APPOINTMENT_COLUMNS."""
        if stop > self.capacity():
            raise SystemExit(f"at most {self.capacity()} appointments fit without clashing")
        rng = random.Random(f"{seed}:appointments:{first}")
        network, cells = self.network, len(self.cells)
        past, future = weighted(PAST_STATUSES), weighted(FUTURE_STATUSES)
        uniform = rng.random

        def stamp(start: datetime, minutes: int = 0) -> Any:
            """`minutes` after a cell's start (never past its UTC day), as stored."""
            if not sqlite:
                return start + timedelta(minutes=minutes)
            of_day = start.hour * 60 + start.minute + minutes
            return f"{start:%Y-%m-%d} {of_day // 60:02d}:{of_day % 60:02d}:00.000000"

        for number in range(first, stop):
            round_, position = divmod(number, cells)
            cell = self.order[position]
            start, _day = self.cells[cell]
            agent_id, partner_id = network.agents[(self.agent_offset[cell] + round_) % AGENTS]
            site_id = network.site_ids[(self.site_offset[cell] + round_ * self.step) % HOUSES]
            stations, motives = network.stations[site_id], network.motives[partner_id]
            station_id = stations[int(uniform() * len(stations))]
            motive_id, minutes, buffer = motives[int(uniform() * len(motives))]
            status = (past if start < NOW else future)(uniform())
            booked = start - timedelta(days=1 + int(uniform() * 40), minutes=int(uniform() * 600))
            booked_at = sqlite_stamp(booked) if sqlite else booked
            yield (
                number + 1, site_id, station_id, partner_id, motive_id, agent_id, stamp(start),
                stamp(start, minutes), stamp(start), stamp(start, minutes + buffer),
                status.value, f"visio-{rng.getrandbits(104):026x}", booked_at, booked_at,
            )  # fmt: skip


def request_rows(
    network: Network, first: int, stop: int, seed: int, sqlite: bool
) -> Iterator[tuple[Any, ...]]:
    """Desk requests number `first` to `stop - 1` as rows of REQUEST_COLUMNS: a house, an
    opening day up to today, a minute of its opening hours."""
    uniform = random.Random(f"{seed}:requests:{first}").random
    # Each opening day up to today with its 9:00 and 14:00 in UTC (on the same UTC day).
    days = [
        (day, day.isoformat(),
         [datetime.combine(day, opens, PARIS).astimezone(UTC) for opens, _ in HALF_DAYS])
        for day in network.open_days
        if day <= TODAY
    ]  # fmt: skip
    channel = weighted(CHANNELS)
    partners = [None, None, *network.partner_ids]
    sites, themes = network.site_ids, network.theme_ids
    for number in range(first, stop):
        day, iso_day, opens = days[int(uniform() * len(days))]
        minute, second = int(uniform() * 360), int(uniform() * 60)
        half = opens[minute // 180]
        if sqlite:
            minutes = half.hour * 60 + half.minute + minute % 180
            at: Any = f"{iso_day} {minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.000000"
        else:
            at = half + timedelta(minutes=minute % 180, seconds=second)
        accompanied = uniform() < 0.35
        yield (
            number + 1, sites[int(uniform() * len(sites))],
            partners[int(uniform() * len(partners))], themes[int(uniform() * len(themes))],
            channel(uniform()).value, accompanied, uniform() < (0.5 if accompanied else 0.2), at,
            iso_day if sqlite else day,
        )  # fmt: skip


def batches(rows: Iterator[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    while batch := [row for _, row in zip(range(size), rows, strict=False)]:
        yield batch


async def bulk_insert(
    engine: AsyncEngine, url: str, model: type[Base], columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
) -> None:  # fmt: skip
    """Rows in batches of 50,000: COPY on PostgreSQL, a transaction a batch; on SQLite
    executemany of plain tuples (values as SQLAlchemy stores them) on a connection of its
    own with a large page cache, in one transaction, then a checkpoint: a transaction a
    batch would copy the pages of every index into the WAL at each commit (10 GB of WAL
    for 1,000,000 appointments)."""
    name = table(model).name
    if engine.dialect.name == "postgresql":
        for batch in batches(rows):
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))  # the transaction begins
                raw = await connection.get_raw_connection()
                await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
                    name, records=batch, columns=list(columns)
                )
        return
    await engine.dispose()  # its connection would keep an older snapshot of the WAL
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608

    def load() -> None:
        direct = sqlite3.connect(make_url(url).database or "", isolation_level=None)
        try:
            direct.execute("PRAGMA cache_size = -524288")  # 512 MB, for this load only
            direct.execute("BEGIN IMMEDIATE")
            for batch in batches(rows):
                direct.executemany(statement, batch)
            direct.execute("COMMIT")
            direct.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        finally:
            direct.close()

    await asyncio.to_thread(load)


async def grow(
    engine: AsyncEngine, network: Network, plan: AppointmentPlan, seed: int,
    appointments: tuple[int, int], requests: tuple[int, int],
) -> None:  # fmt: skip
    """Add appointments and desk requests numbered from the first to the second of each."""
    sqlite = engine.dialect.name == "sqlite"
    url = engine.url.render_as_string(hide_password=False)
    await bulk_insert(
        engine, url, Appointment, APPOINTMENT_COLUMNS, plan.rows(*appointments, seed, sqlite)
    )
    await bulk_insert(
        engine, url, DeskRequest, REQUEST_COLUMNS, request_rows(network, *requests, seed, sqlite)
    )
    if not sqlite:
        async with engine.begin() as connection:
            for name in EXPLICIT_IDS:
                sequence = f"pg_get_serial_sequence('{name}', 'id')"
                maximum = f"(SELECT max(id) FROM {name})"  # noqa: S608
                await connection.execute(text(f"SELECT setval({sequence}, {maximum})"))


# ---------------------------------------------------------------- the counters


def local_day_sqlite(start_at: str, zone: str) -> str:
    """An appointment's day on its house's calendar (registered in SQLite)."""
    moment = datetime.fromisoformat(start_at).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(zone)).date().isoformat()


async def count_by_sql(engine: AsyncEngine) -> None:
    """Fresh counters from one INSERT ... SELECT ... GROUP BY per table, with each day's
    year, month and ISO week from a temporary calendar; the roll-up triggers off meanwhile
    (a trigger a counter: 9 minutes for 4,000,000 counters on PostgreSQL), the roll-ups
    then added up from the daily counters, one INSERT ... SELECT per grain."""
    calendar = Table(
        "bench_calendar", MetaData(), SqlColumn("day", Date, primary_key=True),
        SqlColumn("year", Integer), SqlColumn("month", Integer), SqlColumn("week", String(8)),
        prefixes=["TEMPORARY"],
    )  # fmt: skip
    days = [FIRST_DAY - timedelta(days=1) + timedelta(days=n) for n in range(3_660 + 3)]
    async with engine.begin() as connection:
        await connection.run_sync(calendar.create)
        await connection.execute(insert(calendar), [{"day": day, **periods(day)} for day in days])
        if connection.dialect.name == "sqlite":
            # A large page cache for these inserts only: the connection goes with the engine.
            await connection.exec_driver_sql("PRAGMA cache_size = -524288")
            raw = await connection.get_raw_connection()
            raw.dbapi_connection.driver.create_function(  # type: ignore[union-attr]
                "bench_local_day", 2, local_day_sqlite, deterministic=True
            )
            local_day: Any = func.bench_local_day(Appointment.start_at, Site.timezone)
            minutes: Any = func.round(
                (func.julianday(Appointment.end_at) - func.julianday(Appointment.start_at)) * 1440
            )
        else:
            local_day = cast(func.timezone(Site.timezone, Appointment.start_at), Date)
            minutes = func.round(extract("epoch", Appointment.end_at - Appointment.start_at) / 60)
        for model in (SessionRollup, SessionCount, DeskRollup, DeskRequestCount):
            await connection.execute(delete(model))
        triggers = await triggers_off(connection)
        keys = (Appointment.site_id, calendar.c.day, Appointment.partner_id,
                Appointment.motive_id, Appointment.agent_id, Appointment.status,
                calendar.c.year, calendar.c.month, calendar.c.week)  # fmt: skip
        sessions = (
            select(*keys, func.count(), func.sum(cast(minutes, Integer)))
            .select_from(Appointment)
            .join(Site, Site.id == Appointment.site_id)
            .join(calendar, calendar.c.day == local_day)
            .group_by(*keys)
        )
        await connection.execute(
            insert(SessionCount).from_select(
                ["site_id", "day", "partner_id", "motive_id", "agent_id", "status", "year",
                 "month", "week", "count", "minutes"],
                sessions,
            )
        )  # fmt: skip

        def flag(condition: Any) -> Any:
            return func.sum(case((condition, 1), else_=0))

        desk_keys = (DeskRequest.site_id, DeskRequest.day,
                     func.coalesce(DeskRequest.partner_id, 0),
                     func.coalesce(DeskRequest.theme_id, 0), DeskRequest.channel,
                     calendar.c.year, calendar.c.month, calendar.c.week)  # fmt: skip
        desk = (
            select(
                *desk_keys, func.count(), flag(DeskRequest.accompanied),
                flag(DeskRequest.new_person),
                flag(DeskRequest.accompanied & DeskRequest.new_person),
            )
            .join(calendar, calendar.c.day == DeskRequest.day)
            .group_by(*desk_keys)
        )  # fmt: skip
        await connection.execute(
            insert(DeskRequestCount).from_select(
                ["site_id", "day", "partner_id", "theme_id", "channel", "year", "month", "week",
                 "requests", "accompanied", "new_people", "people_accompanied"],
                desk,
            )
        )  # fmt: skip
        await connection.run_sync(calendar.drop)
        for statement in rollups():
            await connection.execute(statement)
        await triggers_on(connection, triggers)


COUNTED = (SessionCount.__tablename__, DeskRequestCount.__tablename__)


async def triggers_off(connection: AsyncConnection) -> list[str]:
    """The daily counters' triggers off (in this transaction); what puts them back."""
    if connection.dialect.name == "postgresql":
        for name in COUNTED:
            await connection.execute(text(f"ALTER TABLE {name} DISABLE TRIGGER USER"))
        return [f"ALTER TABLE {name} ENABLE TRIGGER USER" for name in COUNTED]
    found = await connection.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN "
             "(:one, :other)").bindparams(one=COUNTED[0], other=COUNTED[1])
    )  # fmt: skip
    statements = []
    for name, statement in found.all():
        await connection.execute(text(f'DROP TRIGGER "{name}"'))
        statements.append(statement)
    return statements


async def triggers_on(connection: AsyncConnection, statements: Sequence[str]) -> None:
    for statement in statements:
        await connection.exec_driver_sql(statement)


def rollups() -> list[Any]:
    """INSERT ... SELECT of each roll-up from the daily counters, by the grains the
    statistics service reads (the dimensions a grain drops hold 0, '' for the channel; a
    yearly grain's month 0)."""
    statements = []
    dimensions = {"partner": "partner_id", "site": "site_id", "motive": "motive_id",
                  "theme": "theme_id", "channel": "channel"}  # fmt: skip
    for rollup, counts, grains in (
        (SessionRollup, SessionCount, stats.SESSION_GRAINS),
        (DeskRollup, DeskRequestCount, stats.DESK_GRAINS),
    ):
        source, target = table(counts), table(rollup)
        if rollup is SessionRollup:
            measures = {
                status.value: func.sum(case((source.c.status == status.value, source.c.count),
                                            else_=0))
                for status in AppointmentStatus
            }  # fmt: skip
            measures["minutes"] = func.sum(
                case((source.c.status != AppointmentStatus.CANCELLED.value, source.c.minutes),
                     else_=0)
            )  # fmt: skip
        else:
            measures = {name: func.sum(source.c[name]) for name in DeskMeasures._fields}
        for grain, kept, monthly in grains:
            kept_columns = {dimensions[key] for key in kept}
            groups = [source.c[name] for name in sorted(kept_columns)] + [source.c.year]
            values: dict[str, Any] = {"grain": literal(grain), "year": source.c.year}
            values["month"] = source.c.month if monthly else literal(0)
            if monthly:
                groups.append(source.c.month)
            for name in (column.name for column in target.primary_key.columns):
                if name in values:
                    continue
                if name in kept_columns:
                    values[name] = source.c[name]
                else:
                    values[name] = literal("" if name == "channel" else 0)
            values.update(measures)
            statements.append(
                insert(target).from_select(list(values), select(*values.values()).group_by(*groups))
            )
    return statements


async def count_by_rebuild(engine: AsyncEngine) -> None:
    """Fresh counters from the services' own recount (`visio stats rebuild`)."""
    async with make_sessionmaker(engine)() as session, session.begin():
        await counters.rebuild(session)
        await desk_tally.rebuild(session)


COUNTERS = (SessionCount, DeskRequestCount, SessionRollup, DeskRollup)


async def counter_rows(engine: AsyncEngine) -> list[list[tuple[Any, ...]]]:
    """Every row of the daily counters and their roll-ups, table by table, in key order."""
    async with engine.connect() as connection:
        found = []
        for model in COUNTERS:
            counts = table(model)
            query = select(counts).order_by(*counts.primary_key.columns)
            found.append([tuple(row) for row in await connection.execute(query)])
    return found


async def check_counting(engine: AsyncEngine) -> dict[str, int]:
    """The services' rebuild and the INSERT ... SELECT give the same counters and roll-ups;
    their sizes."""
    await count_by_rebuild(engine)
    rebuilt = await counter_rows(engine)
    await count_by_sql(engine)
    selected = await counter_rows(engine)
    names = [table(model).name for model in COUNTERS]
    for name, one, other in zip(names, rebuilt, selected, strict=True):
        if one != other:
            first = next(
                (pair for pair in zip(one, other, strict=False) if pair[0] != pair[1]), None
            )
            raise SystemExit(
                f"{name}: rebuild gives {len(one)} rows, INSERT ... SELECT {len(other)}; "
                f"first difference {first}"
            )
    return {name: len(rows) for name, rows in zip(names, rebuilt, strict=True)}


async def settle(engine: AsyncEngine, url: str) -> None:
    """The database as a server finds it: PostgreSQL vacuumed and analysed (as autovacuum
    would), SQLite's WAL checkpointed (visio never analyses it); no connection left open."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
        await engine.dispose()
        return
    await engine.dispose()
    path = make_url(url).database
    assert path is not None
    direct = sqlite3.connect(path)
    try:
        direct.execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    finally:
        direct.close()


@asynccontextmanager
async def snapshot(url: str, admin_url: str | None) -> AsyncIterator[str]:
    """A copy of the (settled) database beside it, dropped afterwards."""
    if url.startswith("sqlite"):
        path = Path(make_url(url).database or "")
        copy = path.with_name("small.db")
        shutil.copyfile(path, copy)
        try:
            yield make_url(url).set(database=str(copy)).render_as_string(hide_password=False)
        finally:
            copy.unlink(missing_ok=True)
        return
    assert admin_url is not None
    name = make_url(url).database
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}_small" TEMPLATE "{name}"'))
    try:
        yield make_url(url).set(database=f"{name}_small").render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}_small" WITH (FORCE)'))
        await admin.dispose()


# ---------------------------------------------------------------- measuring


class SqlClock:
    """SQL statements and time spent in them, from an engine's cursor events."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements = 0
        self.spent = 0.0
        self.executed: list[tuple[str, Any, float]] = []
        self._began = 0.0

    def reset(self) -> None:
        self.statements, self.spent, self.executed = 0, 0.0, []

    def before(self, *_args: Any) -> None:
        self._began = time.perf_counter()

    def after(self, _connection: Any, _cursor: Any, statement: str, parameters: Any,
              *_args: Any) -> None:  # fmt: skip
        spent = time.perf_counter() - self._began
        self.spent += spent
        self.statements += 1
        self.executed.append((statement, parameters, spent * 1000))

    def __enter__(self) -> SqlClock:
        event.listen(self.engine, "before_cursor_execute", self.before)
        event.listen(self.engine, "after_cursor_execute", self.after)
        return self

    def __exit__(self, *_args: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)


class GcClock:
    """The time the garbage collector pauses the process, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._began = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.spent += time.perf_counter() - self._began

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_args: object) -> None:
        gc.callbacks.remove(self)


Call = Callable[[AsyncSession], Awaitable[Any]]


async def time_both(
    engines: Sequence[AsyncEngine], call: Call, repeat: int, warmup: int
) -> list[Timing]:
    """`call` on each engine in turn (the first one first on even rounds, last on odd ones,
    so both sets meet the same noise), each time in a session and transaction of its own,
    begun before the clock starts as the request's middleware does; `warmup` rounds first,
    not counted."""
    timings = [Timing() for _ in engines]
    sessions = [make_sessionmaker(engine) for engine in engines]
    with ExitStack() as stack:
        clocks = [stack.enter_context(SqlClock(engine)) for engine in engines]
        collector = stack.enter_context(GcClock())
        for number in range(warmup + repeat):
            order = list(range(len(engines)))
            for index in order if number % 2 == 0 else reversed(order):
                async with sessions[index]() as session:
                    await session.connection()
                    clocks[index].reset()
                    collector.spent = 0.0
                    began = time.perf_counter()
                    answer = await call(session)
                    elapsed = time.perf_counter() - began
                    await session.rollback()
                if number < warmup:
                    continue
                timing = timings[index]
                timing.total.append(elapsed * 1000)
                timing.sql.append(clocks[index].spent * 1000)
                timing.gc.append(collector.spent * 1000)
                timing.statements.add(clocks[index].statements)
                timing.executed = clocks[index].executed
                if isinstance(answer, str):
                    timing.rows = answer.count("\n")
                else:
                    timing.rows = len(answer) if isinstance(answer, list | dict) else 1
    return timings


def dashboard_calls(
    site_id: int | None, partner_id: int | None, opened: Mapping[int, Any] | None
) -> dict[str, Call]:
    """Each call `dashboard.dashboard` makes for 2026 against 2025, then the dashboard whole.
    `opened`: the houses' openings over both years, when `desk_counts` takes them from its
    caller (the dashboard then works them out once, timed on a line of its own)."""
    previous_first = dashboard.year_before(YEAR_FIRST)
    previous_last = dashboard.year_before(YEAR_LAST)
    common: dict[str, Any] = {"site_id": site_id, "partner_id": partner_id}

    def sessions(group_by: list[str], first: date, last: date) -> Call:
        return lambda session: stats.session_counts(
            session, ADMIN, group_by=group_by, first_day=first, last_day=last, **common
        )

    def desk(group_by: list[str], first: date, last: date) -> Call:
        given = {} if opened is None else {"opened": opened}
        return lambda session: stats.desk_counts(
            session, ADMIN, group_by=group_by, first_day=first, last_day=last, today=TODAY,
            **common, **given,
        )  # fmt: skip

    def largest(kind: str) -> Call:
        given: dict[str, Any] = {} if kind == "sessions" else {"today": TODAY}
        if opened is not None and kind == "desk":
            given["opened"] = opened
        function = stats.houses_by_sessions if kind == "sessions" else stats.houses_by_requests
        return lambda session: function(
            session, ADMIN, first_day=YEAR_FIRST, last_day=YEAR_LAST, limit=SHOWN_ROWS,
            **common, **given,
        )  # fmt: skip

    houses = [site_id] if site_id is not None else None
    calls: dict[str, Call] = {
        "sessions by month": sessions(["month"], YEAR_FIRST, YEAR_LAST),
        "sessions by month, year before": sessions(["month"], previous_first, previous_last),
        "sessions, total": sessions([], YEAR_FIRST, YEAR_LAST),
        f"sessions by house, {SHOWN_ROWS} largest": largest("sessions"),
        "sessions by partner": sessions(["partner"], YEAR_FIRST, YEAR_LAST),
        "sessions by motive": sessions(["motive"], YEAR_FIRST, YEAR_LAST),
        "desk totals": desk([], YEAR_FIRST, YEAR_LAST),
        "desk totals, year before": desk([], previous_first, previous_last),
        "desk by partner": desk(["partner"], YEAR_FIRST, YEAR_LAST),
        "desk by theme": desk(["theme"], YEAR_FIRST, YEAR_LAST),
        "desk by channel": desk(["channel"], YEAR_FIRST, YEAR_LAST),
        f"desk by house, {SHOWN_ROWS} largest": largest("desk"),
    }
    if opened is None:  # each desk call works out the openings: as the dashboard did
        calls["openings"] = lambda session: openings(session, houses, YEAR_FIRST, YEAR_LAST)
    else:
        calls["openings, both years"] = lambda session: openings(
            session, houses, previous_first, YEAR_LAST
        )
    calls["dashboard() whole"] = lambda session: dashboard.dashboard(
        session, ADMIN, first_day=YEAR_FIRST, last_day=YEAR_LAST, today=TODAY,
        longest=SHOWN_ROWS, **common,
    )  # fmt: skip
    # Not the page's: every house's row, as the API and the downloads answer.
    calls["sessions by house, every house"] = sessions(["site"], YEAR_FIRST, YEAR_LAST)
    calls["desk by house, every house"] = desk(["site"], YEAR_FIRST, YEAR_LAST)
    return calls


async def cross_tab(session: AsyncSession) -> list[stats.SessionRow]:
    return await stats.session_counts(
        session, ADMIN, group_by=["site", "month"], first_day=YEAR_FIRST, last_day=YEAR_LAST
    )


async def cross_tab_csv(session: AsyncSession) -> str:
    rows = await cross_tab(session)
    return csv_text(session_table(["site", "month"], rows), separator="semicolon", locale="fr")


async def pivoted(session: AsyncSession) -> list[stats.CrossRow]:
    """The cross-tab as GET /api/v1/stats/sessions/crosstab answers it: one row per house,
    its twelve months pivoted by the database."""
    return await stats.crosstab(session, ADMIN, year=YEAR_FIRST.year)


async def pivoted_csv(session: AsyncSession) -> str:
    rows = await pivoted(session)
    return csv_text(crosstab_table(YEAR_FIRST.year, rows), separator="semicolon", locale="fr")


def bare_sql(executed: Sequence[tuple[str, Any, float]]) -> Call:
    """The in-process baseline of a call: the statements it ran (as the cursor got them,
    with their parameters) run again through the driver, their rows fetched and nothing
    made of them."""

    async def run(session: AsyncSession) -> int:
        connection = await session.connection()
        rows = 0
        for statement, parameters, _spent in executed:
            rows += len((await connection.exec_driver_sql(statement, parameters)).all())
        return rows

    return run


async def scope_rows(
    engine: AsyncEngine, site_id: int | None, partner_id: int | None, year: date | None
) -> tuple[int, int]:
    """The counter rows (sessions, desk) of a scope and year (all years for None): what its
    queries aggregate."""
    found = []
    async with engine.connect() as connection:
        for model in (SessionCount, DeskRequestCount):
            counts = table(model)
            query = select(func.count()).select_from(counts)
            if year is not None:
                query = query.where(counts.c.day.between(year, year.replace(month=12, day=31)))
            if site_id is not None:
                query = query.where(counts.c.site_id == site_id)
            if partner_id is not None:
                query = query.where(counts.c.partner_id == partner_id)
            found.append(int(await connection.scalar(query) or 0))
    return found[0], found[1]


async def measure(
    engines: Sequence[AsyncEngine], sizes: Sequence[tuple[int, int]], network: Network,
    repeat: int, warmup: int,
) -> list[Measured]:  # fmt: skip
    """Every call of the house's and the partner's dashboards, the cross-tab, its CSV and the
    page's filters, on each data set in turn; then the statements of the HEADLINE calls
    replayed bare."""
    house, partner = network.site_ids[0], network.partner_ids[0]
    results = [
        Measured(*size, *await scope_rows(engine, None, None, None))
        for engine, size in zip(engines, sizes, strict=True)
    ]
    takes_openings = "opened" in inspect.signature(stats.desk_counts).parameters
    for scope, site_id, partner_id in (("house", house, None), ("partner", None, partner)):
        for engine, measured in zip(engines, results, strict=True):
            measured.scope_rows[scope] = await scope_rows(engine, site_id, partner_id, YEAR_FIRST)
        opened = None
        if takes_openings:  # the houses are the same in both sets: so are their openings
            async with make_sessionmaker(engines[0])() as session:
                houses = [site_id] if site_id is not None else None
                first = dashboard.year_before(YEAR_FIRST)
                opened = await openings(session, houses, first, YEAR_LAST)
        for name, call in dashboard_calls(site_id, partner_id, opened).items():
            progress(f"  {scope}: {name}")
            timings = await time_both(engines, call, repeat, warmup)
            for measured, timing in zip(results, timings, strict=True):
                measured.timings[f"{scope}: {name}"] = timing
    for engine, measured in zip(engines, results, strict=True):
        measured.scope_rows["network"] = await scope_rows(engine, None, None, YEAR_FIRST)
    for name, call in (
        ("network: house-and-month rows (site,month)", cross_tab),
        ("network: house-and-month rows, CSV", cross_tab_csv),
        ("network: pivoted cross-tab house x month", pivoted),
        ("network: pivoted cross-tab CSV export", pivoted_csv),
        ("page's filters: dashboard.choices()", partial(dashboard.choices, actor=ADMIN)),
    ):
        progress(f"  {name}")
        timings = await time_both(engines, call, repeat, warmup)
        for measured, timing in zip(results, timings, strict=True):
            measured.timings[name] = timing
    for name, bare in HEADLINE.items():  # the statements of its last call on the large set
        progress(f"  {bare}")
        timings = await time_both(engines, bare_sql(results[-1].timings[name].executed),
                                  repeat, warmup)  # fmt: skip
        for measured, timing in zip(results, timings, strict=True):
            measured.timings[bare] = timing
    return results


async def explain(engine: AsyncEngine, measured: Measured) -> None:
    """The plan of the slowest statement of each call over its target: EXPLAIN QUERY PLAN
    on SQLite, EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL (which runs it once more)."""
    postgresql = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgresql else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        for name, timing in measured.timings.items():
            if timing.p95 <= target_of(name) or not timing.executed:
                continue
            statement, parameters, spent = max(timing.executed, key=lambda item: item[2])
            print(f"\n{name}: p95 {timing.p95:.1f} ms; its slowest statement ({spent:.1f} ms):")
            print(f"  {' '.join(statement.split())}")
            print(f"  parameters: {parameters}")
            plan = await connection.exec_driver_sql(prefix + statement, parameters)
            for row in plan:
                print("    " + (row[0] if postgresql else f"{row[0]} {row[1]} {row[-1]}"))


# ---------------------------------------------------------------- the page


def has_stats_page(url: str) -> bool:
    """Whether visio has a GET /stats page yet."""
    app = create_app(Settings(database_url=url, secret_key=SECRET, run_worker=False))
    return any(resource.canonical == "/stats" for resource in app.router.resources())


@asynccontextmanager
async def serving(url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """`visio serve` on the database in a process of its own, and a client signed in as the
    admin through the login form."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("VISIO_")}
    env.update(VISIO_DATABASE_URL=url, VISIO_SECRET_KEY=SECRET, VISIO_RUN_WORKER="false")
    with tempfile.TemporaryFile() as errors:
        server = subprocess.Popen(
            [sys.executable, "-m", "visio", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=errors,
        )  # fmt: skip
        try:
            try:
                await asyncio.to_thread(wait_ready, port, server)
            except SystemExit as stopped:
                errors.seek(0)
                said = errors.read().decode(errors="replace").strip().splitlines()[-3:]
                raise SystemExit(f"{stopped}: {' / '.join(said)}") from None
            jar = aiohttp.CookieJar(unsafe=True)  # cookies on a bare IP address
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as client:
                await sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
                yield client
        finally:
            server.terminate()
            server.wait(timeout=30)


@asynccontextmanager
async def bare_serving(url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """The bare server of bench/baseline.py on the database in a process of its own, as
    `visio serve` runs here, its ten rows for GET /select inserted; a client of it."""
    async with (
        bare_server(url) as port,
        aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client,
    ):
        for number in range(SELECT_ROWS):
            async with client.post("/insert", json={"row": number}) as reply:
                reply.raise_for_status()
        yield client


async def measure_page(
    urls: Sequence[str], paths: Sequence[str], repeat: int, warmup: int
) -> list[dict[str, Timing]]:
    """GET /healthz then each page, from one server per data set, then the bare server's
    GET /select (one per data set too), the sets in turn."""
    names = {"page: GET /healthz": "/healthz", **{f"page: GET {path}": path for path in paths}}
    timings = [{name: Timing() for name in (*names, BARE_PAGE)} for _ in urls]
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(serving(url)) for url in urls]
        bare = [await stack.enter_async_context(bare_serving(url)) for url in urls]
        for number in range(warmup + repeat):
            order = list(range(len(urls)))
            for index in order if number % 2 == 0 else reversed(order):
                asked = [(name, clients[index], target) for name, target in names.items()]
                for name, client, target in [*asked, (BARE_PAGE, bare[index], "/select")]:
                    began = time.perf_counter()
                    async with client.get(target, allow_redirects=False) as reply:
                        body = await reply.read()
                    elapsed = (time.perf_counter() - began) * 1000
                    if reply.status != 200:
                        raise SystemExit(f"{target}: HTTP {reply.status}\n{body[:2000]!r}")
                    if number >= warmup:
                        timings[index][name].total.append(elapsed)
                        timings[index][name].rows = len(body)
    return timings


# ---------------------------------------------------------------- report


def target_of(name: str) -> float:
    if name.startswith(("network: house-and-month rows", "baseline:")):
        # The same figures as the cross-tab, not pivoted; the baselines: for comparison.
        return math.inf
    if name.endswith("cross-tab CSV export"):
        return CSV_MS
    if name.endswith("cross-tab house x month") or name.endswith("every house"):
        return CROSS_TAB_MS
    if name.endswith("dashboard() whole") or name.startswith("page: GET /stats"):
        return PAGE_MS
    if name.startswith("page:"):
        return math.inf
    return QUERY_MS


def revision() -> str:
    """The code measured: its commit, and whether the working tree differs from it."""
    folder, git = Path(__file__).resolve().parent, shutil.which("git")
    if git is None:
        return "unknown"
    try:
        commit = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True, text=True,
            check=True,
        ).stdout.strip()  # fmt: skip
        changed = subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=no"], cwd=folder,
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}{' with changes' if changed else ''}"


def report(
    backend: str, small: Measured, large: Measured, seconds: dict[str, float], code: str
) -> None:
    print(
        f"{backend}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, visio at {code}; {HOUSES} houses, "
        f"{PARTNERS} partners, {AGENTS} agents; period 2026 (against 2025), today {TODAY}; "
        f"both sets measured in turn, call by call; load average {os.getloadavg()[0]:.2f} on "
        f"{os.cpu_count()} CPUs"
    )
    for label, measured in (("small", small), ("large", large)):
        print(
            f"  {label}: {measured.appointments:,} appointments, {measured.requests:,} desk "
            f"requests -> {measured.session_counters:,} session counters, "
            f"{measured.desk_counters:,} desk counters; counter rows in 2026 (sessions / desk): "
            + ", ".join(
                f"{scope} {rows[0]:,} / {rows[1]:,}" for scope, rows in measured.scope_rows.items()
            )
        )
    print("  seconds: " + "; ".join(f"{step} {spent:.0f}" for step, spent in seconds.items()))
    print(
        f"  {'':<44}{'small ms':>15}{'large ms':>15}{'large/small':>12}{'large SQL':>10}"
        f"{'SQL':>8}{'GC':>7}{'rows':>7}{'target':>8}"
    )
    print(f"  {'':<44}{'p50':>7}{'p95':>8}{'p50':>7}{'p95':>8}{'p95':>12}{'p50 ms':>10}"
          f"{'stmts':>8}{'max ms':>7}{'large':>7}{'p95 ms':>8}")  # fmt: skip
    misses = []
    for name, big in large.timings.items():
        little = small.timings[name]
        ratio = big.p95 / little.p95 if little.p95 else math.inf
        target = target_of(name)
        page = name.startswith("page:")
        sql = "-" if page else f"{statistics.median(big.sql):.1f}"
        statements = "-" if page else ",".join(str(n) for n in sorted(big.statements))
        answered = f"{big.rows // 1000}kB" if page else str(big.rows)
        collected = "-" if page else f"{max(big.gc):.0f}"
        print(
            f"  {name:<44}{little.p50:>7.1f}{little.p95:>8.1f}{big.p50:>7.1f}{big.p95:>8.1f}"
            f"{ratio:>11.2f}x{sql:>10}{statements:>8}{collected:>7}{answered:>7}"
            f"{'' if math.isinf(target) else f'{target:.0f}':>8}"
        )
        if big.p95 > target:
            misses.append(f"{name} p95 {big.p95:.1f} ms > {target:.0f}")
        # The history's weight is judged on the dashboards whole and the page (a query's own
        # ratio also shows the scope's data growing: a partner active in 140 houses, then
        # in 2,800). Sub-millisecond figures jitter by more than their size: a growth is one
        # beyond GROWTH times and beyond NOISE_MS as well.
        judged = name.endswith("dashboard() whole") or name.startswith("page: GET /stats")
        if judged and ratio > GROWTH and big.p95 - little.p95 > NOISE_MS:
            misses.append(f"{name} large/small {ratio:.1f}x > {GROWTH:.0f}x")
    if "page: GET /healthz" in large.timings:
        for label, measured in (("small", small), ("large", large)):
            health = measured.timings["page: GET /healthz"]
            for name, page in measured.timings.items():
                if not name.startswith("page: GET /stats"):
                    continue
                print(
                    f"  {label}: {name[len('page: GET ') :]}: page p50 - /healthz p50 = "
                    f"{page.p50 - health.p50:.1f} ms, p95 - p95 = {page.p95 - health.p95:.1f} "
                    "ms (the page's own work in the server)"
                )
    else:
        print("  page: not measured (no GET /stats route, or it failed: see above)")
    print(
        f"  targets of 2026-12 (judged on the large set, p95): each query <= {QUERY_MS:.0f} ms, "
        f"the page (and dashboard() whole) <= {PAGE_MS:.0f} ms, the cross-tab <= "
        f"{CROSS_TAB_MS:.0f} ms (a table of every house too), its CSV export <= {CSV_MS:.0f} "
        f"ms, the dashboards and the page large/small <= {GROWTH:.0f}x (or within "
        f"{NOISE_MS:.0f} ms): " + ("FAIL: " + "; ".join(misses) if misses else "PASS")
    )
    results(backend, small, large)


def results(backend: str, small: Measured, large: Measured) -> None:
    """The result lines for `python -m bench`: the headline figures (large set, p95) beside
    their same-run baselines: a call's statements replayed bare, and beside the page the
    bare server's GET /select."""
    pages = [name for name in large.timings if name.startswith("page: GET /stats")]
    for name in (*HEADLINE, *pages):
        big, little = large.timings[name], small.timings[name]
        page = name.startswith("page:")
        bare = large.timings.get(BARE_PAGE if page else HEADLINE[name])
        target, ratio = target_of(name), big.p95 / little.p95 if little.p95 else math.inf
        checked = f"p95 <= {target:.0f} ms: {'PASS' if big.p95 <= target else 'FAIL'}"
        if name.endswith("dashboard() whole") or page:
            grown = ratio > GROWTH and big.p95 - little.p95 > NOISE_MS
            checked += f"; large/small {ratio:.2f}x: {'FAIL' if grown else 'PASS'}"
        what = (
            "bare aiohttp GET /select, same rounds" if page
            else f"its {len(big.executed)} statements replayed bare"
        )  # fmt: skip
        shown = name.removeprefix("page: ").split("&")[0]  # a page's path without its dates
        result(bench="stats", database=backend,
               figure=f"{shown}, large set: p95 {big.p95:.1f} ms",
               baseline="" if bare is None else f"{what}: p95 {bare.p95:.2f} ms",
               share=None if bare is None else big.p95 / bare.p95, check=checked)  # fmt: skip


def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


async def run(arguments: argparse.Namespace, url: str) -> None:
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    code = revision()  # at the start: others may commit while this runs
    seconds: dict[str, float] = {}
    engine = make_engine(url)
    await upgrade_engine(engine)
    began = time.perf_counter()
    network = await populate_network(engine, arguments.seed)
    plan = AppointmentPlan(network, arguments.seed)
    seconds["network"] = time.perf_counter() - began
    small = (arguments.small_appointments, arguments.small_requests)
    large = (arguments.appointments, arguments.requests)

    progress(f"{backend}: the small set, {small[0]:,} appointments, {small[1]:,} requests")
    began = time.perf_counter()
    await grow(engine, network, plan, arguments.seed, (0, small[0]), (0, small[1]))
    seconds["small: insert"] = time.perf_counter() - began
    began = time.perf_counter()
    counted = await check_counting(engine)
    progress(f"counters: rebuild() and INSERT ... SELECT agree, rows {counted}")
    seconds["small: counters, both ways"] = time.perf_counter() - began
    await settle(engine, url)
    async with snapshot(url, arguments.database_url) as small_url:
        progress(f"{backend}: grown to {large[0]:,} appointments, {large[1]:,} requests")
        began = time.perf_counter()
        await grow(engine, network, plan, arguments.seed, (small[0], large[0]),
                   (small[1], large[1]))  # fmt: skip
        seconds["large: insert"] = time.perf_counter() - began
        began = time.perf_counter()
        await (count_by_rebuild if arguments.counters == "rebuild" else count_by_sql)(engine)
        seconds[f"large: counters ({arguments.counters})"] = time.perf_counter() - began
        began = time.perf_counter()
        await settle(engine, url)
        seconds["large: settle"] = time.perf_counter() - began
        progress(f"{backend}: measuring both sets")
        # As `visio serve` does once started: what is built so far (here, the generator's
        # leftovers too) is collected, the rest frozen out of the collector's reach.
        gc.collect()
        gc.freeze()
        small_engine = make_engine(small_url)
        try:
            results = await measure(
                [small_engine, engine], [small, large], network, arguments.repeat,
                arguments.warmup,
            )  # fmt: skip
        finally:
            await small_engine.dispose()
            await engine.dispose()
        if arguments.page or has_stats_page(url):
            paths = [
                path.format(site_id=network.site_ids[0], partner_id=network.partner_ids[0],
                            first=YEAR_FIRST, last=YEAR_LAST)
                for path in arguments.page_path or PAGE_PATHS
            ]  # fmt: skip
            progress(f"{backend}: GET {', '.join(paths)} from visio serve")
            try:
                pages = await measure_page(
                    [small_url, url], paths, arguments.repeat, arguments.warmup
                )
            except SystemExit as failed:  # the figures above still stand
                print(f"page: not measured, {failed}")
            else:
                for measured, timings in zip(results, pages, strict=True):
                    measured.timings.update(timings)
    report(backend, results[0], results[1], seconds, code)
    if arguments.explain:
        engine = make_engine(url)
        try:
            await explain(engine, results[1])
        finally:
            await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--appointments", type=int, default=1_000_000, help="the large set's")
    parser.add_argument("--requests", type=int, default=3_000_000, help="the large set's")
    parser.add_argument("--small-appointments", type=int, default=10_000)
    parser.add_argument("--small-requests", type=int, default=30_000)
    parser.add_argument("--quick", action="store_true", help="a large set of 100,000 / 300,000")
    parser.add_argument(
        "--counters", choices=("sql", "rebuild"), default="sql",
        help="how the large set is counted (the small one both ways, compared)",
    )  # fmt: skip
    parser.add_argument("--repeat", type=int, default=30, help="calls measured, each")
    parser.add_argument("--warmup", type=int, default=3, help="calls first, not measured")
    parser.add_argument("--page", action="store_true", help="GET /stats even if not found")
    parser.add_argument(
        "--page-path", action="append",
        help="a page's path, once per page ({site_id}, {partner_id}, {first}, {last} filled "
        "in); by default one house's page and one partner's",
    )  # fmt: skip
    parser.add_argument(
        "--explain", action="store_true",
        help="then the plan of the slowest statement of each call over its target (large set)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.appointments, arguments.requests = 100_000, 300_000
    async with scratch_database(arguments.database_url) as url:
        await run(arguments, url)


if __name__ == "__main__":
    asyncio.run(main())
