"""Booking bursts against a `visio serve` process interrupted by a signal: what each client
got, and what the database holds afterwards. Used by tests/test_shutdown.py and by
bench/bench_faults.py.

Every request books a different slot (eight agents, each with a station of their own, six
half hours on one Monday morning), so every booking the server answers is a 201, and each
one names its citizen ("Rafale <n>"): the database says which requests it kept.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import holidays
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.test_cli import environment, logged_port
from tests.test_concurrency import seed
from visio.db.engine import make_sessionmaker
from visio.db.models import Appointment, Citizen, Station

SECRET = "faults-secret-" + "f" * 40
PAIRS = 8  # agents, each with a station
HALF_HOURS = 6  # 9:00 to 12:00
LARGEST_BURST = PAIRS * HALF_HOURS
PARIS = ZoneInfo("Europe/Paris")


def burst_monday() -> datetime:
    """9:00 in Paris on the first Monday two weeks ahead or later that is not a public
    holiday (an Easter Monday has no slot): the servers run on the real clock."""
    today = datetime.now(UTC).astimezone(PARIS).date()
    day = today + timedelta(days=14 - today.weekday())
    off = holidays.country_holidays("FR", years=[day.year, day.year + 1])
    while day in off:
        day += timedelta(days=7)
    return datetime.combine(day, wall(9), PARIS)


async def seed_world(engine: AsyncEngine) -> dict[str, Any]:
    """The house, its eight agents and stations, and a desk's API token."""
    world = await seed(engine, stations=PAIRS, agents=PAIRS)
    async with make_sessionmaker(engine)() as session:
        world["station_ids"] = list(
            (await session.scalars(select(Station.id).order_by(Station.id))).all()
        )
    world["monday"] = burst_monday()
    return world


def booking(world: dict[str, Any], number: int) -> dict[str, Any]:
    pair, half_hour = number % PAIRS, number // PAIRS
    start: datetime = world["monday"] + timedelta(minutes=30 * half_hour)
    return {
        "site_id": world["site_id"],
        "motive_id": world["motive_id"],
        "start": start.isoformat(),
        "agent_id": world["agent_ids"][pair],
        "station_id": world["station_ids"][pair],
        "citizen": {"first_name": "Usager", "last_name": f"Rafale {number}"},
    }


@dataclass
class Answer:
    """What the client of one request got: a status, or the failure it saw instead."""

    number: int
    status: int | None = None
    appointment_id: int | None = None
    # "refused": no connection could be made; "reset": the connection was cut after the
    # request went out (the client cannot know whether it was booked).
    failure: str | None = None


@dataclass
class Burst:
    answers: list[Answer]
    answered_at_signal: int
    signalled_at: float = 0.0
    statuses: Counter[int | str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.statuses = Counter(
            answer.status if answer.status is not None else str(answer.failure)
            for answer in self.answers
        )

    @property
    def created(self) -> dict[int, int]:
        """Request number → appointment id, for the requests answered 201."""
        return {
            answer.number: answer.appointment_id
            for answer in self.answers
            if answer.status == 201 and answer.appointment_id is not None
        }


def start_server(url: str, log_path: Path, **variables: str) -> tuple[subprocess.Popen[str], str]:
    """`visio serve` on a free loopback port, its log in `log_path`; returns it and its URL
    once it listens. Port 0: the server takes the port the system gives it and names it in
    its banner, so no other process can take it between the choice and the bind."""
    env = environment(
        **{"VISIO_SECRET_KEY": SECRET, "VISIO_DATABASE_URL": url, "VISIO_RUN_WORKER": "false",
           **variables}
    )  # fmt: skip
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "visio", "serve", "--port", "0"],
            env=env, stdout=log_file, stderr=log_file, text=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{logged_port(log_path, server)}"
    except BaseException:
        server.kill()
        server.wait()
        raise
    return server, base


async def fire(
    base_url: str,
    world: dict[str, Any],
    count: int,
    *,
    server: subprocess.Popen[str],
    signal_number: int,
    after_answers: int,
) -> Burst:
    """`count` bookings sent at once, each on a connection of its own; once every request
    has gone out (its headers and body written) and `after_answers` of them are answered,
    `signal_number` goes to the server. Waits for every answer (or failure)."""
    assert count <= LARGEST_BURST
    headers = {"Authorization": f"Bearer {world['token']}"}
    sent = 0
    answered = 0
    all_sent = asyncio.Event()
    enough_answered = asyncio.Event()

    async def on_sent(*_arguments: Any) -> None:
        nonlocal sent
        sent += 1
        if sent == count:
            all_sent.set()

    tracing = aiohttp.TraceConfig()
    tracing.on_request_headers_sent.append(on_sent)
    # A connection per request: no request rides on a connection the server is closing.
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[tracing]
    ) as client:

        async def one(number: int) -> Answer:
            nonlocal answered
            answer = Answer(number)
            try:
                async with client.post(
                    f"{base_url}/api/v1/appointments", json=booking(world, number), headers=headers
                ) as response:
                    answer.status = response.status
                    if response.status == 201:
                        answer.appointment_id = (await response.json())["id"]
                    else:
                        await response.read()
            except aiohttp.ClientConnectorError:
                answer.failure = "refused"
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
                answer.failure = "reset"
            answered += 1
            if answered >= after_answers:
                enough_answered.set()
            return answer

        tasks = [asyncio.create_task(one(number)) for number in range(count)]
        await all_sent.wait()
        await enough_answered.wait()
        answered_at_signal = answered
        signalled_at = time.monotonic()
        server.send_signal(signal_number)
        answers = await asyncio.gather(*tasks)
    return Burst(list(answers), answered_at_signal, signalled_at)


async def stored_bookings(engine: AsyncEngine) -> Counter[int]:
    """Request number → how many appointments the database holds for it."""
    async with make_sessionmaker(engine)() as session:
        names = await session.scalars(
            select(Citizen.last_name)
            .join(Appointment, Appointment.citizen_id == Citizen.id)
            .where(Citizen.last_name.like("Rafale %"))
        )
        return Counter(int(name.removeprefix("Rafale ")) for name in names)


def read_log(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def wait_for_log(path: Path, fragment: str, server: subprocess.Popen[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if fragment in read_log(path):
            return True
        if server.poll() is not None:
            return fragment in read_log(path)
        time.sleep(0.02)
    return False
