"""The retention purge runs inside the web server, once a day: a server started on a
database holding a citizen past the retention period erases them on its first look, and
records the run; one on a borrowed connection (the tests' own) never starts it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import SECRET
from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import AuditEntry, Citizen
from visio.settings import Settings

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)


async def test_the_server_purges_on_its_first_look(
    scratch_url: str, aiohttp_client: Callable[..., Any]
) -> None:
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
        sessions = make_sessionmaker(engine)
        async with sessions() as session, session.begin():
            person = Citizen(first_name="Jean", last_name="Rigal", first_name_key="jean",
                             last_name_key="rigal", phone="0612345678",
                             created_at=NOW - timedelta(days=91))  # fmt: skip
            session.add(person)
        settings = Settings(database_url=scratch_url, secret_key=SECRET, run_worker=False)
        client = await aiohttp_client(create_app(settings, clock=lambda: NOW))
        assert (await client.get("/healthz")).status == 200
        erased_at = None
        for _ in range(200):  # the job's first look, beside the server's start
            async with sessions() as session:
                erased_at = await session.scalar(
                    select(Citizen.erased_at).where(Citizen.id == person.id)
                )
            if erased_at is not None:
                break
            await asyncio.sleep(0.1)
        assert erased_at == NOW
        async with sessions() as session:
            runs = await session.scalar(
                select(func.count()).where(AuditEntry.action == "citizen.purge")
            )
            phone = await session.scalar(select(Citizen.phone).where(Citizen.id == person.id))
        assert (runs, phone) == (1, None)
        await client.close()
    finally:
        await engine.dispose()


async def test_a_borrowed_connection_runs_no_purge(
    settings: Settings, connection: AsyncConnection
) -> None:
    """The tests' app shares one connection with the test: no job may use it behind them."""
    app = create_app(settings, bind=connection)
    names = [getattr(context, "__name__", "") for context in app.cleanup_ctx]
    assert "_daily_purge" not in names
    assert "_daily_purge" in [
        getattr(context, "__name__", "")
        for context in create_app(settings.replace(database_url=settings.database_url)).cleanup_ctx
    ]
