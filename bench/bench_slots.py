"""Slot search, end to end: GET /api/v1/slots over HTTP on loopback, on SQLite or PostgreSQL.

Builds a generated data set (5 sites with 2 stations each, 7 partners, N agents with 2 to 5
half-day permanences, existing bookings over 4 weeks), serves it with `create_app`, and
times 4-week searches for random (site, motive) pairs from one client. Prints:

- end-to-end latency (median, p95) of GET /api/v1/slots, and of the same search with
  agent=any (one row per start time);
- the engine alone on the same inputs (median, p95);
- SQL statements per search (the service alone, and the whole request with sign-in);
- with --compare, the same at 4x the agents and bookings, and the ratio of engine medians;
- the same-run baseline: GET /select of the bare aiohttp server of bench/baseline.py (one
  SELECT of ten rows on the same database through the same engine settings, no sign-in),
  served from this process as visio is and asked by the same client in the same rounds,
  one after each search: the floor under a web request that reads. The p95 of each search
  is marked as a result for `python -m bench` (bench/report.py) beside the bare p95.

    python bench/bench_slots.py                                # SQLite, 50 agents
    python bench/bench_slots.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python bench/bench_slots.py --compare                      # 50 and 200 agents

The PostgreSQL database named is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import SELECT_ROWS, bare_server
from report import result

from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import (
    Agent,
    Appointment,
    AvailabilityRule,
    Motive,
    OpeningHour,
    Partner,
    Role,
    Site,
    Station,
)
from visio.db.models.agents import rule_sites
from visio.keys import ENGINE
from visio.scheduling import find_slots
from visio.services import accounts, availability, slots
from visio.settings import Settings

PARIS = ZoneInfo("Europe/Paris")
# Monday 7 September 2026 09:00 in Paris: four ordinary weeks ahead, no public holiday.
NOW = datetime(2026, 9, 4, 7, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 9, 7)
DAYS = 28
HALF_DAYS = ((wall(9), wall(12)), (wall(13, 30), wall(17)))
TARGET_P95_MS = 25.0  # GET /api/v1/slots, on each database


@dataclass
class DataSet:
    pairs: list[tuple[int, int]]  # (site_id, motive_id) that some agent serves
    token: str
    bookings: int


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def populate(url: str, agents: int, bookings: int, seed: int) -> DataSet:
    rng = random.Random(seed)
    engine = make_engine(url)
    await upgrade_engine(engine)
    async with make_sessionmaker(engine)() as session, session.begin():
        sites = []
        for number in range(5):
            site = Site(name=f"Maison {number}", commune=f"Commune {number}",
                        timezone="Europe/Paris", created_at=NOW)  # fmt: skip
            site.opening_hours = [
                OpeningHour(weekday=day, start=start, end=end)
                for day in range(1, 6)
                for start, end in HALF_DAYS
            ]
            site.stations = [Station(name=f"Cabine {k}", created_at=NOW) for k in (1, 2)]
            session.add(site)
            sites.append(site)
        partners = []
        for number in range(7):
            partner = Partner(code=f"P{number}", name=f"Partner {number}", created_at=NOW)
            partner.motives = [
                Motive(name=f"Motive {number}.{k}", duration_minutes=30,
                       buffer_after_minutes=5 * (k % 2), min_notice_minutes=60,
                       horizon_days=60, documents=[], reminder_offsets=[60])
                for k in range(2)
            ]  # fmt: skip
            session.add(partner)
            partners.append(partner)
        await session.flush()
        agent_rows = [
            {"partner_id": partners[i % 7].id, "name": f"Agent {i}",
             "email": f"agent{i}@bench.example", "timezone": "Europe/Paris", "locale": "fr",
             "created_at": NOW}
            for i in range(agents)
        ]  # fmt: skip
        agent_ids = list(
            (await session.execute(insert(Agent).returning(Agent.id), agent_rows)).scalars()
        )
        # Permanences: 2 to 5 half-days a week, each for 2 or 3 of the sites.
        permanences: dict[int, list[tuple[int, tuple[wall, wall], list[int]]]] = {}
        rule_rows, links = [], []
        for agent_id in agent_ids:
            chosen = rng.sample([(d, h) for d in range(1, 6) for h in HALF_DAYS], rng.randint(2, 5))
            permanences[agent_id] = []
            for weekday, hours in chosen:
                served = rng.sample([site.id for site in sites], rng.randint(2, 3))
                rule_rows.append(
                    {
                        "agent_id": agent_id,
                        "weekdays": [weekday],
                        "start": hours[0],
                        "end": hours[1],
                        "every_weeks": 1,
                        "created_at": NOW,
                    }
                )
                permanences[agent_id].append((weekday, hours, served))
        rule_ids = list(
            (
                await session.execute(insert(AvailabilityRule).returning(AvailabilityRule.id),
                                      rule_rows)
            ).scalars()
        )  # fmt: skip
        flat = [(agent, rule) for agent in agent_ids for rule in permanences[agent]]
        for rule_id, (_agent, (_weekday, _hours, served)) in zip(rule_ids, flat, strict=True):
            links += [{"rule_id": rule_id, "site_id": site_id} for site_id in served]
        await session.execute(insert(rule_sites), links)

        # Existing bookings on the grid of the permanences, never clashing.
        motive_of = {p.id: [m for m in p.motives] for p in partners}
        partner_of = {agent_ids[i]: partners[i % 7].id for i in range(agents)}
        stations_of = {site.id: [s.id for s in site.stations] for site in sites}
        taken: set[tuple[str, int, datetime]] = set()
        rows: list[dict[str, Any]] = []
        attempts = 0
        while len(rows) < bookings and attempts < bookings * 50:
            attempts += 1
            agent_id = rng.choice(agent_ids)
            weekday, (start, end), served = rng.choice(permanences[agent_id])
            week = rng.randrange(DAYS // 7)
            day = FIRST_DAY + timedelta(days=week * 7 + weekday - 1)
            cells = int((datetime.combine(day, end) - datetime.combine(day, start)) / timedelta(
                minutes=30))  # fmt: skip
            begin = datetime.combine(day, start, tzinfo=PARIS) + timedelta(
                minutes=30 * rng.randrange(cells)
            )
            begin = begin.astimezone(UTC)
            site_id = rng.choice(served)
            station = next(
                (s for s in stations_of[site_id] if ("station", s, begin) not in taken), None
            )
            if ("agent", agent_id, begin) in taken or station is None:
                continue
            taken.add(("agent", agent_id, begin))
            taken.add(("station", station, begin))
            motive = rng.choice(motive_of[partner_of[agent_id]])
            rows.append({
                "site_id": site_id, "station_id": station, "partner_id": partner_of[agent_id],
                "motive_id": motive.id, "agent_id": agent_id, "start_at": begin,
                "end_at": begin + timedelta(minutes=30), "busy_from": begin,
                "busy_until": begin + timedelta(minutes=30),
                "room": "visio-" + secrets.token_hex(13), "status": "booked",
            })  # fmt: skip
        for chunk in range(0, len(rows), 2000):
            await session.execute(insert(Appointment), rows[chunk : chunk + 2000])
        user = await accounts.create_user(
            session, None, email="bench@bench.example", name="Bench", role=Role.ADMIN, now=NOW
        )
        token = (
            await accounts.create_token(session, None, user_id=user.id, label="bench", now=NOW)
        ).token
        served_pairs = {
            (site_id, motive.id)
            for agent_id in agent_ids
            for _weekday, _hours, served in permanences[agent_id]
            for site_id in served
            for motive in motive_of[partner_of[agent_id]]
        }
    await engine.dispose()
    return DataSet(pairs=sorted(served_pairs), token=token, bookings=len(rows))


@asynccontextmanager
async def scratch_database(url: str | None) -> AsyncIterator[str]:
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"visio_bench_{secrets.token_hex(4)}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def measure(url: str, agents: int, bookings: int, requests: int, seed: int) -> dict[str, Any]:
    data = await populate(url, agents, bookings, seed)
    rng = random.Random(seed + 1)
    app = create_app(Settings(database_url=url, secret_key="b" * 40), clock=lambda: NOW)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    engine = app[ENGINE]
    statements = [0]

    def count(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Transaction control is not a query; SQLite's BEGIN IMMEDIATE would count otherwise.
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    headers = {"Authorization": f"Bearer {data.token}"}
    latencies: list[float] = []
    latencies_any: list[float] = []
    latencies_bare: list[float] = []
    per_request: set[int] = set()
    slots_seen: list[int] = []
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    try:
        async with (
            aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client,
            bare_server(url) as bare_base,
            aiohttp.ClientSession(bare_base) as bare_client,
        ):
            for index in range(requests + 20):
                site_id, motive_id = rng.choice(data.pairs)
                params = {"site_id": site_id, "motive_id": motive_id,
                          "from": FIRST_DAY.isoformat(), "to": last.isoformat()}  # fmt: skip
                statements[0] = 0
                began = time.perf_counter()
                async with client.get("/api/v1/slots", params=params, headers=headers) as reply:
                    body = await reply.json()
                    assert reply.status == 200, body
                elapsed = time.perf_counter() - began
                counted = statements[0]
                # The same search for any agent: one row per start time.
                began = time.perf_counter()
                async with client.get(
                    "/api/v1/slots", params={**params, "agent": "any"}, headers=headers
                ) as reply:
                    times = await reply.json()
                    assert reply.status == 200, times
                elapsed_any = time.perf_counter() - began
                assert len(times["slots"]) == len({slot["start"] for slot in body["slots"]})
                # The baseline: the bare server's one SELECT, in the same round.
                began = time.perf_counter()
                async with bare_client.get("/select") as reply:
                    rows = await reply.json()
                    assert reply.status == 200 and len(rows) == SELECT_ROWS, rows
                elapsed_bare = time.perf_counter() - began
                if index >= 20:  # the first ones warm caches and the pool
                    latencies.append(elapsed * 1000)
                    latencies_any.append(elapsed_any * 1000)
                    latencies_bare.append(elapsed_bare * 1000)
                    per_request.add(counted)
                    slots_seen.append(len(body["slots"]))

        # The service alone: statements, then the engine alone on the loaded inputs.
        actor = accounts.Actor(user_id=0, email="", name="", role=Role.ADMIN, locale="fr")
        service_statements: set[int] = set()
        engine_times: list[float] = []
        async with make_sessionmaker(engine)() as session:
            for site_id, motive_id in rng.sample(data.pairs, min(20, len(data.pairs))):
                statements[0] = 0
                await slots.search_slots(
                    session, actor, site_id=site_id, motive_id=motive_id, first_day=FIRST_DAY,
                    last_day=last, now=NOW,
                )  # fmt: skip
                service_statements.add(statements[0])
                inputs = await availability.load_inputs(
                    session, site_id=site_id, motive_id=motive_id, first_day=FIRST_DAY,
                    last_day=last,
                )  # fmt: skip
                for _ in range(25):
                    began = time.perf_counter()
                    find_slots(inputs.site, inputs.stations, inputs.motive, inputs.agents,
                               FIRST_DAY, last, NOW)  # fmt: skip
                    engine_times.append((time.perf_counter() - began) * 1000)
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        await runner.cleanup()
    return {
        "agents": agents,
        "bookings": data.bookings,
        "http_median": statistics.median(latencies),
        "http_p95": percentile(latencies, 0.95),
        "any_median": statistics.median(latencies_any),
        "any_p95": percentile(latencies_any, 0.95),
        "bare_median": statistics.median(latencies_bare),
        "bare_p95": percentile(latencies_bare, 0.95),
        "engine_median": statistics.median(engine_times),
        "engine_p95": percentile(engine_times, 0.95),
        "statements_request": sorted(per_request),
        "statements_service": sorted(service_statements),
        "slots_median": statistics.median(slots_seen),
    }


def report(backend: str, figures: dict[str, Any]) -> None:
    print(
        f"{backend:<10} agents={figures['agents']:<4} bookings={figures['bookings']:<5} "
        f"GET /api/v1/slots median={figures['http_median']:.1f} ms "
        f"p95={figures['http_p95']:.1f} ms | agent=any median={figures['any_median']:.1f} ms "
        f"p95={figures['any_p95']:.1f} ms | engine median={figures['engine_median']:.2f} ms "
        f"p95={figures['engine_p95']:.2f} ms | statements: search={figures['statements_service']}"
        f" request={figures['statements_request']} | slots/search={figures['slots_median']:.0f}"
    )
    bare = figures["bare_p95"]
    print(
        f"{backend:<10} same-run baseline, bare aiohttp GET /select (one SELECT of "
        f"{SELECT_ROWS} rows): median={figures['bare_median']:.1f} ms p95={bare:.1f} ms | "
        f"p95 of GET /api/v1/slots {figures['http_p95'] / bare:.1f}x it, agent=any "
        f"{figures['any_p95'] / bare:.1f}x it"
    )
    verdict = "PASS" if figures["http_p95"] <= TARGET_P95_MS else "FAIL"
    for what, key, checked in (
        ("GET /api/v1/slots", "http_p95", f"p95 <= {TARGET_P95_MS:.0f} ms: {verdict}"),
        ("agent=any", "any_p95", "its times = the per-agent starts"),
    ):
        result(bench="slots", database=backend,
               figure=f"{what}, {figures['agents']} agents, 28 days: p95 {figures[key]:.1f} ms",
               baseline=f"bare aiohttp GET /select (one SELECT), p95 {bare:.1f} ms",
               share=figures[key] / bare, check=checked)  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--compare", action="store_true", help="also with 4x the agents")
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    backend = "postgresql" if (arguments.database_url or "").startswith("postgresql") else "sqlite"
    runs = [(arguments.agents, arguments.bookings)]
    if arguments.compare:
        # Same bookings: the question is how the cost grows with the number of agents.
        runs.append((arguments.agents * 4, arguments.bookings))
    results = []
    for agents, bookings in runs:
        async with scratch_database(arguments.database_url) as url:
            figures = await measure(url, agents, bookings, arguments.requests, arguments.seed)
        report(backend, figures)
        results.append(figures)
    if len(results) == 2:
        ratio = results[1]["engine_median"] / results[0]["engine_median"]
        http_ratio = results[1]["http_median"] / results[0]["http_median"]
        any_ratio = results[1]["any_p95"] / results[0]["any_p95"]
        print(f"{backend:<10} {results[1]['agents']} vs {results[0]['agents']} agents: engine "
              f"median ×{ratio:.2f}, end-to-end median ×{http_ratio:.2f}, "
              f"agent=any end-to-end p95 ×{any_ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
