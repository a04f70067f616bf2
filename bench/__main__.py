"""Run every benchmark and print one table: `python -m bench` from the project root.

    python -m bench                       # SQLite only, every bench at its quick size
    python -m bench --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python -m bench --full                # the sizes the README quotes (long)
    python -m bench --only booking sender

Each bench runs in a process of its own, one after the other (they would compete for the
cores otherwise), and its own output is shown as it comes. The table gathers the lines the
benches mark as results (bench/report.py): the figure, the same-run baseline beside it and
the share of it; a bench that marks none is listed with its last line.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from report import PREFIX  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    # Whether it runs once per database (SQLite, then PostgreSQL when given).
    per_database: bool = True


BENCHES = (
    Bench("engine", "bench_engine.py", ("--repeat", "5"), (), per_database=False),
    Bench("team", "bench_team.py", ("--quick",), (), per_database=False),
    Bench("slots", "bench_slots.py", ("--requests", "60", "--bookings", "500")),
    Bench("booking", "bench_booking.py", ("--bookings", "1000", "--warmup", "100")),
    Bench("counters", "bench_counters.py", ("--blocks", "2")),
    Bench("sender", "bench_sender.py", ("--messages", "500")),
    Bench("pages", "bench_pages.py", ("--quick",)),
    Bench("stats", "bench_stats.py", ("--quick",)),
    Bench("faults", "bench_faults.py", ("--skip-database-faults",)),
    Bench("purge", "bench_purge.py", ("--due", "2000", "--kept", "200")),
    # PostgreSQL only: on SQLite it says so and stops (one SQLite file is no scale-out).
    Bench("scaleout", "bench_scaleout.py", ("--bookings", "500", "--warmup", "100")),
)


def run(bench: Bench, database_url: str | None, full: bool) -> tuple[list[dict], str, float]:
    command = [sys.executable, str(HERE / bench.script), *(bench.full if full else bench.quick)]
    if database_url:
        command += ["--database-url", database_url]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=HERE.parent)
    assert process.stdout is not None
    results, last = [], ""
    for line in process.stdout:
        if line.startswith(PREFIX):
            results.append(json.loads(line[len(PREFIX) :]))
            continue
        print(f"  {line}", end="", flush=True)
        if line.strip():
            last = line.strip()
    process.wait()
    if process.returncode != 0:
        last = f"FAILED (exit {process.returncode}): {last}"
    return results, last, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="also on this PostgreSQL (scratch databases)")
    parser.add_argument("--full", action="store_true", help="each bench at its default size")
    parser.add_argument("--only", nargs="+", choices=[bench.name for bench in BENCHES])
    arguments = parser.parse_args()
    rows: list[tuple[str, str, str, str, str, str]] = []
    failed = False
    for bench in BENCHES:
        if arguments.only and bench.name not in arguments.only:
            continue
        databases: list[str | None] = [None]
        if bench.per_database and arguments.database_url:
            databases.append(arguments.database_url)
        for url in databases:
            where = "postgresql" if url else ("sqlite" if bench.per_database else "-")
            print(f"== {bench.name} ({where})", flush=True)
            results, last, seconds = run(bench, url, arguments.full)
            failed |= last.startswith("FAILED")
            if not results:
                rows.append((bench.name, where, last, "", "", f"{seconds:.0f} s"))
            for found in results:
                share = found.get("share")
                rows.append((
                    found["bench"], found["database"], found["figure"], found.get("baseline", ""),
                    "" if share is None else f"{share:.0%}", found.get("check", ""),
                ))  # fmt: skip
    headers = ("bench", "database", "figure", "same-run baseline", "share", "checked")
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(len(headers))]
    print()
    for row in (headers, tuple("-" * width for width in widths), *rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
