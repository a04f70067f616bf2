"""Scale-out for real: Debian's nginx with the site of `deploy/visio.nginx.conf` (adapted to
loopback), two `visio serve` processes and one `visio worker` on one PostgreSQL database,
and a real SMTP server (aiosmtpd).

Through nginx: concurrent bookings (no double booking, every refusal a 409), every email
once at the SMTP server, the citizen's arrival marked on one process and seen on the other,
a sign-in read by both, one process killed with SIGKILL while the other carries on.

In CI a missing nginx or openssl fails this test rather than skipping it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time as clock
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.nginx_loopback import nginx_conf, nginx_site
from tests.deploy.test_deploy_files import _tool, self_signed
from tests.handlers.test_pages import form_token
from tests.test_cli import environment, free_port, wait_for
from tests.test_concurrency import next_monday_10, seed
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import Appointment, AppointmentStatus, Role
from visio.services import accounts

pytestmark = pytest.mark.postgres

SECRET = "scale-out-secret-" + "s" * 30
DESK_EMAIL, PASSWORD = "guichet@visio.example", "un mot de passe assez long"
AGENTS = STATIONS = 4
SLOTS = 6  # Monday 09:00 to 12:00, 30 minutes each
CLIENTS = 8
SECURITY_HEADERS = (
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Referrer-Policy",
    "Strict-Transport-Security",
)


# ---------------------------------------------------------------- the SMTP server


class Inbox:
    """An aiosmtpd handler keeping the Message-ID and recipients of every message."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received: list[tuple[str, tuple[str, ...]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.received.append((str(parsed["Message-ID"]), tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        with self._lock:
            return Counter(message_id for message_id, _ in self.received)


# ---------------------------------------------------------------- the processes


@dataclass
class Deployment:
    """What the test started: their pids are stopped in `stopped()`, whatever happens."""

    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        # Popen only starts it; the test waits on it with the loop's threads.
        self.processes[name] = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{(self.folder / f'{name}.log').read_text(errors='replace')[-3000:]}"
            for name in self.processes
        )

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                continue
            # nginx: SIGQUIT, its graceful stop; visio: SIGTERM.
            process.send_signal(signal.SIGQUIT if name == "nginx" else signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def stopped(deployment: Deployment) -> Iterator[Deployment]:
    try:
        yield deployment
    finally:
        deployment.stop_all()


async def wait_https(url: str, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = clock.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as client:
        while clock.monotonic() < deadline:
            assert process.poll() is None, "nginx stopped"
            try:
                async with client.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer in {seconds} s")


# ---------------------------------------------------------------- the world


async def arrange(engine: AsyncEngine) -> dict[str, Any]:
    """A house with four stations and four agents holding Monday mornings, a desk's token,
    a desk account with a password, and an appointment starting now (to mark the arrival)."""
    world = await seed(engine, stations=STATIONS, agents=AGENTS)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    async with make_sessionmaker(engine)() as session, session.begin():
        await accounts.create_user(
            session, None, email=DESK_EMAIL, name="Guichet", role=Role.DESK,
            site_ids=[world["site_id"]], now=now, password=PASSWORD,
        )  # fmt: skip
        partner_id = await session.scalar(text("SELECT id FROM partners"))
        begin = now - timedelta(minutes=5)
        appointment = Appointment(
            site_id=world["site_id"], station_id=world["station_id"], partner_id=partner_id,
            motive_id=world["motive_id"], agent_id=world["agent_id"], start_at=begin,
            end_at=begin + timedelta(minutes=30), busy_from=begin,
            busy_until=begin + timedelta(minutes=30), status=AppointmentStatus.BOOKED,
            room="visio-" + "n" * 26,
        )  # fmt: skip
        session.add(appointment)
        await session.flush()
        world["arrival_id"] = appointment.id
    return world


def booking(world: dict[str, Any], week: int, pair: int, number: int) -> dict[str, Any]:
    """The booking of agent `pair % AGENTS` at slot `pair // AGENTS` on the Monday `week`
    weeks after the first one."""
    monday_9 = next_monday_10() - timedelta(hours=1) + timedelta(weeks=week)
    start = monday_9 + timedelta(minutes=30 * (pair // AGENTS))
    return {
        "site_id": world["site_id"],
        "motive_id": world["motive_id"],
        "agent_id": world["agent_ids"][pair % AGENTS],
        "start": start.isoformat(),
        "citizen": {
            "first_name": f"Usager {number}",
            "last_name": "Réparti",
            "email": f"usager{week}-{number}@example.org",
        },
    }


@dataclass
class Answer:
    status: int  # 0: no answer at all
    payload: Any = None
    headers: Any = None


async def send(client: aiohttp.ClientSession, method: str, url: str, **options: Any) -> Answer:
    try:
        async with client.request(method, url, **options) as response:
            payload = await response.json() if response.content_type == "application/json" else None
            return Answer(response.status, payload, response.headers)
    except aiohttp.ClientError:
        return Answer(0)


async def from_clients(
    requests: list[tuple[str, str, dict[str, Any]]], token: str, after: int = 0,
    when_answered: Any = None,
) -> list[Answer]:  # fmt: skip
    """The requests shared among CLIENTS clients, each with its own connections, all set off
    at once; `when_answered()` is called once `after` answers have come."""
    headers = {"Authorization": f"Bearer {token}"}
    answers: list[Answer | None] = [None] * len(requests)
    gate, answered = asyncio.Event(), [0]

    async def client_loop(first: int) -> None:
        connector = aiohttp.TCPConnector(ssl=False)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
            await gate.wait()
            for index in range(first, len(requests), CLIENTS):
                method, url, body = requests[index]
                answers[index] = await send(client, method, url, json=body, headers=headers)
                answered[0] += 1
                if when_answered is not None and answered[0] == after:
                    when_answered()

    tasks = [asyncio.create_task(client_loop(first)) for first in range(CLIENTS)]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(*tasks)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


DOUBLED = (
    "SELECT count(*) FROM (SELECT agent_id, start_at FROM appointments "
    "WHERE status <> 'cancelled' GROUP BY agent_id, start_at HAVING count(*) > 1) AS twice",
    "SELECT count(*) FROM (SELECT station_id, start_at FROM appointments "
    "WHERE status <> 'cancelled' GROUP BY station_id, start_at HAVING count(*) > 1) AS twice",
)


async def doubled(engine: AsyncEngine) -> int:
    """Agents or stations booked twice at one time (never, whatever happened)."""
    async with engine.connect() as connection:
        return sum([int(await connection.scalar(text(query)) or 0) for query in DOUBLED])


async def booked_ids(engine: AsyncEngine) -> set[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id FROM appointments WHERE status = 'booked'"))
        return {row.id for row in rows}


async def outbox(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, kind, status, appointment_id FROM outbox_messages ORDER BY id")
        )
        return list(rows)


async def drained(engine: AsyncEngine, seconds: float = 20) -> list[Any]:
    """The outbox once every message due now has an outcome (the reminders wait for their
    day), within `seconds`."""
    deadline = clock.monotonic() + seconds
    while True:
        rows = await outbox(engine)
        waiting = [row for row in rows if not row.kind.startswith("reminder.")]
        if all(row.status != "pending" for row in waiting) or clock.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.2)


def is_error_format(answer: Answer, code: str) -> bool:
    error = (answer.payload or {}).get("error", {})
    return error.get("code") == code and bool(error.get("message"))


# ---------------------------------------------------------------- the test


async def test_two_processes_behind_nginx(
    scratch_url: str, tmp_path: Path, record_property: Any
) -> None:
    nginx = _tool("nginx")
    folder = tmp_path
    (folder / "temp").mkdir()
    visio_ports, http, https = [free_port(), free_port()], free_port(), free_port()
    smtp_port = free_port()
    env = environment(
        VISIO_DATABASE_URL=scratch_url, VISIO_SECRET_KEY=SECRET, VISIO_RUN_WORKER="false",
        VISIO_BASE_URL=f"https://127.0.0.1:{https}", VISIO_SMTP_HOST="127.0.0.1",
        VISIO_SMTP_PORT=str(smtp_port), VISIO_SMTP_TLS="none",
        VISIO_MAIL_FROM="visio@mairie.example",
    )  # fmt: skip
    upgraded = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "visio", "db", "upgrade"], env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    engine = make_engine(scratch_url)
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    site = folder / "site.conf"
    certificate, key = self_signed(folder)
    site.write_text(nginx_site(certificate, key, http=http, https=https, upstreams=visio_ports))
    (folder / "nginx.conf").write_text(nginx_conf(folder, site))
    try:
        world = await arrange(engine)
        with stopped(Deployment(folder)) as deployment:
            for number, port in enumerate(visio_ports, 1):
                deployment.start(
                    f"serve-{number}",
                    [sys.executable, "-m", "visio", "serve", "--port", str(port)],
                    env,
                )
            deployment.start("worker", [sys.executable, "-m", "visio", "worker"], env)
            deployment.start(
                "nginx",
                [nginx, "-e", f"{folder}/nginx-error.log", "-p", str(folder),
                 "-c", str(folder / "nginx.conf")],
                env,
            )  # fmt: skip
            try:
                for number, port in enumerate(visio_ports, 1):
                    await asyncio.to_thread(
                        wait_for, f"http://127.0.0.1:{port}/readyz",
                        deployment.processes[f"serve-{number}"],  # type: ignore[arg-type]
                    )  # fmt: skip
                await wait_https(f"https://127.0.0.1:{https}/readyz", deployment.processes["nginx"])
                figures = await exercise(deployment, engine, world, inbox, visio_ports, http, https)
            except BaseException:
                print(deployment.logs())
                raise
    finally:
        smtp.stop()
        await engine.dispose()
    for line in figures:
        record_property("summary", line)


async def exercise(
    deployment: Deployment, engine: AsyncEngine, world: dict[str, Any], inbox: Inbox,
    visio_ports: list[int], http: int, https: int,
) -> list[str]:  # fmt: skip
    nginx_url = f"https://127.0.0.1:{https}"
    direct = [f"http://127.0.0.1:{port}" for port in visio_ports]
    token = world["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    figures: list[str] = []

    # 1. Forty bookings from eight clients through nginx: 24 distinct (agent, start) pairs,
    # 16 of them asked twice. Each pair is won once; the second asker gets a 409.
    pairs = list(range(AGENTS * SLOTS)) + list(range(16))
    random.Random(14).shuffle(pairs)
    requests = [
        ("POST", f"{nginx_url}/api/v1/appointments", booking(world, 0, pair, number))
        for number, pair in enumerate(pairs)
    ]
    answers = await from_clients(requests, token)
    statuses = Counter(answer.status for answer in answers)
    assert statuses == Counter({201: 24, 409: 16}), deployment.logs()
    assert all(is_error_format(a, "slot_unavailable") for a in answers if a.status == 409)
    won = {answer.payload["id"] for answer in answers if answer.status == 201}
    won_pairs = Counter(
        (answer.payload["agent_id"], answer.payload["start"])
        for answer in answers
        if answer.status == 201
    )
    assert len(won) == 24 and max(won_pairs.values()) == 1
    assert await doubled(engine) == 0
    assert await booked_ids(engine) == won | {world["arrival_id"]}
    figures.append(
        f"scale-out, 2 processes behind nginx: 40 bookings from {CLIENTS} clients, "
        f"{statuses[201]} answered 201, {statuses[409]} refused 409, 0 doubled"
    )

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as client:
        # Security headers once (visio's, nginx adds none to what it relays), and the
        # request id nginx drew and sent on is the one answered (a client's own is not
        # believed through nginx: nginx sets the header).
        for path, options in (("/login", {}), ("/api/v1/sites", {"headers": bearer})):
            headers = {"X-Request-Id": "chosen-by-the-client", **options.get("headers", {})}
            answer = await send(client, "GET", f"{nginx_url}{path}", headers=headers)
            assert answer.status == 200
            for name in SECURITY_HEADERS:
                assert len(answer.headers.getall(name, [])) == 1, (name, answer.headers)
            [request_id] = answer.headers.getall("X-Request-Id")
            assert re.fullmatch(r"[0-9a-f]{32}", request_id)
            access_log = (deployment.folder / "access.log").read_text()
            assert f"{request_id} 200 GET {path}" in access_log
        # Plain HTTP is sent to HTTPS.
        plain = await send(client, "GET", f"http://127.0.0.1:{http}/desk", allow_redirects=False)
        assert plain.status == 301 and plain.headers["Location"].startswith("https://")
        # The static files come from nginx, from this checkout's folder.
        css = await send(client, "GET", f"{nginx_url}/static/visio.css")
        assert css.status == 200 and css.headers["Content-Type"] == "text/css"
        assert len(css.headers.getall("X-Content-Type-Options")) == 1

        # 3. The citizen is here: marked through one process, seen through the other.
        arrival = world["arrival_id"]
        before = await send(client, "GET", f"{direct[1]}/api/v1/appointments/{arrival}",
                            headers=bearer)  # fmt: skip
        assert before.status == 200 and before.payload["arrived_at"] is None
        marked = await send(client, "POST", f"{direct[0]}/api/v1/appointments/{arrival}/arrived",
                            headers=bearer)  # fmt: skip
        assert marked.status == 200 and marked.payload["arrived_at"] is not None
        for base in (direct[1], nginx_url):
            seen = await send(client, "GET", f"{base}/api/v1/appointments/{arrival}",
                              headers=bearer)  # fmt: skip
            assert seen.status == 200
            assert seen.payload["arrived_at"] == marked.payload["arrived_at"]

        # 5. Signed in through nginx: both processes know the session (it is in the
        # database); without it, both send to the sign-in page.
        async with client.get(f"{nginx_url}/login") as response:
            csrf = form_token(await response.text())
        async with client.post(
            f"{nginx_url}/login",
            data={"email": DESK_EMAIL, "password": PASSWORD, "csrf_token": csrf},
            headers={"Cookie": f"visio_csrf={csrf}"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303, await response.text()
            session_cookie = response.cookies["visio_session"].value
        cookie = {"Cookie": f"visio_session={session_cookie}"}
        day = marked.payload["start"][:10]
        for base in direct:
            signed = await send(client, "GET", f"{base}/desk", allow_redirects=False,
                                headers=cookie)  # fmt: skip
            assert signed.status == 200, base
            stranger = await send(client, "GET", f"{base}/desk", allow_redirects=False)
            assert stranger.status == 303, base
            # The desk's page, as its script polls it, shows the arrival on both.
            status = await send(client, "GET", f"{base}/desk/status?day={day}", headers=cookie)
            [row] = [row for row in status.payload["appointments"] if row["id"] == arrival]
            assert row["arrival"] and not row["can_mark_arrived"], row
    figures.append(
        "scale-out: arrival marked on one process, seen on the other and through nginx; "
        "a sign-in through nginx opens /desk on both processes"
    )

    # 4. One process killed (SIGKILL) while bookings and reads go through nginx.
    killed = deployment.processes["serve-1"]

    def kill() -> None:
        os.kill(killed.pid, signal.SIGKILL)

    reads = sorted(won)
    during = [
        request
        for pair in range(AGENTS * SLOTS)
        for request in (
            ("POST", f"{nginx_url}/api/v1/appointments", booking(world, 1, pair, pair)),
            ("GET", f"{nginx_url}/api/v1/appointments/{reads[pair]}", None),
        )
    ]
    answers = await from_clients(during, token, after=6, when_answered=kill)
    assert killed.wait(timeout=10) == -signal.SIGKILL
    posts = [
        answer for answer, request in zip(answers, during, strict=True) if request[0] == "POST"
    ]
    gets = [answer for answer, request in zip(answers, during, strict=True) if request[0] == "GET"]
    # nginx sends every read again to the living process: none fails.
    assert Counter(answer.status for answer in gets) == Counter({200: len(gets)})
    post_statuses = Counter(answer.status for answer in posts)
    # Distinct pairs: none may be refused; one in flight to the dead process may fail.
    assert set(post_statuses) <= {201, 502, 0}, post_statuses
    answered_during = {answer.payload["id"] for answer in posts if answer.status == 201}

    # After it: everything goes to the living process and succeeds.
    after = [
        request
        for pair in range(12)
        for request in (
            ("POST", f"{nginx_url}/api/v1/appointments", booking(world, 2, pair, pair)),
            ("GET", f"{nginx_url}/api/v1/appointments/{reads[pair]}", None),
        )
    ]
    answers = await from_clients(after, token)
    assert Counter(answer.status for answer in answers) == Counter({201: 12, 200: 12})
    answered_after = {answer.payload["id"] for answer in answers if answer.status == 201}
    in_database = await booked_ids(engine)
    assert await doubled(engine) == 0
    # Nothing answered 201 is lost; a POST whose answer was lost may or may not be booked.
    assert won | answered_during | answered_after <= in_database
    unanswered_but_booked = len(in_database - won - answered_during - answered_after) - 1
    figures.append(
        f"scale-out, SIGKILL of one process amid {len(posts)} bookings and {len(gets)} reads "
        f"through nginx: bookings {post_statuses[201]} answered 201, "
        f"{len(posts) - post_statuses[201]} failed ({dict(post_statuses)}), "
        f"{unanswered_but_booked} of the failed booked all the same; reads "
        f"{len(gets)} answered 200; afterwards 12/12 bookings and 12/12 reads answered, "
        "0 doubled, 0 lost"
    )

    # 2. Every email once at the SMTP server, sent by the one worker.
    rows = await drained(engine)
    now_due = [row for row in rows if not row.kind.startswith("reminder.")]
    assert all(row.status == "sent" for row in now_due), [tuple(row) for row in now_due]
    received = inbox.message_ids()
    sent_ids = {f"<outbox-{row.id}@mairie.example>" for row in now_due}
    assert set(received) == sent_ids
    assert set(received.values()) == {1}, received.most_common(3)
    # One confirmation to the citizen of every appointment booked through the API.
    confirmations = Counter(row.appointment_id for row in now_due if row.kind == "booked.citizen")
    assert set(confirmations) == in_database - {world["arrival_id"]}
    assert set(confirmations.values()) == {1}
    figures.append(
        f"scale-out emails: {len(sent_ids)} due, {len(sent_ids)} sent by the worker, "
        f"{sum(received.values())} received by the SMTP server, none twice"
    )
    return figures
