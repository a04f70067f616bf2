"""Which errors mean the database is out of reach (a 503 for the client, one log line per
outage) and which are bugs (a 500 with its traceback)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.test_cli import free_port
from visio.db.engine import make_engine
from visio.db.outage import Outage, unreachable


async def test_a_refused_connection_is_out_of_reach() -> None:
    engine = make_engine(
        f"postgresql+asyncpg://visio@127.0.0.1:{free_port()}/visio", connect_timeout=1
    )
    try:
        with pytest.raises(OSError) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert unreachable(caught.value)
    finally:
        await engine.dispose()


async def test_a_wrong_statement_is_a_bug_not_an_outage(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT * FROM no_such_table"))
        assert not unreachable(caught.value)
    finally:
        await engine.dispose()


def test_an_error_from_outside_the_database_is_not_an_outage() -> None:
    try:
        raise ConnectionResetError("the client went away")
    except ConnectionResetError as error:
        assert not unreachable(error)


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage()
    caplog.set_level(logging.WARNING, logger="visio.db.outage")
    outage.reached()  # nothing to end
    for _request in range(5):
        outage.failed(TimeoutError())
    outage.reached()
    outage.reached()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith("database unreachable (TimeoutError: no answer in time)")
    assert lines[1].startswith("database reachable again after ")
    assert lines[1].endswith("5 requests were answered 503")


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_at_checkout(database_url: str) -> None:
    """A pooled connection the server ended (a restart, an administrator) is not handed to a
    request: the next request gets a live one, and no error."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            first = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert raw.driver_connection is not None
            driver = raw.driver_connection
        # Another session ends that backend; the idle pooled connection sees it close.
        other = make_engine(database_url)
        try:
            async with other.connect() as admin:
                assert await admin.scalar(text(f"SELECT pg_terminate_backend({int(first)})"))
        finally:
            await other.dispose()
        for _tick in range(100):
            if driver.is_closed():
                break
            await asyncio.sleep(0.02)
        assert driver.is_closed()
        async with engine.connect() as connection:
            second = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await engine.dispose()
