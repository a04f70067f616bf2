"""Same-run baselines: what this machine does without visio, measured beside it.

These machines differ by 2–3× from day to day, so a figure alone says little; beside the
same work done bare, in the same run, it says how much visio itself costs.

- `python bench/baseline.py serve --database-url URL --port N`: a bare aiohttp server whose
  POST /insert reads the JSON body and runs one INSERT in a transaction of
  its own on the same database through the same engine settings as visio
  (`visio.db.engine.make_engine`): the floor under any web request that writes. Its
  GET /select runs one SELECT of the table's first rows (SELECT_ROWS: ten, once that many
  were inserted) in a transaction of its own and answers them as JSON: the floor under any
  web request that reads.
- `bare_server(url)`: the same server in the calling process, its GET /select ready to
  answer, for a bench that serves visio from its own process too.
- `smtp_loop(host, port, messages)`: aiosmtplib sending messages one after the other on one
  connection to the same SMTP server as the outbox sender.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
from aiohttp import web
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from visio.db.engine import make_engine

TABLE = "bench_baseline"
SELECT_ROWS = 10


async def _create_table(url: str) -> None:
    engine = make_engine(url)
    key = "SERIAL PRIMARY KEY" if url.startswith("postgresql") else "INTEGER PRIMARY KEY"
    async with engine.begin() as connection:
        await connection.execute(
            text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, body TEXT NOT NULL)")
        )
    await engine.dispose()


def bare_app(url: str) -> web.Application:
    """POST /insert: one INSERT transaction per request, answered 201 with its id; GET
    /select: the table's first SELECT_ROWS rows, one SELECT in a transaction of its own."""
    engine = make_engine(url)
    statement = text(f"INSERT INTO {TABLE} (body) VALUES (:body) RETURNING id")  # noqa: S608

    async def insert(request: web.Request) -> web.Response:
        body = await request.json()
        async with engine.begin() as connection:
            new_id = await connection.scalar(statement, {"body": json.dumps(body)})
        return web.json_response({"id": new_id}, status=201)

    rows_statement = text(f"SELECT id, body FROM {TABLE} ORDER BY id LIMIT {SELECT_ROWS}")  # noqa: S608

    async def select_rows(request: web.Request) -> web.Response:
        async with engine.connect() as connection:
            rows = (await connection.execute(rows_statement)).all()
        return web.json_response([{"id": row.id, "body": row.body} for row in rows])

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def dispose(app: web.Application) -> None:
        await engine.dispose()

    app = web.Application()
    app.router.add_post("/insert", insert)
    app.router.add_get("/select", select_rows)
    app.router.add_get("/readyz", ready)
    app.on_cleanup.append(dispose)
    return app


@asynccontextmanager
async def bare_server(url: str) -> AsyncIterator[str]:
    """The bare server in this process on a free loopback port, its table made and holding
    SELECT_ROWS rows for GET /select: its base URL, for a bench whose visio runs in this
    process too (the same event loop, the same client)."""
    await _create_table(url)
    runner = web.AppRunner(bare_app(url), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession(base) as client:
            for number in range(SELECT_ROWS):
                async with client.post("/insert", json={"row": number}) as reply:
                    reply.raise_for_status()
        yield base
    finally:
        await runner.cleanup()


async def smtp_loop(host: str, port: int, messages: int) -> float:
    """Seconds aiosmtplib takes to send `messages` plain messages over one connection."""
    client = aiosmtplib.SMTP(hostname=host, port=port, use_tls=False, start_tls=False)
    await client.connect()
    started = time.perf_counter()
    for number in range(messages):
        message = EmailMessage()
        message["From"] = "visio@bench.example"
        message["To"] = f"usager{number}@bench.example"
        message["Subject"] = "Votre rendez-vous en visio"
        message.set_content("Bonjour,\n\nvotre rendez-vous est confirmé.\n" * 20)
        await client.send_message(message)
    elapsed = time.perf_counter() - started
    await client.quit()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the bare INSERT server")
    serve.add_argument("--database-url", required=True)
    serve.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    asyncio.run(_create_table(arguments.database_url))
    web.run_app(
        bare_app(arguments.database_url),
        host="127.0.0.1",
        port=arguments.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
