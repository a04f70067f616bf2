"""Booking throughput: POST /api/v1/appointments from 32 concurrent clients to one process.

Builds a data set (10 houses with 3 stations each, 60 agents of one partner available all
week), starts `visio serve` in its own process on a scratch database, and books
conflict-free slots as fast as 32 clients can (every booking queues its emails in the
outbox, in the same transaction). Then counts double bookings with GROUP BY … HAVING
count(*) > 1, per agent and per station, the outbox rows, and the bookings that queued no
confirmation for their agent. Prints bookings per second (target: at least 400/s on
SQLite and on PostgreSQL).

With `--keys`, every booking carries an `Idempotency-Key` of its own (what a careful
client sends), and once the run is over every booking is sent again with its key, as a
client that lost its answers would: each must come back as its first answer
(`Idempotent-Replayed: true`), and nothing more is booked.

    python bench/bench_booking.py                                   # SQLite
    python bench/bench_booking.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python bench/bench_booking.py --keys

The PostgreSQL database named is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_slots import scratch_database
from report import result

from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import (
    Agent,
    AvailabilityRule,
    Motive,
    OpeningHour,
    OutboxMessage,
    Partner,
    Role,
    Site,
    Station,
)
from visio.scheduling import public_holidays
from visio.services import accounts

SECRET = "bench-booking-" + "k" * 40
SITES, STATIONS, AGENTS = 10, 3, 60


def first_monday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=14 - today.weekday())


async def populate(url: str) -> tuple[str, list[dict[str, Any]]]:
    """The data set, and a shuffled list of booking requests that cannot conflict."""
    engine = make_engine(url)
    await upgrade_engine(engine)
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as session, session.begin():
        sites = []
        for number in range(SITES):
            site = Site(name=f"Maison {number}", commune=f"Commune {number}",
                        timezone="Europe/Paris", created_at=now)  # fmt: skip
            site.opening_hours = [
                OpeningHour(weekday=day, start=wall(8), end=wall(18)) for day in range(1, 6)
            ]
            site.stations = [Station(name=f"Cabine {k}", created_at=now) for k in range(STATIONS)]
            session.add(site)
            sites.append(site)
        partner = Partner(code="CAF", name="CAF", created_at=now)
        session.add(partner)
        await session.flush()
        motive = Motive(partner_id=partner.id, name="Prime d'activité", duration_minutes=30,
                        min_notice_minutes=0, horizon_days=90, documents=["Numéro d'allocataire"],
                        reminder_offsets=[1440, 60])  # fmt: skip
        session.add(motive)
        agents = [
            Agent(
                partner_id=partner.id,
                name=f"Agent {i}",
                email=f"agent{i}@caf.example",
                timezone="Europe/Paris",
                created_at=now,
            )
            for i in range(AGENTS)
        ]
        session.add_all(agents)
        await session.flush()
        for agent in agents:
            rule = AvailabilityRule(agent_id=agent.id, weekdays=[1, 2, 3, 4, 5], start=wall(8),
                                    end=wall(18), every_weeks=1, created_at=now)  # fmt: skip
            rule.sites, rule.motives = [], []
            session.add(rule)
        desk = await accounts.create_user(
            session, None, email="desk@bench.example", name="Desk", role=Role.DESK,
            site_ids=[site.id for site in sites], now=now,
        )  # fmt: skip
        token = (
            await accounts.create_token(session, None, user_id=desk.id, label="bench", now=now)
        ).token
        # Conflict-free requests: at each start, each agent and each station once at most.
        requests = []
        rng = random.Random(11)
        paris = ZoneInfo("Europe/Paris")
        monday = first_monday()
        agent_ids = [agent.id for agent in agents]
        closed = public_holidays(None, monday, monday + timedelta(days=40))
        for day in range(5 * 4 + 4):
            current = monday + timedelta(days=day)
            if current.weekday() >= 5 or current in closed:
                continue
            for half_hour in range(20):
                start = datetime.combine(current, wall(8), paris) + timedelta(
                    minutes=30 * half_hour
                )
                free_agents = rng.sample(agent_ids, len(agent_ids))
                for site in sites:
                    for station in site.stations:
                        requests.append({
                            "site_id": site.id, "motive_id": motive.id,
                            "start": start.isoformat(), "agent_id": free_agents.pop(),
                            "station_id": station.id,
                        })  # fmt: skip
        rng.shuffle(requests)
    await engine.dispose()
    return token, requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server stopped")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become ready")


async def load(
    port: int,
    token: str,
    requests: list[dict[str, Any]],
    clients: int,
    total: int,
    path: str = "/api/v1/appointments",
) -> tuple[float, dict[int | str, int]]:
    """Send the requests from `clients` clients at once; the time taken and how many got
    each status ("201 replayed": a first answer given again). A request with a "key"
    sends it as its Idempotency-Key; each request keeps the citizen it was sent with."""
    statuses: dict[int | str, int] = {}
    queue = iter(requests[:total])
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", connector=connector) as http:

        async def client(number: int) -> None:
            for request in queue:
                headers = {"Authorization": f"Bearer {token}"}
                body = dict(request)
                if "key" in body:
                    headers["Idempotency-Key"] = body.pop("key")
                body["citizen"] = request["citizen"] = request.get("citizen") or {
                    "first_name": f"Usager{number}", "last_name": f"Banc{request['agent_id']}",
                    "email": f"u{number}@courriel.example" if number % 2 else None}  # fmt: skip
                async with http.post(path, json=body, headers=headers) as reply:
                    await reply.read()
                    status: int | str = reply.status
                    if reply.headers.get("Idempotent-Replayed") == "true":
                        status = f"{reply.status} replayed"
                    statuses[status] = statuses.get(status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    return elapsed, statuses


async def double_bookings(url: str) -> tuple[int, int, int, int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            counts = []
            for column in ("agent_id", "station_id"):
                counts.append(
                    int(
                        await connection.scalar(
                            text(
                                f"SELECT count(*) FROM (SELECT {column}, start_at FROM "  # noqa: S608
                                "appointments WHERE status <> 'cancelled' "
                                f"GROUP BY {column}, start_at HAVING count(*) > 1) AS twice"
                            )
                        )
                        or 0
                    )
                )
            outbox = await connection.scalar(select(func.count()).select_from(OutboxMessage))
            # Every booking queued, in its own transaction, at least its agent's confirmation.
            unannounced = await connection.scalar(
                text(
                    "SELECT count(*) FROM appointments WHERE NOT EXISTS (SELECT 1 FROM "
                    "outbox_messages WHERE outbox_messages.appointment_id = appointments.id "
                    "AND outbox_messages.kind = 'booked.agent')"
                )
            )
            return counts[0], counts[1], int(outbox or 0), int(unannounced or 0)
    finally:
        await engine.dispose()


@asynccontextmanager
async def bare_server(url: str) -> AsyncIterator[int]:
    """The bare server of bench/baseline.py on the database, in a process of its own as
    `visio serve` runs here; its port, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("baseline.py")), "serve",
         "--database-url", url, "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.to_thread(wait_ready, port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


async def baseline(url: str, requests: list[dict[str, Any]], clients: int, total: int) -> float:
    """Requests per second of the bare one-INSERT server (bench/baseline.py) on the same
    database, with the same clients and bodies."""
    async with bare_server(url) as port:
        await load(port, "", requests[: total // 10], clients, total // 10, "/insert")
        elapsed, statuses = await load(port, "", requests, clients, total, "/insert")
    return statuses.get(201, 0) / elapsed


async def run(url: str, clients: int, total: int, warmup: int, keys: bool) -> None:
    token, requests = await populate(url)
    # The bare server before and after visio, so a machine slowing down in between shows.
    bare_before = await baseline(url, [dict(r) for r in requests], clients, total)
    if keys:
        requests = [{**request, "key": str(uuid.uuid4())} for request in requests]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIO_")}
    env.update(VISIO_DATABASE_URL=url, VISIO_SECRET_KEY=SECRET)
    server = subprocess.Popen(
        [sys.executable, "-m", "visio", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await asyncio.to_thread(wait_ready, port, server)
        await load(port, token, requests[:warmup], clients, warmup)
        elapsed, statuses = await load(port, token, requests[warmup:], clients, total)
        if keys:
            resent = requests[warmup : warmup + total]
            replay_elapsed, replays = await load(port, token, resent, clients, total)
    finally:
        server.terminate()
        server.wait(timeout=30)
    bare_after = await baseline(url, [dict(r) for r in requests], clients, total)
    agents_twice, stations_twice, outbox, unannounced = await double_bookings(url)
    backend = url.split(":")[0].split("+")[0]
    booked = statuses.get(201, 0)
    keyed = " with keys" if keys else ""
    print(
        f"{backend:<10} {clients} clients, {total} bookings{keyed}: "
        f"{booked / elapsed:.0f} bookings/s "
        f"({elapsed:.2f} s; statuses {dict(sorted(statuses.items(), key=str))}) | double bookings: "
        f"agents {agents_twice}, stations {stations_twice} | outbox rows {outbox}, "
        f"bookings without their agent's confirmation {unannounced}"
    )
    rate, bare = booked / elapsed, (bare_before + bare_after) / 2
    print(
        f"{backend:<10} same-run baseline, bare aiohttp + one INSERT transaction: "
        f"{bare_before:.0f} then {bare_after:.0f} requests/s | visio's share: {rate / bare:.0%}"
    )
    result(bench="booking", database=backend, figure=f"{rate:.0f} bookings/s",
           baseline=f"{bare:.0f} bare INSERT requests/s", share=rate / bare,
           check=f"double bookings {agents_twice + stations_twice}")  # fmt: skip
    if keys:
        print(
            f"{'':<10} every booking sent again with its key: {total / replay_elapsed:.0f} "
            f"answers/s ({replay_elapsed:.2f} s; statuses {dict(sorted(replays.items(), key=str))})"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bookings", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument(
        "--keys", action="store_true", help="an Idempotency-Key per booking, then each sent again"
    )
    arguments = parser.parse_args()
    async with scratch_database(arguments.database_url) as url:
        await run(url, arguments.clients, arguments.bookings, arguments.warmup, arguments.keys)


if __name__ == "__main__":
    asyncio.run(main())
