"""Same-run baselines: what this machine does without visio, measured beside it.

These machines differ by 2–3× from day to day, so a figure alone says little; beside the
same work done bare, in the same run, it says how much visio itself costs.

- `python bench/baseline.py serve --database-url URL --port N`: a bare aiohttp server whose
  one endpoint, POST /insert, reads the JSON body and runs one INSERT in a transaction of
  its own on the same database through the same engine settings as visio
  (`visio.db.engine.make_engine`): the floor under any web request that writes.
- `smtp_loop(host, port, messages)`: aiosmtplib sending messages one after the other on one
  connection to the same SMTP server as the outbox sender.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
from aiohttp import web
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from visio.db.engine import make_engine

TABLE = "bench_baseline"


async def _create_table(url: str) -> None:
    engine = make_engine(url)
    key = "SERIAL PRIMARY KEY" if url.startswith("postgresql") else "INTEGER PRIMARY KEY"
    async with engine.begin() as connection:
        await connection.execute(
            text(f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, body TEXT NOT NULL)")
        )
    await engine.dispose()


def bare_app(url: str) -> web.Application:
    """POST /insert: one INSERT transaction per request, answered 201 with its id."""
    engine = make_engine(url)
    statement = text(f"INSERT INTO {TABLE} (body) VALUES (:body) RETURNING id")  # noqa: S608

    async def insert(request: web.Request) -> web.Response:
        body = await request.json()
        async with engine.begin() as connection:
            new_id = await connection.scalar(statement, {"body": json.dumps(body)})
        return web.json_response({"id": new_id}, status=201)

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def dispose(app: web.Application) -> None:
        await engine.dispose()

    app = web.Application()
    app.router.add_post("/insert", insert)
    app.router.add_get("/readyz", ready)
    app.on_cleanup.append(dispose)
    return app


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
