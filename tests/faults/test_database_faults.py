"""The database stopped, then frozen, under a running `visio serve`: clients get a 503 they
can act on (the error format with Retry-After for the API, a readable page for people,
/readyz not ready), never a request left hanging; the log says it once per outage; the same
process answers again as soon as the database is back.

The server is the tests' own PostgreSQL (`own_postgres`), never the machine's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.faults.bursts import booking, read_log, seed_world, start_server
from tests.faults.postgres import OwnPostgres
from tests.test_cli import free_port
from visio.db.engine import make_engine

pytestmark = pytest.mark.postgres

# Short waits, for the test's own duration; the defaults are 5 and 10 seconds.
CONNECT_TIMEOUT = 1
STATEMENT_TIMEOUT = 2
# A request left hanging fails the test rather than the test waiting for ever.
CLIENT_TIMEOUT = 30


@dataclass(frozen=True)
class Probe:
    """One request as a client makes it."""

    name: str
    method: str
    path: str
    token: bool = False
    language: str | None = None
    booking: int | None = None

    @property
    def is_page(self) -> bool:
        return not self.path.startswith(("/api/", "/readyz"))


PROBES = [
    Probe("sites", "GET", "/api/v1/sites", token=True),
    Probe("sites in English", "GET", "/api/v1/sites", token=True, language="en"),
    Probe("booking", "POST", "/api/v1/appointments", token=True, booking=40),
    # A page that reads the database for anybody: a password link is looked up.
    Probe("page", "GET", "/password/reset/visio_reset_of-no-one"),
    Probe("page in English", "GET", "/password/reset/visio_reset_of-no-one", language="en"),
    Probe("readyz", "GET", "/readyz"),
    Probe("readyz with a token", "GET", "/readyz", token=True),
]


@dataclass
class Reply:
    probe: Probe
    status: int
    headers: dict[str, str]
    text: str
    seconds: float

    def json(self) -> Any:
        import json

        return json.loads(self.text)


async def ask(base: str, world: dict[str, Any], probes: list[Probe]) -> list[Reply]:
    """Every probe at once; how each was answered and how long it took."""
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as client:

        async def one(probe: Probe) -> Reply:
            headers = {"Accept-Language": probe.language or "fr"}
            if probe.token:
                headers["Authorization"] = f"Bearer {world['token']}"
            body = booking(world, probe.booking) if probe.booking is not None else None
            started = time.monotonic()
            async with client.request(
                probe.method, base + probe.path, headers=headers, json=body, allow_redirects=False
            ) as response:
                text = await response.text()
            return Reply(probe, response.status, dict(response.headers), text,
                         time.monotonic() - started)  # fmt: skip

        return list(await asyncio.gather(*(one(probe) for probe in probes)))


def assert_unavailable(replies: list[Reply]) -> None:
    """Every reply a 503 a client can act on, in its own language."""
    for reply in replies:
        probe = reply.probe
        assert reply.status == 503, (probe.name, reply.status, reply.text[:500])
        if probe.path == "/readyz" and not probe.token:
            assert reply.json()["status"] == "not_ready"
            continue
        assert 1 <= int(reply.headers["Retry-After"]) <= 60, probe.name
        english = probe.language == "en"
        if probe.is_page:
            assert reply.headers["Content-Type"].startswith("text/html"), probe.name
            title = "Service temporarily unavailable" if english else "Service momentanément"
            assert title in reply.text, probe.name
            assert "Traceback" not in reply.text
        else:
            error = reply.json()["error"]
            assert error["code"] == "service_unavailable", probe.name
            message = "temporarily unavailable" if english else "momentanément indisponible"
            assert message in error["message"], (probe.name, error)


def assert_answering(replies: list[Reply]) -> None:
    expected = {"booking": 201}
    for reply in replies:
        wanted = expected.get(reply.probe.name, 404 if reply.probe.is_page else 200)
        assert reply.status == wanted, (reply.probe.name, reply.status, reply.text[:500])


@pytest.fixture(scope="module")
def world(own_postgres: OwnPostgres) -> dict[str, Any]:
    async def build() -> dict[str, Any]:
        engine = make_engine(own_postgres.url)
        try:
            return await seed_world(engine)
        finally:
            await engine.dispose()

    return asyncio.run(build())


@pytest.fixture
def serving(own_postgres: OwnPostgres, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`visio serve` on the tests' PostgreSQL with short timeouts, its outbox sender
    running (towards a port where no mail server listens): its URL and its log."""
    log_path = tmp_path / "serve.log"
    server, base = start_server(
        own_postgres.url, log_path, VISIO_DB_CONNECT_TIMEOUT=str(CONNECT_TIMEOUT),
        VISIO_DB_STATEMENT_TIMEOUT=str(STATEMENT_TIMEOUT), VISIO_RUN_WORKER="true",
        VISIO_SMTP_HOST="127.0.0.1", VISIO_SMTP_PORT=str(free_port()), VISIO_SMTP_TLS="none",
    )  # fmt: skip
    try:
        yield base, log_path
    finally:
        own_postgres.thaw()
        server.terminate()
        server.wait(timeout=60)


def outage_lines(log: str) -> tuple[int, int]:
    """The lines saying an outage began and ended (the outbox sender, which tries every
    second, says so at most once as well)."""
    assert log.count("outbox: the database cannot be reached") <= 1, log
    return log.count("database unreachable"), log.count("database reachable again")


async def test_database_stopped_then_started_again(
    own_postgres: OwnPostgres, world: dict[str, Any], serving: tuple[str, Path]
) -> None:
    base, log_path = serving
    probes = [probe for probe in PROBES if probe.name != "booking"]
    assert_answering(await ask(base, world, probes))

    own_postgres.stop()
    try:
        first = await ask(base, world, PROBES)
        assert_unavailable(first)
        assert_unavailable(await ask(base, world, PROBES))  # still out: the same answers
        log = read_log(log_path)
        # Fourteen refusals, one line; no traceback.
        assert outage_lines(log) == (1, 0), log
        assert "Traceback" not in log, log
    finally:
        own_postgres.start()

    # The same process, without a restart: the pool makes new connections.
    again = await ask(base, world, PROBES)
    assert_answering(again)
    log = read_log(log_path)
    assert outage_lines(log) == (1, 1), log
    assert "Traceback" not in log, log
    print(f"database stopped: {len(first) * 2} requests answered 503, the longest in "
          f"{max(reply.seconds for reply in first):.2f} s")  # fmt: skip


async def test_database_frozen_then_thawed(
    own_postgres: OwnPostgres, world: dict[str, Any], serving: tuple[str, Path]
) -> None:
    base, log_path = serving
    probes = [probe for probe in PROBES if probe.name != "booking"]
    assert_answering(await ask(base, world, probes))

    own_postgres.freeze()
    try:
        # Requests on the connections the pool holds, and on new ones (several at once).
        frozen = await ask(base, world, PROBES + probes)
        assert_unavailable(frozen)
        log = read_log(log_path)
        assert outage_lines(log) == (1, 0), log
        assert "Traceback" not in log, log
    finally:
        own_postgres.thaw()

    assert_answering(await ask(base, world, probes))
    log = read_log(log_path)
    assert outage_lines(log) == (1, 1), log
    assert "Traceback" not in log, log
    longest = max(reply.seconds for reply in frozen)
    print(f"database frozen: {len(frozen)} requests answered 503, the longest in "
          f"{longest:.2f} s (connect timeout {CONNECT_TIMEOUT} s, statement timeout "
          f"{STATEMENT_TIMEOUT} s)")  # fmt: skip
