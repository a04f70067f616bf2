"""SIGTERM during a burst of bookings: `visio serve` stops taking connections, answers every
request it had, keeps every booking it answered 201 and no other, and exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.faults.bursts import (
    LARGEST_BURST,
    fire,
    read_log,
    seed_world,
    start_server,
    stored_bookings,
    wait_for_log,
)
from visio.db.engine import make_engine

GRACE_SECONDS = 20


async def test_sigterm_during_a_booking_burst_answers_every_request_sent(
    scratch_url: str, tmp_path: Path
) -> None:
    engine = make_engine(scratch_url)
    log_path = tmp_path / "serve.log"
    try:
        world = await seed_world(engine)
        server, base = await asyncio.to_thread(
            start_server, scratch_url, log_path, VISIO_SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS)
        )
        try:
            # A client idle on a kept-alive connection must not hold the server up.
            async with aiohttp.ClientSession() as idle:
                async with idle.get(f"{base}/healthz") as response:
                    assert response.status == 200
                burst = await fire(
                    base, world, LARGEST_BURST, server=server, signal_number=signal.SIGTERM,
                    after_answers=4,
                )  # fmt: skip
                # Once the server says it stopped listening, a new connection is refused.
                stopped = await asyncio.to_thread(
                    wait_for_log, log_path, "no new connections", server, GRACE_SECONDS
                )
                assert stopped, read_log(log_path)
            with pytest.raises(aiohttp.ClientConnectorError):
                async with aiohttp.ClientSession() as late, late.get(f"{base}/healthz"):
                    pass
            returncode = await asyncio.to_thread(server.wait, GRACE_SECONDS + 10)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        log = read_log(log_path)
        assert returncode == 0, log
        assert "Traceback" not in log, log

        print(f"SIGTERM with {LARGEST_BURST - burst.answered_at_signal} of {LARGEST_BURST} "
              f"bookings in flight: {dict(burst.statuses)}")  # fmt: skip
        # The burst was cut in the middle: requests were still waiting for their answer.
        assert burst.answered_at_signal < LARGEST_BURST
        # Every request had gone out before the signal; every one got its answer, a booking.
        assert burst.statuses == {201: LARGEST_BURST}, burst.statuses
        # Each booking answered is in the database, once; nothing else is.
        stored = await stored_bookings(engine)
        assert stored == dict.fromkeys(burst.created, 1)
    finally:
        await engine.dispose()
