"""The `visio` command, run as a person would: one clear line for every expected failure."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from visio.db.engine import make_engine

SECRET = "cli-secret-" + "y" * 40


def free_port() -> int:
    """A port free now, for a client to find nobody there. A server is better started with
    `--port 0` and `listening_port`: this port is released on return, and another process
    (a server of a parallel test, an outgoing connection) may take it before ours binds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The most a server is given to start: far above what it takes even on a busy machine, only
# there so that a server that never starts fails the test instead of hanging it.
START_SECONDS = 180


def listening_port(
    process: subprocess.Popen[str], last_line: str = "listening on", seconds: float = START_SECONDS
) -> tuple[int, str]:
    """The port of a `visio serve --port 0` (or `visio demo --port 0`) process, and its
    banner: printed once the socket listens, so nothing is polled and no port is guessed.
    Reads stdout up to the banner's last line (containing `last_line`), then leaves it."""
    assert process.stdout is not None
    stdout = process.stdout
    banner: list[str] = []

    def read() -> None:
        for line in stdout:
            banner.append(line)
            if last_line in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=seconds)
    text = "".join(banner)
    if reader.is_alive():
        raise AssertionError(f"no banner in {seconds} s: {text}")
    if last_line not in text:
        _out, errors = process.communicate(timeout=30)
        raise AssertionError(f"the server stopped: {text}{errors or ''}")
    found = re.search(r"http://[^\s:]+:(\d+)", text)
    assert found, text
    return int(found.group(1)), text


def environment(**variables: str) -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("VISIO_")}
    return {**clean, **variables}


def visio(
    *arguments: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visio", *arguments],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("visio: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def logged_port(log: Path, process: subprocess.Popen[str], seconds: float = START_SECONDS) -> int:
    """`listening_port` for a `visio serve --port 0` whose stdout goes to the file `log`: the
    port named in its banner, read once the banner is written (checked every 50 ms)."""
    deadline = time.monotonic() + seconds
    while True:
        text = log.read_text() if log.exists() else ""
        found = re.search(r"listening on http://[^\s:]+:(\d+)", text)
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            raise AssertionError(f"the server stopped: {text}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no banner in {seconds} s: {text}")
        time.sleep(0.05)


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = START_SECONDS) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the server stopped: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                return int(response.status)
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


@pytest.fixture
def server_processes() -> Iterator[list[subprocess.Popen[str]]]:
    """Servers started by a test, stopped by their pid afterwards."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.communicate(timeout=10)  # also closes its pipes
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        else:
            process.communicate()


def test_missing_secret_is_one_line() -> None:
    result = visio("check-config", env=environment())
    assert_one_line_error(result, "VISIO_SECRET_KEY")


def test_malformed_setting_is_one_line() -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_SMTP_PORT="vingt-cinq")
    assert_one_line_error(visio("serve", env=env), "VISIO_SMTP_PORT")


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    missing_folder = environment(
        VISIO_SECRET_KEY=SECRET,
        VISIO_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}",
    )
    assert_one_line_error(visio("check-config", env=missing_folder), "VISIO_DATABASE_URL")
    # Nothing listens on port 1 of the loopback: the connection is refused at once.
    refused = environment(
        VISIO_SECRET_KEY=SECRET,
        VISIO_DATABASE_URL="postgresql+asyncpg://visio@127.0.0.1:1/visio",
    )
    assert_one_line_error(visio("check-config", env=refused), "cannot reach the database")
    assert_one_line_error(
        visio("serve", "--port", str(free_port()), env=refused), "cannot reach the database"
    )


def test_an_unmigrated_database_is_refused_with_the_command_to_run(scratch_url: str) -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=scratch_url)
    result = visio("serve", "--port", str(free_port()), env=env)
    assert_one_line_error(result, "visio db upgrade")
    assert_one_line_error(visio("check-config", env=env), "visio db upgrade")


def test_upgrade_account_token_serve_and_a_port_in_use(
    scratch_url: str, server_processes: list[subprocess.Popen[str]]
) -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=scratch_url)
    upgraded = visio("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database at revision" in upgraded.stdout
    assert visio("check-config", env=env).returncode == 0

    created = visio(
        "users",
        "create",
        "--email",
        "Admin@Visio.example",
        "--name",
        "Anne Admin",
        "--role",
        "admin",
        "--password",
        "un mot de passe solide",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert "admin@visio.example" in created.stdout
    twice = visio(
        "users",
        "create",
        "--email",
        "admin@visio.example",
        "--name",
        "Again",
        "--role",
        "admin",
        "--no-password",
        env=env,
    )
    assert_one_line_error(twice, "existe déjà")  # the default language is French
    no_site = visio(
        "users",
        "create",
        "--email",
        "desk@visio.example",
        "--name",
        "Desk",
        "--role",
        "desk",
        "--site",
        "Nowhere",
        "--no-password",
        env=env,
    )
    assert_one_line_error(no_site, "Nowhere")
    no_password = visio(
        "users",
        "create",
        "--email",
        "p@visio.example",
        "--name",
        "P",
        "--role",
        "admin",
        env=env,
        stdin="",
    )
    assert_one_line_error(no_password, "--password")

    token = visio("tokens", "create", "--email", "admin@visio.example", env=env)
    assert token.returncode == 0, token.stderr
    bearer = token.stdout.strip()
    assert bearer.startswith("visio_")
    assert_one_line_error(
        visio("tokens", "create", "--email", "nobody@visio.example", env=env), "nobody"
    )

    # Port 0: the server takes a port the system gives it and names it in its banner, so
    # no other process can hold that port meanwhile, and the requests below reach this one.
    server = subprocess.Popen(
        [sys.executable, "-m", "visio", "serve", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    server_processes.append(server)
    port, _banner = listening_port(server)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=60) as response:
        assert response.status == 200
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {bearer}"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
        assert b"admin@visio.example" in response.read()
    search = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/citizens?q=Chassang",
        headers={"Authorization": f"Bearer {bearer}"},
    )
    with urllib.request.urlopen(search, timeout=60) as response:  # noqa: S310 (loopback)
        assert response.status == 200

    # The port is held by the running server for as long as the test needs it taken.
    second = visio("serve", "--port", str(port), env=env)
    assert_one_line_error(second, f"port {port}", "already in use")
    # And one held by another program (a listening socket here) is refused as clearly.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        held = int(taken.getsockname()[1])
        assert_one_line_error(
            visio("serve", "--port", str(held), env=env), f"port {held}", "already in use"
        )
    # The access log names the path, never the query: a search may carry a citizen's name.
    server.send_signal(signal.SIGINT)
    _out, log_lines = server.communicate(timeout=60)
    assert "GET /api/v1/citizens 200" in log_lines
    assert "Chassang" not in log_lines


def test_worker_without_smtp_is_one_line() -> None:
    result = visio("worker", env=environment())
    assert_one_line_error(result, "VISIO_SMTP_HOST")


def test_worker_sends_the_outbox_and_stops_on_sigterm(head_url: str) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        def __init__(self) -> None:
            self.received: list[str] = []

        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            self.received.append(envelope.rcpt_tos[0])
            return "250 OK"

    env = environment(VISIO_DATABASE_URL=head_url)
    script = (
        "import asyncio, sys\n"
        "from datetime import UTC, datetime\n"
        "from sqlalchemy import insert\n"
        "from visio.db.engine import make_engine, make_sessionmaker\n"
        "from visio.db.models import OutboxMessage\n"
        "async def main():\n"
        "    engine = make_engine(sys.argv[1])\n"
        "    now = datetime.now(UTC)\n"
        "    async with make_sessionmaker(engine)() as session, session.begin():\n"
        "        await session.execute(insert(OutboxMessage), [{'kind': 'booked.agent',\n"
        "            'recipient_email': 'agent@caf.example', 'subject': 'Rendez-vous',\n"
        "            'body_text': 'Bonjour', 'next_attempt_at': now, 'created_at': now}])\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    queued = subprocess.run(
        [sys.executable, "-c", script, head_url], env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert queued.returncode == 0, queued.stderr

    handler = Counting()
    port = free_port()
    # ready_timeout: aiosmtpd gives its thread 5 s to start, short on a busy machine.
    controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=START_SECONDS)
    controller.start()
    env.update(VISIO_SMTP_HOST="127.0.0.1", VISIO_SMTP_PORT=str(port), VISIO_SMTP_TLS="none")
    worker = subprocess.Popen(
        [sys.executable, "-m", "visio", "worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not handler.received and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert handler.received == ["agent@caf.example"]
        worker.send_signal(signal.SIGTERM)
        _out, log_lines = worker.communicate(timeout=20)
        assert worker.returncode == 0, log_lines
        assert "outbox: 1 sent" in log_lines
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
        controller.stop()


def test_stats_rebuild_recounts_what_the_counters_lost(head_url: str) -> None:
    """`visio stats rebuild` counts the appointments and desk requests again: counters
    missing (here, requests written straight into the table) come back, roll-ups with them."""
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=head_url)

    async def fill_then_empty() -> None:
        engine = make_engine(head_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO sites (name, commune, timezone) "
                        "VALUES ('M', 'Murat', 'Europe/Paris')"
                    )
                )
                site_id = (await connection.execute(text("SELECT max(id) FROM sites"))).scalar()
                theme_id = (
                    await connection.execute(text("SELECT min(id) FROM request_themes"))
                ).scalar()
                for hour in (8, 9):
                    await connection.execute(
                        text(
                            "INSERT INTO desk_requests (site_id, theme_id, channel, at, day, "
                            "accompanied, new_person) VALUES (:site, :theme, 'phone', :at, "
                            "'2026-03-17', true, false)"
                        ),
                        {"site": site_id, "theme": theme_id,
                         "at": datetime(2026, 3, 17, hour, tzinfo=UTC)},
                    )  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(fill_then_empty())
    rebuilt = visio("stats", "rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() == "0 appointments and 2 desk requests counted"

    async def counted() -> tuple[int, int]:
        engine = make_engine(head_url)
        try:
            async with engine.connect() as connection:
                daily = (
                    await connection.execute(text("SELECT sum(requests) FROM desk_request_counts"))
                ).scalar()
                yearly = (
                    await connection.execute(
                        text("SELECT sum(requests) FROM desk_rollups WHERE grain = 'site_year'")
                    )
                ).scalar()
                return int(daily or 0), int(yearly or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(counted()) == (2, 2)
