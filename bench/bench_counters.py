"""What keeping the statistics costs a booking, measured without the noise of 32 clients:
the same kind of bookings booked one after the other in this process (`booking.book`,
each in a transaction of its own, committed, as a request does), in blocks that alternate
with and without the statistics' counter write.

Without it means `counters.booked` giving no change in this process only: no daily
counter is written (on PostgreSQL, the booking's statement without its counter's CTE), so
no roll-up trigger fires either; everything else a booking
does (slot check, locks on PostgreSQL, the appointment, its history and audit, the citizen,
the outbox's emails and reminders, the commit) stays. The data set is the booking
benchmark's (10 houses of 3 stations, 60 agents available all week; requests that cannot
conflict), on a scratch database.

Prints the median and p95 of each, the ratio with/without of the medians (and of each
pair of blocks, as their geometric mean), and the milliseconds a counter adds to a
booking. Target (2026-12): keeping the counters costs at most 10 % of a booking's time,
so of the throughput of a server whose bookings take turns (ratio <= 1.10). The median with
the counter is marked as a result for `python -m bench` (bench/report.py), its same-run
baseline the median without it.

    python bench/bench_counters.py                                   # SQLite
    python bench/bench_counters.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_booking import populate
from bench_slots import scratch_database
from report import result

from visio.db.engine import make_engine, make_sessionmaker
from visio.services import accounts, booking, counters
from visio.services.citizens import CitizenDetails
from visio.services.notifications import Links

LINKS = Links(base_url="http://127.0.0.1:8080")


@contextmanager
def without_counters() -> Iterator[None]:
    """`counters.booked` gives no change to count while inside (this process only)."""
    kept = counters.booked

    def nothing(*_arguments: Any, **_keywords: Any) -> None:
        return None

    counters.booked = nothing  # type: ignore[assignment]
    try:
        yield
    finally:
        counters.booked = kept  # type: ignore[assignment]


async def run(url: str, blocks: int, per_block: int) -> None:
    _token, requests = await populate(url)
    needed = 2 * blocks * per_block + per_block
    if len(requests) < needed:
        raise SystemExit(f"{len(requests)} requests, {needed} needed: fewer blocks")
    engine = make_engine(url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        user = await accounts.find_user_by_email(session, "desk@bench.example")
        assert user is not None
        actor = accounts.actor_of(user)
    pending = iter(requests)

    async def book_one() -> float:
        wanted = next(pending)
        request = booking.BookingRequest(
            site_id=wanted["site_id"], motive_id=wanted["motive_id"],
            start=datetime.fromisoformat(wanted["start"]), agent_id=wanted["agent_id"],
            station_id=wanted["station_id"],
            citizen=CitizenDetails(first_name="Jeanne", last_name="Martin"),
        )  # fmt: skip
        began = time.perf_counter()
        async with maker() as session, session.begin():
            await booking.book(session, actor, request, now=datetime.now(UTC), links=LINKS)
        return (time.perf_counter() - began) * 1000

    async def block(count: int) -> list[float]:
        return [await book_one() for _ in range(count)]

    await block(per_block)  # warm-up: caches, prepared statements, the pool
    gc.collect()
    gc.freeze()
    with_counter: list[list[float]] = []
    without: list[list[float]] = []
    for number in range(blocks):
        steps: list[tuple[list[list[float]], Callable[[], Awaitable[list[float]]]]] = [
            (with_counter, lambda: block(per_block)),
            (without, lambda: _without(block, per_block)),
        ]
        for kept, measure in steps if number % 2 == 0 else reversed(steps):
            kept.append(await measure())
    await engine.dispose()
    report(engine.dialect.name, with_counter, without)


async def _without(block: Callable[[int], Awaitable[list[float]]], count: int) -> list[float]:
    with without_counters():
        return await block(count)


def report(backend: str, with_counter: list[list[float]], without: list[list[float]]) -> None:
    every_with = [value for values in with_counter for value in values]
    every_without = [value for values in without for value in values]

    def p95(values: list[float]) -> float:
        return sorted(values)[int(len(values) * 0.95)]

    median_with, median_without = statistics.median(every_with), statistics.median(every_without)
    pairs = [
        statistics.median(a) / statistics.median(b)
        for a, b in zip(with_counter, without, strict=True)
    ]
    geometric = math.exp(sum(math.log(ratio) for ratio in pairs) / len(pairs))
    ratio = median_with / median_without
    print(
        f"{backend}: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {len(every_with)} bookings with "
        f"the counter, {len(every_without)} without, one at a time in {len(pairs)} pairs of "
        "blocks"
    )
    print(f"  with the counter:    median {median_with:.2f} ms, p95 {p95(every_with):.2f} ms")
    print(f"  without the counter: median {median_without:.2f} ms, p95 {p95(every_without):.2f} ms")
    print(
        f"  with/without: {ratio:.3f} (pairs of blocks: geometric mean {geometric:.3f}, "
        f"from {min(pairs):.3f} to {max(pairs):.3f}); the counter adds "
        f"{median_with - median_without:.2f} ms to a booking; target <= 1.10: "
        + ("PASS" if ratio <= 1.10 else "FAIL")
    )
    result(bench="counters", database=backend,
           figure=f"a booking with the counter, median {median_with:.2f} ms",
           baseline=f"the same run's bookings without it, median {median_without:.2f} ms",
           share=ratio, check=f"ratio <= 1.10: {'PASS' if ratio <= 1.10 else 'FAIL'}")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--blocks", type=int, default=6, help="pairs of blocks")
    parser.add_argument("--per-block", type=int, default=150, help="bookings per block")
    arguments = parser.parse_args()
    async with scratch_database(arguments.database_url) as url:
        await run(url, arguments.blocks, arguments.per_block)


if __name__ == "__main__":
    asyncio.run(main())
