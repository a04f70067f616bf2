"""Faults, in figures: what clients get when `visio serve` is killed or stopped during a
burst of bookings, and when its PostgreSQL stops or freezes.

1. Bursts (on the database named, SQLite by default): 48 bookings of different slots sent
   at once, each on its own connection, to `visio serve`; once every request is out and 4
   are answered, the server gets SIGKILL, or SIGTERM. Counted: bookings answered 201,
   found in the database, lost (answered 201, not in the database: must be 0), doubled
   (two appointments for one request: must be 0), connections reset (SIGTERM: must be 0,
   every request was sent before the signal), kept without an answer (in the database,
   its client cut off: possible under SIGKILL only). A burst without a signal first, as
   the same run's baseline.
2. Database faults, on a PostgreSQL of the script's own (Debian's initdb and pg_ctl, on a
   free loopback port, as in tests/faults/): with `visio serve` at its default timeouts
   (connect 5 s, statement 10 s), a round of requests (API, page, /readyz) with the
   database up (baseline), stopped, then frozen (SIGSTOP): the statuses the clients got
   and the longest wait; and how soon the same process answers once it is back.

Marked as results for `python -m bench` (bench/report.py), each beside its same-run
baseline: the bookings stored after SIGKILL and those answered 201 under SIGTERM, beside
the burst without a signal (their share of its bookings); the longest wait with the
database stopped and frozen, beside the longest wait of the round with it up.

    python bench/bench_faults.py                                               # SQLite
    python bench/bench_faults.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test

The PostgreSQL database named is used to create (and drop) a scratch database beside it;
the database faults always run on the script's own server (run as root, it runs that server
as the system account visio-pg-test, made if missing).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_slots import scratch_database  # noqa: E402
from report import result  # noqa: E402

from tests.faults.bursts import (  # noqa: E402
    LARGEST_BURST,
    fire,
    read_log,
    seed_world,
    start_server,
    stored_bookings,
)
from tests.faults.postgres import OwnPostgres, binaries  # noqa: E402
from tests.faults.test_database_faults import PROBES, Reply, ask  # noqa: E402
from tests.test_cli import environment, visio  # noqa: E402
from visio.db.engine import make_engine  # noqa: E402

SIGNALS = {"none": None, "SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}


async def burst(url: str, signal_name: str, folder: Path) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        world = await seed_world(engine)
        log_path = folder / f"serve-{signal_name}.log"
        server, base = await asyncio.to_thread(start_server, url, log_path)
        number = SIGNALS[signal_name]
        started = time.monotonic()
        try:
            result = await fire(
                base, world, LARGEST_BURST, server=server,
                signal_number=number if number is not None else signal.SIGTERM,
                after_answers=4 if number is not None else LARGEST_BURST,
            )  # fmt: skip
            returncode = await asyncio.to_thread(server.wait, 60)
            exited = time.monotonic()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()
        stored = await stored_bookings(engine)
    finally:
        await engine.dispose()
    created = set(result.created)
    return {
        "signal": signal_name,
        "sent": LARGEST_BURST,
        "in flight at the signal": LARGEST_BURST - result.answered_at_signal
        if number is not None
        else 0,
        "answered 201": len(created),
        "found": len(created & set(stored)),
        "lost": len(created - set(stored)),
        "doubled": sum(1 for count in stored.values() if count > 1),
        "kept without an answer": len(set(stored) - created),
        "resets": result.statuses.get("reset", 0),
        "refused": result.statuses.get("refused", 0),
        "other statuses": {
            key: value
            for key, value in result.statuses.items()
            if key not in (201, "reset", "refused")
        },
        "exit status": returncode,
        "seconds from signal to exit": round(exited - result.signalled_at, 2)
        if number is not None
        else None,
        "seconds for the burst": round(result.signalled_at - started, 2)
        if number is None
        else None,
        "tracebacks in the log": read_log(log_path).count("Traceback"),
    }


def summary(replies: list[Reply], rounds: dict[str, tuple[float, str]] | None = None,
            state: str = "") -> str:  # fmt: skip
    """The statuses and the longest wait of a round (kept in `rounds[state]`)."""
    statuses = Counter(reply.status for reply in replies)
    longest = max(reply.seconds for reply in replies)
    shown = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    if rounds is not None:
        rounds[state] = (longest, f"{len(replies)} requests: {shown}")
    return f"{len(replies)} requests: {shown}; longest wait {longest:.2f} s"


async def back_after(base: str, world: dict[str, Any], since: float) -> float:
    """Seconds from `since` until the API answers 200 again (asked every 0.1 s)."""
    sites = [probe for probe in PROBES if probe.name == "sites"]
    while True:
        [reply] = await ask(base, world, sites)
        if reply.status == 200:
            return time.monotonic() - since
        await asyncio.sleep(0.1)


async def database_faults(
    folder: Path, rounds: int, answered: dict[str, tuple[float, str]] | None = None
) -> list[str]:
    """The lines to print; each round's longest wait and statuses in `answered` ("up",
    "stopped", "frozen")."""
    programs = binaries()
    if programs is None:
        return ["database faults: no Debian PostgreSQL server here (/usr/lib/postgresql)"]
    own = OwnPostgres(programs)
    lines = []
    try:
        own.start()
        upgraded = visio("db", "upgrade", env=environment(VISIO_DATABASE_URL=own.url))
        if upgraded.returncode != 0:
            raise SystemExit(upgraded.stderr)
        engine = make_engine(own.url)
        try:
            world = await seed_world(engine)
        finally:
            await engine.dispose()
        log_path = folder / "serve-postgres.log"
        server, base = await asyncio.to_thread(start_server, own.url, log_path)
        probes = [probe for probe in PROBES if probe.name != "booking"] * rounds
        try:
            replies = await ask(base, world, probes)
            lines.append(f"database up (baseline): {summary(replies, answered, 'up')}")
            own.stop()
            stopped = time.monotonic()
            replies = await ask(base, world, probes)
            lines.append(f"database stopped: {summary(replies, answered, 'stopped')}")
            own.start()
            lines.append(
                f"database started again: the API answers 200 after "
                f"{await back_after(base, world, time.monotonic()):.2f} s "
                f"(outage {time.monotonic() - stopped:.1f} s in all)"
            )
            own.freeze()
            try:
                replies = await ask(base, world, probes)
                lines.append(f"database frozen: {summary(replies, answered, 'frozen')}")
            finally:
                thawed = time.monotonic()
                own.thaw()
            lines.append(
                f"database thawed: the API answers 200 after "
                f"{await back_after(base, world, thawed):.2f} s"
            )
        finally:
            server.terminate()
            server.wait(60)
        log = read_log(log_path)
        lines.append(
            "log: {} outage lines, {} recovery lines, {} tracebacks".format(
                log.count("database unreachable"),
                log.count("database reachable again"),
                log.count("Traceback"),
            )
        )
    finally:
        own.destroy()
    return lines


async def main(arguments: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        kind = "PostgreSQL" if (arguments.database_url or "").startswith("postgres") else "SQLite"
        print(f"Bursts of {LARGEST_BURST} bookings on {kind}")
        bursts: dict[str, dict[str, Any]] = {}
        for signal_name in ("none", "SIGKILL", "SIGTERM"):
            async with scratch_database(arguments.database_url) as url:
                figures = bursts[signal_name] = await burst(url, signal_name, folder)
            print(f"  {signal_name}: " + "; ".join(
                f"{name} {value}" for name, value in figures.items()
                if name != "signal" and value not in (None, {})
            ))  # fmt: skip
        burst_results(kind.lower(), bursts)
        if not arguments.skip_database_faults:
            print("Database faults on a PostgreSQL of our own, visio serve at its default "
                  "timeouts (connect 5 s, statement 10 s)")  # fmt: skip
            answered: dict[str, tuple[float, str]] = {}
            for line in await database_faults(folder, arguments.rounds, answered):
                print(f"  {line}")
            for state in ("stopped", "frozen"):
                if "up" not in answered or state not in answered:
                    continue
                (longest, statuses), (up, _) = answered[state], answered["up"]
                result(bench="faults", database="own postgresql",
                       figure=f"database {state}: longest wait {longest:.2f} s",
                       baseline=f"database up, same server: longest wait {up:.2f} s",
                       share=longest / up, check=statuses)  # fmt: skip


def burst_results(database: str, bursts: dict[str, dict[str, Any]]) -> None:
    """The result lines of the bursts: after SIGKILL, the bookings stored; under SIGTERM,
    those answered 201; each beside the burst without a signal."""
    calm = bursts["none"]
    calm_stored = calm["found"] + calm["kept without an answer"]
    killed, stopped = bursts["SIGKILL"], bursts["SIGTERM"]
    killed_stored = killed["found"] + killed["kept without an answer"]
    baseline = (
        f"no signal: {calm['answered 201']} of {calm['sent']} answered 201 and stored in "
        f"{calm['seconds for the burst']} s"
    )
    result(bench="faults", database=database,
           figure=f"SIGKILL: {killed_stored} of {killed['sent']} stored "
                  f"({killed['answered 201']} answered 201)",
           baseline=baseline, share=killed_stored / max(1, calm_stored),
           check=f"lost {killed['lost']}, doubled {killed['doubled']}{_other(killed)}")  # fmt: skip
    result(bench="faults", database=database,
           figure=f"SIGTERM: {stopped['answered 201']} of {stopped['sent']} answered 201, "
                  f"exit {stopped['exit status']} in {stopped['seconds from signal to exit']} s",
           baseline=baseline, share=stopped["answered 201"] / max(1, calm["answered 201"]),
           check=f"lost {stopped['lost']}, doubled {stopped['doubled']}, "
                 f"resets {stopped['resets']}{_other(stopped)}")  # fmt: skip


def _other(figures: dict[str, Any]) -> str:
    """The statuses no burst should get (a 500…), for the result's check."""
    other = figures["other statuses"]
    return f"; other statuses {other}" if other else ""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite temp file)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of the six requests per database fault"
    )
    parser.add_argument("--skip-database-faults", action="store_true", help="the bursts only")
    asyncio.run(main(parser.parse_args()))
