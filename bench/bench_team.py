"""Slot search for big teams: the engine alone on the shared team scenarios, both modes.

Reads `../shared/bench-data/rr-50.json` and `rr-200.json` (format `calcom-peer-scenario/1`,
see that folder's README: 50 then 200 agents serving one motive, Monday to Friday
09:00-12:00 and 14:00-17:00 Europe/Paris, four weeks across the change to summer time,
2,000 half-hour bookings), turns each into the engine's inputs (a site open at all hours
with one station that never constrains, a 30-minute motive on a 30-minute grid without
buffers or notice, each host an agent with their working hours as rules and their bookings
as busy time), and times, in one run:

- the per-agent search (`find_slots`: one row per start and free agent);
- the any-agent search (`find_free_times`: one row per start at which someone is free,
  with how many are);
- the same-run baseline: the per-agent search of commit 8c51795 (2 December 2026, before
  the any-agent sweep and the grouped grids), imported beside today's from git, on the
  same inputs.

Both answers are checked against `expected-starts.json` (the 240 start times at which at
least one agent is free, the same for both team sizes): any difference fails loudly, exit
status 1. Prints median and p95 of each mode per file, the ratio between the modes, the
ratio of 200 agents to 50, and the peer's published figures for scale; and marks each mode's
median per file as a result for `python -m bench` (bench/report.py), beside the baseline's
median and its share of it (a time: under 100 % is faster than the old search).

    python bench/bench_team.py                    # 30 repetitions of each
    python bench/bench_team.py --quick            # 3 repetitions: the correctness check of CI
    python bench/bench_team.py --baseline REV     # another earlier engine as the baseline
    python bench/bench_team.py --baseline none    # today's engine alone
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as wall
from functools import partial
from pathlib import Path
from typing import Any

from visio.scheduling import find_slots, to_local
from visio.scheduling.slots import find_free_times

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import result

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "bench-data"
SITE_ZONE = "Europe/Paris"
# The peer's figures on these files (median, ms), from the data set's README.
PEER_MS = {"rr-50.json": 1924.0, "rr-200.json": 7742.0}
# The same-run baseline: the per-agent search before the sweep and the grouped grids.
BASELINE = "8c51795"


@dataclass(frozen=True)
class Scenario:
    name: str
    site: Any  # the engine's input classes, today's or the baseline's
    stations: tuple[Any, ...]
    motive: Any
    agents: tuple[Any, ...]
    first_day: date
    last_day: date
    now: datetime


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load(path: Path, engine: Any = None) -> Scenario:
    """The scenario as the engine's inputs (`engine`: the module whose input classes to
    use; None: today's)."""
    engine = engine or sys.modules["visio.scheduling.slots"]
    AgentSchedule, AvailabilityRule = engine.AgentSchedule, engine.AvailabilityRule
    MotiveTiming, OpeningHours = engine.MotiveTiming, engine.OpeningHours
    SiteCalendar, StationSchedule = engine.SiteCalendar, engine.StationSchedule
    document: dict[str, Any] = json.loads(path.read_text())
    if document.get("format") != "calcom-peer-scenario/1":
        raise SystemExit(f"{path}: not a calcom-peer-scenario/1 file")
    window_start = _instant(document["window"]["start"])
    window_end = _instant(document["window"]["end"])
    minutes = timedelta(minutes=document["eventLength"])
    agents = tuple(
        AgentSchedule(
            agent_id=host["id"],
            timezone=host["timeZone"],
            rules=tuple(
                AvailabilityRule(
                    weekdays=frozenset(hours["days"]),
                    start=wall.fromisoformat(hours["start"]),
                    end=wall.fromisoformat(hours["end"]),
                )
                for hours in host["workingHours"]
            ),
            absences=(),
            busy=tuple((_instant(busy["start"]), _instant(busy["end"])) for busy in host["busy"]),
        )
        for host in document["hosts"]
    )
    return Scenario(
        name=path.name,
        # Open at all hours every day: only the agents' hours limit the slots.
        site=SiteCalendar(
            site_id=1,
            timezone=SITE_ZONE,
            opening_hours=tuple(OpeningHours(day, wall(0), wall(0)) for day in range(1, 8)),
            holidays=frozenset(),
            closures=(),
        ),
        stations=(StationSchedule(station_id=1, closures=(), busy=()),),
        motive=MotiveTiming(
            motive_id=1,
            duration=minutes,
            step=timedelta(minutes=document["slotInterval"]),
            min_notice=timedelta(minutes=document["minimumBookingNotice"]),
            horizon=timedelta(days=366),
        ),
        agents=agents,
        first_day=to_local(window_start, SITE_ZONE).date(),
        last_day=to_local(window_end, SITE_ZONE).date(),
        now=window_start,
    )


def engine_at(revision: str) -> Any:
    """`visio/scheduling` as it was at `revision`, imported beside today's under another
    name (its own imports of `visio.scheduling` point to itself)."""
    root = Path(__file__).resolve().parent.parent
    git = shutil.which("git") or "git"
    folder = Path(tempfile.mkdtemp(prefix="visio-baseline-")) / "baseline_scheduling"
    folder.mkdir()
    listing = subprocess.run(
        [git, "-C", str(root), "ls-tree", "--name-only", revision, "visio/scheduling/"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    for path in listing:
        if not path.endswith(".py"):
            continue
        text = subprocess.run(
            [git, "-C", str(root), "show", f"{revision}:{path}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        (folder / Path(path).name).write_text(
            text.replace("visio.scheduling", "baseline_scheduling")
        )
    sys.path.insert(0, str(folder.parent))
    return importlib.import_module("baseline_scheduling.slots")


def baseline_engine(revision: str) -> Any:
    """`engine_at(revision)`, or None (said) when this clone lacks the revision."""
    try:
        return engine_at(revision)
    except subprocess.CalledProcessError as failed:
        print(
            f"  no same-run baseline: {revision} not found in this clone ({failed.stderr.strip()})"
        )
        return None


def timed(run: Callable[[], object], repeat: int) -> tuple[list[float], object]:
    times, answer = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        answer = run()
        times.append((time.perf_counter() - started) * 1000)
    return times, answer


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="3 repetitions (CI)")
    parser.add_argument(
        "--baseline", metavar="REV", default=BASELINE,
        help="the same-run baseline: the per-agent engine of this git revision, timed in the "
        f"same run ('none': without it; default {BASELINE})",
    )  # fmt: skip
    options = parser.parse_args()
    wanted = options.baseline not in ("", "none")
    baseline = baseline_engine(options.baseline) if wanted else None
    repeat = 3 if options.quick else options.repeat
    expected_document = json.loads((DATA / "expected-starts.json").read_text())
    expected = sorted(_instant(text) for text in expected_document["starts_utc"])
    assert len(expected) == expected_document["count"]
    failures = []
    medians: dict[tuple[str, str], float] = {}
    print(f"bench_team {datetime.now().isoformat(timespec='minutes')}, {repeat} repetitions")
    checked: dict[str, str] = {}
    for name in ("rr-50.json", "rr-200.json"):
        scenario = load(DATA / name)
        arguments = (
            scenario.site, scenario.stations, scenario.motive, scenario.agents,
            scenario.first_day, scenario.last_day, scenario.now,
        )  # fmt: skip
        modes: dict[str, Callable[[], list[Any]]] = {
            "per agent": partial(find_slots, *arguments),
            "any agent": partial(find_free_times, *arguments),
        }
        if baseline is not None:
            old = load(DATA / name, baseline)
            modes["per agent, " + options.baseline] = partial(
                baseline.find_slots, old.site, old.stations, old.motive, old.agents,
                old.first_day, old.last_day, old.now,
            )  # fmt: skip
        for mode, run in modes.items():
            run()  # warm the caches of wall-clock conversions, as a running server has them
            times, answer = timed(run, repeat)
            assert isinstance(answer, list)
            starts = sorted({row.start for row in answer})
            if starts != expected:
                missing = sorted(set(expected) - set(starts))[:3]
                extra = sorted(set(starts) - set(expected))[:3]
                failures.append(
                    f"{name} {mode}: {len(starts)} start times, expected {len(expected)} "
                    f"(missing {missing}, extra {extra})"
                )
                checked[f"{name} {mode}"] = f"WRONG: {len(starts)} start times"
            medians[(name, mode)] = statistics.median(times)
            print(
                f"  {name:12} {mode:20} median {statistics.median(times):8.2f} ms  "
                f"p95 {p95(times):8.2f} ms  rows {len(answer):6}  start times {len(starts)}  "
                f"peer/visio {PEER_MS[name] / statistics.median(times):5.0f}x"
            )
        per, any_ = medians[(name, "per agent")], medians[(name, "any agent")]
        print(f"  {name:12} per agent / any agent: {per / any_:.1f}x")
        if baseline is not None:
            before = medians[(name, "per agent, " + options.baseline)]
            print(
                f"  {name:12} against {options.baseline}'s per agent: "
                f"per agent {before / per:.1f}x faster, any agent {before / any_:.1f}x faster"
            )
        for mode, median in (("per agent", per), ("any agent", any_)):
            old = medians.get((name, "per agent, " + options.baseline))
            result(
                bench="team", database="-", figure=f"{name} {mode}, median {median:.2f} ms",
                baseline="" if old is None else (
                    f"{options.baseline}'s per-agent search, median {old:.2f} ms"),
                share=None if old is None else median / old,
                check=checked.get(f"{name} {mode}", f"the {len(expected)} expected start times"),
            )  # fmt: skip
    for mode in ("per agent", "any agent"):
        print(
            f"  {mode}: 200 agents / 50 agents "
            f"{medians[('rr-200.json', mode)] / medians[('rr-50.json', mode)]:.2f}x"
        )
    if failures:
        print("WRONG ANSWERS:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("  answers: the 240 expected start times, both modes, both files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
