"""Hostile input: schemathesis walks every operation of the OpenAPI document.

The application runs on a loopback port, on the test's rolled-back transaction, with a
house, an agent, a desk and an administrator. schemathesis (its command, in a process of
its own) reads `GET /api/v1/openapi.json` and sends what the document allows and what it
does not (its coverage and fuzzing phases, from a fixed seed), with the administrator's
token in one test and the desk's in another (each on its own data, so that parallel
workers run the two side by side). Every answer must be documented: no 5xx,
a documented status, content type, body and headers; a request the document calls valid
is not refused, but for the rules across fields it cannot state (`fuzz_hooks.py`).

Select it with `-m fuzz`; `VISIO_FUZZ_EXAMPLES` sets the test cases per operation and phase.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Clock
from tests.handlers.conftest import MakeWorld, book
from visio.app import create_app
from visio.db.models import Role, User
from visio.settings import Settings

pytestmark = pytest.mark.fuzz

SEED = 20261207
# Test cases per operation in the fuzzing phase (the coverage phase makes its own, a few
# per field); two runs of 64 operations stay near a minute on two cores.
MAX_EXAMPLES = int(os.environ.get("VISIO_FUZZ_EXAMPLES", "10"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
seed = {seed}
workers = 1
continue-on-failure = true
request-timeout = 30

[cache]
enabled = false

[generation]
max-examples = {examples}
database = "none"
# Text never holds NUL (the document's description says so; visio answers 422).
allow-x00 = false

[phases]
examples.enabled = false
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = false

[checks]
enabled = true
# 422 for a rule across fields or records only: fuzz_hooks.py checks which.
positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422"]
"""
# A long list of choices (the time zones) is cut to a few for the run: the coverage phase
# tries every choice of a list, hundreds of requests for the same check.
ENUM_KEPT = 4


def narrowed(node: Any) -> Any:
    """The document with each long `enum` cut to its first few values."""
    if isinstance(node, dict):
        found = {key: narrowed(value) for key, value in node.items()}
        if isinstance(found.get("enum"), list) and len(found["enum"]) > 20:
            found["enum"] = found["enum"][:ENUM_KEPT]
        return found
    if isinstance(node, list):
        return [narrowed(value) for value in node]
    return node


def closed_to(document: dict[str, Any], role: str) -> list[str]:
    """The operations `role` may not call (their roles, named in the document, leave it
    out): left out of its run, as each role's refusals are the permission matrix's
    business. They stay in the document, so the methods a path allows stay true."""
    return [
        entry["operationId"]
        for methods in document["paths"].values()
        for entry in methods.values()
        if entry.get("description", "").startswith("Roles: ")
        and role not in entry["description"].split("\n")[0].removeprefix("Roles: ").split(", ")
    ]


def prepare(workdir: Path, document: dict[str, Any]) -> tuple[Path, Path, Path]:
    """The run's configuration, document and report paths in `workdir`."""
    workdir.mkdir()
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG.format(seed=SEED, examples=MAX_EXAMPLES))
    schema = workdir / "openapi.json"
    schema.write_text(json.dumps(narrowed(document)))
    return config, schema, workdir / "report.json"


def read_report(report: Path) -> dict[str, Any]:
    return dict(json.loads(report.read_text())) if report.exists() else {}


def count_operations(document: dict[str, Any]) -> int:
    return sum(len(methods) for methods in document["paths"].values())


async def fuzz(
    url: str, token: str, document: dict[str, Any], workdir: Path, excluded: list[str]
) -> dict[str, Any]:
    """Run schemathesis against `url` with `token`, but for the `excluded` operations: its
    exit code, JSON report and output."""
    config, schema, report = prepare(workdir, document)
    environment = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "SCHEMATHESIS_HOOKS": "tests.handlers.fuzz_hooks",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color",
        "run", str(schema), "--url", url,
        "--header", f"Authorization: Bearer {token}", "--header", "Accept-Language: en",
        "--report", "json", "--report-json-path", str(report),
        *(argument for name in excluded for argument in ("--exclude-operation-id", name)),
        cwd=workdir, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await process.communicate()
    return {
        "returncode": process.returncode,
        "report": read_report(report),
        "output": output.decode(errors="replace"),
    }


@pytest.mark.parametrize("role", ["desk", "admin"])
async def test_every_operation_answers_within_its_document(
    role: str,
    aiohttp_server: Callable[..., Awaitable[Any]],
    aiohttp_client: Callable[..., Awaitable[Any]],
    settings: Settings,
    clock: Clock,
    connection: AsyncConnection,
    make_world: MakeWorld,
    create_user: Callable[..., Awaitable[User]],
    bearer: Callable[..., Awaitable[dict[str, str]]],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    world = await make_world()
    admin = await create_user(Role.ADMIN, name="Camille Fuzz")
    headers = world.headers if role == "desk" else await bearer(admin)
    token = headers["Authorization"].removeprefix("Bearer ")
    app = create_app(settings, clock=clock, bind=connection)
    statuses: Counter[int] = Counter()

    async def count(request: web.Request, response: web.StreamResponse) -> None:
        statuses[response.status] += 1

    app.on_response_prepare.append(count)
    server = await aiohttp_server(app, host="127.0.0.1")
    client = await aiohttp_client(server)
    await book(client, world)  # an appointment among those the ids may reach
    document = await (await client.get("/api/v1/openapi.json")).json()
    operations = count_operations(document)
    url = str(server.make_url("")).rstrip("/")
    statuses.clear()

    started = time.monotonic()
    run = await fuzz(url, token, document, tmp_path / role, closed_to(document, role))
    elapsed = time.monotonic() - started

    tested = operations - len(closed_to(document, role))
    requests = sum(statuses.values())
    server_errors = sum(number for status, number in statuses.items() if status >= 500)
    report = run["report"]
    violations = sum(failure["count"] for failure in report.get("failures", []))
    cases = report.get("test_cases", {}).get("generated", 0)
    summary = (
        f"{role}: {tested} of {operations} operations, seed {SEED}, "
        f"{MAX_EXAMPLES} examples: {cases} test cases, {requests} requests, "
        f"{server_errors} answered 5xx, {violations} failed checks, {elapsed:.0f} s"
    )
    record_property("summary", f"schemathesis: {summary}")
    print(summary)
    explained = f"{role}: schemathesis said\n{run['output'][-15000:]}"
    assert report.get("complete") is True, explained
    assert report["operations"]["tested"] == tested, explained
    assert report["failures"] == [], explained
    assert report["errors"] == [], explained
    assert run["returncode"] == 0, explained
    assert requests > 0
    assert server_errors == 0, dict(statuses)
