"""Every answer names its request (`X-Request-Id`): taken from the caller when it is a plain
token, drawn otherwise; error pages show it, and the audit entries of the request carry it,
so a reference quoted on the phone leads to what the request did."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.test_meeting_pages import House, book, house, settings
from tests.test_cli import SECRET, environment, logged_port
from visio.db.models import AuditEntry
from visio.logs import JsonFormatter, configure, current_request_id, request_id_from

__all__ = ["house", "settings"]

FEED_TOKEN = "visio_cal_Zq3vN8kL2xW9pR4tY7uB1cD6fG0hJ5mS"
DRAWN = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("3f2b6c0e9d8a4b1c8e7f6a5b4c3d2e1f", True),  # nginx's $request_id
        ("desk-retry.0001", True),
        ("short", False),  # too short to tell requests apart
        ("x" * 65, False),
        ("evil\\nlevel=error", False),
        ("a b c d e f g h", False),
    ],
)
async def test_the_id_sent_is_kept_only_when_it_is_a_plain_token(
    client: Any, sent: str, kept: bool
) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": sent})
    answered = response.headers["X-Request-Id"]
    if kept:
        assert answered == sent
    else:
        assert DRAWN.fullmatch(answered)


async def test_every_answer_names_its_request_errors_and_files_included(client: Any) -> None:
    seen = set()
    for path in ("/healthz", "/login", "/nowhere", "/api/v1/nowhere", "/api/v1/me", "/desk"):
        response = await client.get(path, allow_redirects=False)
        request_id = response.headers["X-Request-Id"]
        assert DRAWN.fullmatch(request_id), path
        seen.add(request_id)
    assert len(seen) == 6  # one each


async def test_an_error_page_shows_its_reference(client: Any) -> None:
    response = await client.get("/nowhere", headers={"Accept-Language": "fr"})
    assert response.status == 404
    page = await response.text()
    assert "Référence de la demande, à donner à l'administrateur" in page
    assert f"<code>{response.headers['X-Request-Id']}</code>" in page


async def test_the_audit_entries_of_a_request_carry_its_id(
    client: Any, session: AsyncSession, house: House
) -> None:
    booked = await book(client, house, headers={**house.headers, "X-Request-Id": "book-0000001"})
    entries = (
        await session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity == "appointment", AuditEntry.entity_id == booked["id"]
            )
        )
    ).all()
    assert entries and {entry.request_id for entry in entries} == {"book-0000001"}
    response = await client.get(
        f"/api/v1/appointments/{booked['id']}",
        headers={**house.headers, "X-Request-Id": "read-0000001"},
    )
    assert response.status == 200
    read = await session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "citizen.read")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    assert read is not None and read.request_id == "read-0000001"


def test_a_json_log_line_carries_the_request_and_the_fields_given() -> None:
    configure("json")
    try:
        record = logging.LogRecord("visio", logging.INFO, __file__, 1, "GET %s", ("/desk",), None)
        record.status = 200
        token = current_request_id.set("line-0000001")
        try:
            handler = logging.getLogger().handlers[0]
            assert handler.filter(record)
            line = json.loads(JsonFormatter().format(record))
        finally:
            current_request_id.reset(token)
    finally:
        configure("text")
    assert line["message"] == "GET /desk"
    assert line["request_id"] == "line-0000001"
    assert line["status"] == 200 and line["level"] == "info" and line["logger"] == "visio"


def test_a_request_id_is_drawn_fresh_each_time() -> None:
    assert request_id_from(None) != request_id_from(None)


def test_visio_serve_writes_one_json_line_a_request_with_its_id(
    head_url: str, tmp_path: Path
) -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=head_url, VISIO_LOG_FORMAT="json")
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "visio", "serve", "--port", "0"],
            env=env, stdout=output, stderr=output, text=True,
        )  # fmt: skip
    try:
        port = logged_port(log, server)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/me", headers={"X-Request-Id": "json-line-0001"}
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
        with refused.value as answer:
            assert answer.code == 401
            assert answer.headers["X-Request-Id"] == "json-line-0001"
        # A path holding a secret (a calendar feed's token, a password link's) is logged as
        # its route's pattern.
        for secret_path in (f"/calendar/{FEED_TOKEN}.ics", f"/password/reset/{FEED_TOKEN}"):
            with pytest.raises(urllib.error.HTTPError) as unknown:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{secret_path}", timeout=10)
            unknown.value.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=40)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line.get("path") == "/api/v1/me"]
    assert access["request_id"] == "json-line-0001"
    assert access["status"] == 401 and access["method"] == "GET"
    assert access["level"] == "info" and isinstance(access["duration_ms"], float)
    paths = {line.get("path") for line in lines}
    assert {"/calendar/{token}.ics", "/password/reset/{token}"} <= paths
    assert FEED_TOKEN not in log.read_text()
    # Every line of the log is JSON, the banner on stdout aside.
    assert all(
        line.startswith("{") for line in log.read_text().splitlines() if "listening on" not in line
    )
