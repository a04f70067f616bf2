"""Server time of three pages on the demo data: /desk, /desk/book/slots (step 2), /agenda.

Fills a scratch database with the demo (`visio demo`'s population, its clock stopped on
Monday 23 November 2026 at 10:00 in Paris: four ordinary weeks ahead, no public holiday),
then adds a team of 50 agents (--agents) of one partner, all serving one motive at France
Services Murat (its two stations) with 2 to 5 half-day permanences a week, and existing
bookings of theirs over the four weeks. Serves it with `create_app` on loopback (the outbox
sender off) and signs in through the real /login form: the demo's desk account (Murat and
Neussargues) for /desk and step 2, the demo's partner agent for /agenda; the API call
carries the desk's bearer token.

One round makes these requests, one after the other (never two at once):

- GET /desk: the desk's day (today) at its two houses;
- GET /agenda: the agent's week (today and the next seven days, the coming week full);
- step 2, GET /desk/book/slots?site_id=&motive_id=&day=: the page shows seven days from
  `day`, so it is requested for each of the four Mondays: 28 days, 23 Nov to 20 Dec;
- GET /api/v1/slots for each of those same seven-day ranges (the search step 2 wraps), and
  once over the 28 days. A last line sums each round's four step 2 requests: the four
  weeks as a desk paging through them waits for them.

Warm-up rounds come first and are not counted. Two times per request: the round trip seen
by the client (client and server share one process and event loop, so this includes the
client's own work: the stricter figure, the one the targets are judged on), and the server's
time, from an outermost middleware (visio's middlewares and the handler, rendering
included; not the HTTP parsing nor the writing). Every response must be a 200 showing what
it should (appointments, slots; step 2 each start time the API finds over its week, once), or the
bench stops. Prints median and p95 (ms), requests, SQL statements per request, the ratio of
step 2's p95 to the API's over the same weeks, and the verdict against the targets: p95 at
most 50 ms for each page, step 2 at most 1.5 times the API call. Each page's round-trip
p95 is marked as a result for `python -m bench` (bench/report.py), its same-run baseline
the round-trip p95 of GET /api/v1/slots over seven days, asked in the same rounds: the
JSON search that step 2 wraps, without a page around it.

    python bench/bench_pages.py                                # SQLite, 200 rounds
    python bench/bench_pages.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python bench/bench_pages.py --quick                        # 30 rounds

The PostgreSQL database named is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_slots import percentile, scratch_database
from report import result

from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import (
    ACTIVE_STATUSES,
    Agent,
    Appointment,
    AvailabilityRule,
    Motive,
    Partner,
    Role,
    Site,
    Station,
    User,
)
from visio.db.models.agents import rule_sites
from visio.demo import prepare_demo
from visio.demo.houses import AFTERNOON, MORNING
from visio.demo.people import DEMO_USERS
from visio.handlers.booking_pages import DAYS_SHOWN as DAYS_PER_PAGE
from visio.keys import ENGINE
from visio.services import accounts
from visio.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
# Monday 23 November 2026, 10:00 in Paris: the demo's today and the application's clock.
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 11, 23)
WEEKS = 4
SECRET = "bench-pages-" + "p" * 40
HOUSE = "Murat"
DURATION, BUFFER_AFTER = timedelta(minutes=30), timedelta(minutes=10)
TARGET_MS, TARGET_RATIO = 50.0, 1.5

DESK = next(user for user in DEMO_USERS if user.role is Role.DESK)
AGENT = next(user for user in DEMO_USERS if user.role is Role.AGENT)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class DataSet:
    """The scratch database as the bench uses it."""

    site_id: int
    site_name: str
    stations: int
    motive_id: int
    agents: int
    bookings: int
    passwords: dict[str, str]  # demo account email -> this run's password
    token: str  # the desk account's API token


@dataclass
class Timings:
    """One page's or call's measures, request by request."""

    round_trip: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    statements: set[int] = field(default_factory=set)
    shown: list[int] = field(default_factory=list)  # appointments or slots per response


def overlaps(busy: list[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(start < until and since < end for since, until in busy)


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def add_team(
    session: AsyncSession, agents: int, bookings: int, rng: random.Random
) -> tuple[int, str, int, int, int]:
    """The team at the demo house, their permanences and bookings (never clashing with the
    demo's on the house's stations). Returns the site's id, name, station count, the
    motive's id and the number of bookings made."""
    site_id, site_name = (
        await session.execute(select(Site.id, Site.name).where(Site.commune == HOUSE))
    ).one()
    station_ids = list(
        await session.scalars(select(Station.id).where(Station.site_id == site_id).order_by("id"))
    )
    partner = Partner(code="BANC", name="Caisse de retraite du banc", created_at=NOW)
    session.add(partner)
    await session.flush()
    motive = Motive(
        partner_id=partner.id,
        name="Demande de retraite",
        duration_minutes=30,
        buffer_after_minutes=int(BUFFER_AFTER.total_seconds() // 60),
        min_notice_minutes=120,
        horizon_days=60,
        documents=["Relevé de carrière"],
        reminder_offsets=[1440, 60],
    )
    session.add(motive)
    await session.flush()
    agent_rows = [
        {
            "partner_id": partner.id,
            "name": f"Agent {number} du banc",
            "email": f"agent{number}@banc.example",
            "timezone": "Europe/Paris",
            "locale": "fr",
            "created_at": NOW,
        }
        for number in range(agents)
    ]
    agent_ids = list(
        (await session.execute(insert(Agent).returning(Agent.id), agent_rows)).scalars()
    )
    # Permanences: 2 to 5 of the house's ten half-days a week, every week.
    half_days = [(weekday, hours) for weekday in range(1, 6) for hours in (MORNING, AFTERNOON)]
    permanences = {agent_id: rng.sample(half_days, rng.randint(2, 5)) for agent_id in agent_ids}
    rule_rows = [
        {"agent_id": agent_id, "weekdays": [weekday], "start": hours[0], "end": hours[1],
         "every_weeks": 1, "created_at": NOW}
        for agent_id in agent_ids
        for weekday, hours in permanences[agent_id]
    ]  # fmt: skip
    rule_ids = (
        await session.execute(insert(AvailabilityRule).returning(AvailabilityRule.id), rule_rows)
    ).scalars()
    await session.execute(
        insert(rule_sites), [{"rule_id": rule_id, "site_id": site_id} for rule_id in rule_ids]
    )

    # Bookings on the permanences' grid, clear of every active booking of the stations.
    station_busy: dict[int, list[tuple[datetime, datetime]]] = {s: [] for s in station_ids}
    for station_id, since, until in await session.execute(
        select(Appointment.station_id, Appointment.busy_from, Appointment.busy_until).where(
            Appointment.station_id.in_(station_ids), Appointment.status.in_(ACTIVE_STATUSES)
        )
    ):
        station_busy[station_id].append((aware(since), aware(until)))
    agent_busy: dict[int, list[tuple[datetime, datetime]]] = {a: [] for a in agent_ids}
    rows: list[dict[str, Any]] = []
    attempts = 0
    while len(rows) < bookings and attempts < bookings * 50:
        attempts += 1
        agent_id = rng.choice(agent_ids)
        weekday, (opens, closes) = rng.choice(permanences[agent_id])
        day = FIRST_DAY + timedelta(days=7 * rng.randrange(WEEKS) + weekday - 1)
        opening = datetime.combine(day, opens, tzinfo=PARIS)
        cells = int((datetime.combine(day, closes, tzinfo=PARIS) - opening) / DURATION)
        start = (opening + DURATION * rng.randrange(cells)).astimezone(UTC)
        end, busy_until = start + DURATION, start + DURATION + BUFFER_AFTER
        if start < NOW or overlaps(agent_busy[agent_id], start, busy_until):
            continue
        station_id = next(
            (s for s in station_ids if not overlaps(station_busy[s], start, busy_until)), None
        )
        if station_id is None:
            continue
        agent_busy[agent_id].append((start, busy_until))
        station_busy[station_id].append((start, busy_until))
        rows.append({
            "site_id": site_id, "station_id": station_id, "partner_id": partner.id,
            "motive_id": motive.id, "agent_id": agent_id, "start_at": start, "end_at": end,
            "busy_from": start, "busy_until": busy_until,
            "room": "visio-" + secrets.token_hex(13), "status": "booked", "created_at": NOW,
        })  # fmt: skip
    await session.execute(insert(Appointment), rows)
    return site_id, site_name, len(station_ids), motive.id, len(rows)


async def populate(url: str, agents: int, bookings: int, seed: int) -> DataSet:
    settings = Settings(database_url=url, secret_key=SECRET)
    demo_accounts = await prepare_demo(settings, reset=False, now=NOW)
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            site_id, site_name, stations, motive_id, booked = await add_team(
                session, agents, bookings, random.Random(seed)
            )
            desk_id = await session.scalar(select(User.id).where(User.email == DESK.email))
            assert desk_id is not None
            created = await accounts.create_token(
                session, None, user_id=desk_id, label="bench", now=NOW
            )
    finally:
        await engine.dispose()
    return DataSet(
        site_id=site_id, site_name=site_name, stations=stations, motive_id=motive_id,
        agents=agents, bookings=booked,
        passwords={account.email: account.password for account in demo_accounts},
        token=created.token,
    )  # fmt: skip


async def sign_in(client: aiohttp.ClientSession, email: str, password: str) -> None:
    """Through the login form, as a browser does: its form token, then the session cookie."""
    async with client.get("/login") as page:
        found = CSRF.search(await page.text())
    if found is None:
        raise SystemExit("no form token on /login")
    form = {"email": email, "password": password, "csrf_token": found.group(1)}
    async with client.post("/login", data=form, allow_redirects=False) as reply:
        if reply.status != 303:
            raise SystemExit(f"signing in as {email}: HTTP {reply.status}")


def server_timer(spent: list[float]) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An outermost middleware keeping the server's time of the last request in `spent`."""

    @web.middleware
    async def timed(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        began = time.perf_counter()
        try:
            return await handler(request)
        finally:
            spent[0] = (time.perf_counter() - began) * 1000

    return timed


async def measure(url: str, data: DataSet, rounds: int, warmup: int) -> dict[str, Timings]:
    settings = Settings(database_url=url, secret_key=SECRET, run_worker=False)
    app = create_app(settings, clock=lambda: NOW)
    spent = [0.0]
    app.middlewares.insert(0, server_timer(spent))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    engine = app[ENGINE]
    statements = [0]

    def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    base = f"http://127.0.0.1:{port}"
    api_headers = {"Authorization": f"Bearer {data.token}"}
    mondays = [FIRST_DAY + timedelta(days=7 * week) for week in range(WEEKS)]
    last_day = FIRST_DAY + timedelta(days=7 * WEEKS - 1)
    query = {"site_id": data.site_id, "motive_id": data.motive_id}
    timings: dict[str, Timings] = {}

    async def get(
        name: str, client: aiohttp.ClientSession, path: str, counted: bool, **options: Any
    ) -> str:
        statements[0] = 0
        began = time.perf_counter()
        async with client.get(path, allow_redirects=False, **options) as reply:
            body = await reply.text()
        elapsed = (time.perf_counter() - began) * 1000
        if reply.status != 200:
            raise SystemExit(f"{name}: HTTP {reply.status} for {path}\n{body[:2000]}")
        if counted:
            measured = timings.setdefault(name, Timings())
            measured.round_trip.append(elapsed)
            measured.server.append(spent[0])
            measured.statements.add(statements[0])
        return body

    def shown(name: str, counted: bool, number: int, what: str) -> None:
        if number == 0:
            raise SystemExit(f"{name}: no {what} shown")
        if counted:
            timings[name].shown.append(number)

    # Cookies on a bare IP address are refused unless the jar is told otherwise.
    desk = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    agent = aiohttp.ClientSession(base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    api = aiohttp.ClientSession(base, headers=api_headers)
    try:
        await sign_in(desk, DESK.email, data.passwords[DESK.email])
        await sign_in(agent, AGENT.email, data.passwords[AGENT.email])
        for number in range(warmup + rounds):
            counted = number >= warmup
            html = await get("GET /desk", desk, "/desk", counted)
            shown("GET /desk", counted, html.count("data-appointment-id="), "appointment")
            html = await get("GET /agenda", agent, "/agenda", counted)
            shown("GET /agenda", counted, html.count("data-appointment-id="), "appointment")
            for monday in mondays:
                html = await get(
                    "step 2, 7 days", desk, "/desk/book/slots", counted,
                    params={**query, "day": monday.isoformat()},
                )  # fmt: skip
                page_slots = html.count('name="slot"')
                shown("step 2, 7 days", counted, page_slots, "slot")
                sunday = monday + timedelta(days=DAYS_PER_PAGE - 1)
                body = await get(
                    "API slots, 7 days", api, "/api/v1/slots", counted,
                    params={**query, "from": monday.isoformat(), "to": sunday.isoformat()},
                )  # fmt: skip
                api_slots = json.loads(body)["slots"]
                shown("API slots, 7 days", counted, len(api_slots), "slot")
                # The page offers each start time once, whoever is free then.
                starts = len({slot["start"] for slot in api_slots})
                if page_slots != starts:
                    raise SystemExit(
                        f"step 2 from {monday} offers {page_slots} times, the API {starts}"
                    )
            body = await get(
                "API slots, 28 days", api, "/api/v1/slots", counted,
                params={**query, "from": FIRST_DAY.isoformat(), "to": last_day.isoformat()},
            )  # fmt: skip
            shown("API slots, 28 days", counted, body.count('"agent_id"'), "slot")
    finally:
        for client in (desk, agent, api):
            await client.close()
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await runner.cleanup()
    # The four weeks as the desk would page through them: each round's step 2 requests summed.
    pages = timings["step 2, 7 days"]
    timings["step 2, 4 pages summed"] = Timings(
        round_trip=[
            sum(pages.round_trip[k : k + WEEKS]) for k in range(0, len(pages.shown), WEEKS)
        ],
        server=[sum(pages.server[k : k + WEEKS]) for k in range(0, len(pages.shown), WEEKS)],
        statements={WEEKS * n for n in pages.statements},
        shown=[sum(pages.shown[k : k + WEEKS]) for k in range(0, len(pages.shown), WEEKS)],
    )
    return timings


def report(backend: str, data: DataSet, timings: dict[str, Timings], warmup: int) -> None:
    last_day = FIRST_DAY + timedelta(days=7 * WEEKS - 1)
    print(
        f"{backend}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; demo clock {NOW.astimezone(PARIS)}"
        f" (Paris); {data.agents} agents of one partner, one motive at {data.site_name} "
        f"({data.stations} stations), {data.bookings} of their bookings; {warmup} warm-up "
        f"rounds not counted; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    print(
        f"  step 2 = /desk/book/slots with day= each Monday from {FIRST_DAY} to "
        f"{last_day - timedelta(days=6)}: {DAYS_PER_PAGE} days a request, {WEEKS * 7} days "
        f"({FIRST_DAY} to {last_day}) over each round's {WEEKS} requests"
    )
    print(
        f"  {'':<24}{'round trip ms':>22}{'server ms':>20}{'requests':>10}"
        f"{'SQL/request':>13}{'shown/request':>15}"
    )
    print(f"  {'':<24}{'median':>11}{'p95':>11}{'median':>10}{'p95':>10}")
    for name, measured in timings.items():
        print(
            f"  {name:<24}{statistics.median(measured.round_trip):>11.1f}"
            f"{percentile(measured.round_trip, 0.95):>11.1f}"
            f"{statistics.median(measured.server):>10.1f}{percentile(measured.server, 0.95):>10.1f}"
            f"{len(measured.round_trip):>10}{sorted(measured.statements)!s:>13}"
            f"{statistics.median(measured.shown):>15.0f}"
        )
    p95 = {name: percentile(measured.round_trip, 0.95) for name, measured in timings.items()}
    server_p95 = {name: percentile(measured.server, 0.95) for name, measured in timings.items()}
    ratio = p95["step 2, 7 days"] / p95["API slots, 7 days"]
    server_ratio = server_p95["step 2, 7 days"] / server_p95["API slots, 7 days"]
    print(
        f"  step 2 p95 / API p95 over the same 7 days: {ratio:.2f} round trip, "
        f"{server_ratio:.2f} server (target <= {TARGET_RATIO}); over 28 days, the 4 pages "
        f"summed / one API call: {p95['step 2, 4 pages summed'] / p95['API slots, 28 days']:.2f}"
        f" (p95s, no target)"
    )
    misses = [
        f"{name} p95 {p95[name]:.1f} ms > {TARGET_MS:.0f} ms"
        for name in ("GET /desk", "step 2, 7 days", "GET /agenda")
        if p95[name] > TARGET_MS
    ]
    if ratio > TARGET_RATIO:
        misses.append(f"step 2 {ratio:.2f}x the API call > {TARGET_RATIO}x")
    verdict = "FAIL: " + "; ".join(misses) if misses else "PASS"
    print(
        f"  targets (round-trip p95 <= {TARGET_MS:.0f} ms for each page, step 2 <= "
        f"{TARGET_RATIO}x the API over the same days): {verdict}"
    )
    api = p95["API slots, 7 days"]
    for name in ("GET /desk", "GET /agenda", "step 2, 7 days"):
        checked = f"p95 <= {TARGET_MS:.0f} ms: {'PASS' if p95[name] <= TARGET_MS else 'FAIL'}"
        if name.startswith("step 2"):
            checked += f"; <= {TARGET_RATIO}x: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}"
        result(bench="pages", database=backend, figure=f"{name}: p95 {p95[name]:.1f} ms",
               baseline=f"GET /api/v1/slots, 7 days, same rounds: p95 {api:.1f} ms",
               share=p95[name] / api, check=checked)  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=200, help="rounds measured (requests a page)")
    parser.add_argument("--warmup", type=int, default=10, help="rounds first, not measured")
    parser.add_argument("--quick", action="store_true", help="30 rounds after 3 warm-up rounds")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--bookings", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    rounds, warmup = (30, 3) if arguments.quick else (arguments.repeat, arguments.warmup)
    backend = "postgresql" if (arguments.database_url or "").startswith("postgresql") else "sqlite"
    async with scratch_database(arguments.database_url) as url:
        data = await populate(url, arguments.agents, arguments.bookings, arguments.seed)
        timings = await measure(url, data, rounds, warmup)
    report(backend, data, timings, warmup)


if __name__ == "__main__":
    asyncio.run(main())
