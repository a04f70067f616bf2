"""Scale-out: bookings per second through nginx with one `visio serve` process, then two.

Does a second process behind nginx pay on this machine, where PostgreSQL, nginx and the
load generator share the same cores? Builds the data set of bench_booking.py (10 houses
with 3 stations each, 60 agents of one partner available all week) on a scratch
PostgreSQL database, starts two `visio serve` processes and two copies of Debian's nginx
with the operator's site (`deploy/visio.nginx.conf`: TLS with a test certificate, upstream
keepalive, HTTP/2 offered), one whose upstream lists the first process only (rounds A)
and one whose upstream lists both (rounds B). Then 32 clients book conflict-free slots
over HTTPS through nginx, in interleaved rounds A, B, A, B… of as many bookings each (no
request sent twice), so that a machine slowing down between rounds weighs on both.

Each round prints bookings per second, every answer's status (all must be 201), double
bookings per agent and per station, the connections made to PostgreSQL, what the bench's
connections were doing on average (sampled four times a second: waiting for a lock,
running a statement, idle inside a transaction while their process works on other
requests), and where the CPU time went (from /proc): the visio processes, and how long
each was ready to run but waited for a core; PostgreSQL, which is the machine's own server
and shared: the connections to the bench's database, the connections that ended during
the round (any database's), and the server's own processes with other databases'
connections; both nginx (master and workers); the load generator (this process); the
rest of the machine; and what stayed idle: in seconds, per booking, and as a share of the
round's wall time × the cores. The figure is the mean rate of the rounds B against that
of the rounds A (the hope on 2 cores: at least 1.4×).

    python bench/bench_scaleout.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
    python bench/bench_scaleout.py --database-url … --bookings 500 --pairs 2

PostgreSQL only (two processes on one SQLite file are not the scale-out setting): without
a PostgreSQL URL, or without nginx or openssl, it says why and stops. The database named
is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_booking import double_bookings, free_port, populate, wait_ready
from bench_slots import scratch_database
from nginx_loopback import nginx_conf, nginx_site
from report import result

from visio.db.engine import make_engine

SECRET = "bench-scaleout-" + "k" * 40
TICK = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


# ---------------------------------------------------------------- CPU time, from /proc


@dataclass(frozen=True)
class Process:
    name: str  # the command name of stat(5)
    parent: int
    own: float  # CPU seconds it used itself
    waited: float  # CPU seconds its children used, once ended and waited for

    @property
    def seconds(self) -> float:
        # A process that ends is counted in its parent's `waited` once waited for, so this
        # sum over a family keeps the time of its members that ended.
        return self.own + self.waited


def process_table() -> dict[int, Process]:
    """Every process running now, by pid."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                line = stat.read()
        except OSError:  # ended in between
            continue
        fields = line[line.rindex(")") + 2 :].split()
        # utime, stime, cutime, cstime: the 14th to 17th fields of stat(5).
        utime, stime, cutime, cstime = (int(value) / TICK for value in fields[11:15])
        name = line[line.index("(") + 1 : line.rindex(")")]
        table[int(entry.name)] = Process(name, int(fields[1]), utime + stime, cutime + cstime)
    return table


def family(table: dict[int, Process], roots: list[int]) -> set[int]:
    """The roots still running and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, process in table.items():
        children.setdefault(process.parent, []).append(pid)
    found, waiting = set(), [pid for pid in roots if pid in table]
    while waiting:
        pid = waiting.pop()
        found.add(pid)
        waiting.extend(children.get(pid, []))
    return found


def runqueue_wait(pid: int) -> float:
    """Seconds the threads of `pid` have been ready to run but waiting for a core
    (/proc/PID/task/*/schedstat, second field, in nanoseconds)."""
    waited = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            waited += int(task.read_text().split()[1])
        except (OSError, IndexError, ValueError):  # a thread ended in between
            continue
    return waited / 1e9


def machine_idle() -> float:
    """Seconds all cores have been idle (idle and iowait of /proc/stat's cpu line)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return (int(fields[4]) + int(fields[5])) / TICK


@dataclass
class Snapshot:
    groups: dict[str, float]  # CPU seconds so far of each group of processes
    per_process: dict[str, float]  # of each visio process
    waiting: dict[str, float]  # seconds each visio process waited for a core
    connections: dict[int, float]  # of each PostgreSQL connection (any database)
    ours: set[int]  # the connections to the bench's database
    others: dict[int, Process]  # every other process
    idle: float


def snapshot(visio: dict[str, int], nginx: list[int], database: str) -> Snapshot:
    """The CPU seconds used so far by each group of processes, and the machine's idle time.

    PostgreSQL's are told apart: the connections to the bench's database (visio's), those
    that ended (of any database: the server's main process waited for them), and the rest:
    the server's own processes (WAL writer, checkpointer, autovacuum…) and the connections
    to other databases (other users of the machine's server)."""
    table = process_table()

    def seconds(pids: set[int]) -> float:
        return sum(table[pid].seconds for pid in pids)

    own = resource.getrusage(resource.RUSAGE_SELF)
    postgres = {pid for pid, process in table.items() if process.name in ("postgres", "postmaster")}
    main = {pid for pid in postgres if table[pid].parent not in postgres}
    connections = {pid: table[pid].own for pid in postgres - main}
    ours = set()
    for pid in connections:
        try:
            # "postgres: 15/main: USER DATABASE 127.0.0.1(PORT) STATE"
            words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split()
        except OSError:  # ended in between
            continue
        if database in words[3:5]:
            ours.add(pid)
    ended = sum(table[pid].waited for pid in main)
    mine = family(table, [os.getpid()]) | postgres
    others = {pid: process for pid, process in table.items() if pid not in mine}
    return Snapshot(
        groups={
            "visio": seconds(family(table, list(visio.values()))),
            "PostgreSQL, ended connections": ended,
            "PostgreSQL, all": seconds(postgres),
            "nginx": seconds(family(table, nginx)),
            "load generator": own.ru_utime + own.ru_stime,
        },
        per_process={name: seconds(family(table, [pid])) for name, pid in visio.items()},
        waiting={name: runqueue_wait(pid) for name, pid in visio.items()},
        connections=connections,
        ours=ours,
        others=others,
        idle=machine_idle(),
    )


def cpu_between(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds of each group between two snapshots."""
    used = {name: after.groups[name] - before.groups[name] for name in before.groups}
    # The connections alive at the end; one that ended is in "ended connections", less
    # what it had used before the round.
    ours = sum(after.connections[pid] - before.connections.get(pid, 0.0) for pid in after.ours)
    ended = used["PostgreSQL, ended connections"] - sum(
        seconds for pid, seconds in before.connections.items() if pid not in after.connections
    )
    return {
        "visio": used["visio"],
        "PostgreSQL, the bench's connections": ours,
        "PostgreSQL, ended connections": ended,
        "PostgreSQL, server and other databases": used["PostgreSQL, all"] - ours - ended,
        "nginx": used["nginx"],
        "load generator": used["load generator"],
    }


def busiest_others(before: Snapshot, after: Snapshot, count: int = 3) -> dict[str, float]:
    """The programs outside the bench that used the most CPU between two snapshots, by
    command name (kernel threads without their number). A process that ended in between
    is counted in its parent's, less what it had used before the first snapshot."""
    used: dict[str, float] = {}

    def add(process: Process, seconds: float) -> None:
        name = process.name.split("/")[0]
        used[name] = used.get(name, 0.0) + seconds

    for pid, process in after.others.items():
        earlier = before.others.get(pid)
        add(process, process.seconds - (earlier.seconds if earlier else 0.0))
    for pid, process in before.others.items():
        parent = after.others.get(process.parent)
        if pid not in after.others and parent is not None:
            add(parent, -process.seconds)
    return dict(sorted(used.items(), key=lambda item: -item[1])[:count])


async def sessions(engine: AsyncEngine) -> int:
    """Connections made so far to the bench's database (PostgreSQL's own count)."""
    async with engine.connect() as connection:
        return int(
            await connection.scalar(
                text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            )
            or 0
        )


# What the bench's connections are doing: waiting for a lock (another booking's row locks on
# its agent or station), running a statement, or idle inside a transaction (its process is
# busy elsewhere: a lock taken is held that long too).
ACTIVITY = text(
    "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'), "
    "count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock'), "
    "count(*) FILTER (WHERE state LIKE 'idle in transaction%') "
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


async def sample_activity(
    engine: AsyncEngine, stop: asyncio.Event, every: float = 0.25
) -> list[tuple[int, ...]]:
    """Samples of ACTIVITY until `stop` is set."""
    samples: list[tuple[int, ...]] = []
    async with engine.connect() as connection:
        while not stop.is_set():
            samples.append(tuple((await connection.execute(ACTIVITY)).one()))
            await connection.rollback()  # a fresh view of the statistics each time
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    return samples


# ---------------------------------------------------------------- the processes


@dataclass
class Started:
    """What the bench started, each stopped by its pid at the end, whatever happens."""

    folder: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> int:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process.pid

    def log_tail(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-2000:]

    def stop_all(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is None:
                # nginx: SIGQUIT, its graceful stop; visio: SIGTERM.
                process.send_signal(signal.SIGQUIT if name.startswith("nginx") else signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def started(folder: Path) -> Iterator[Started]:
    processes = Started(folder)
    try:
        yield processes
    finally:
        processes.stop_all()


def self_signed(folder: Path, openssl: str) -> tuple[Path, Path]:
    certificate, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


def start_nginx(
    processes: Started, nginx: str, name: str, upstreams: list[int], workers: str,
    certificate: Path, key: Path,
) -> tuple[int, int]:  # fmt: skip
    """An nginx with the site, its upstream listing `upstreams`: its pid and HTTPS port."""
    folder = processes.folder / name
    (folder / "temp").mkdir(parents=True)
    http, https = free_port(), free_port()
    site = folder / "site.conf"
    site.write_text(nginx_site(certificate, key, http=http, https=https, upstreams=upstreams))
    (folder / "nginx.conf").write_text(nginx_conf(folder, site, worker_processes=workers))
    pid = processes.start(
        name, [nginx, "-e", f"{folder}/nginx-error.log", "-p", str(folder),
               "-c", str(folder / "nginx.conf")],
    )  # fmt: skip
    return pid, https


async def wait_https(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit("nginx stopped")
            try:
                async with client.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer in {seconds} s")


# ---------------------------------------------------------------- the load


async def load(
    base: str, token: str, requests: list[dict[str, Any]], clients: int
) -> tuple[float, dict[int, int]]:
    """The requests shared among `clients` clients over HTTPS (the test certificate is not
    checked), each keeping its connection: the time taken and how many got each status."""
    statuses: dict[int, int] = {}
    queue = iter(requests)
    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=clients, ssl=False)
    async with aiohttp.ClientSession(base, connector=connector) as http:

        async def client(number: int) -> None:
            for request in queue:
                body = dict(request)
                body["citizen"] = {
                    "first_name": f"Usager{number}", "last_name": f"Banc{request['agent_id']}",
                    "email": f"u{number}@courriel.example" if number % 2 else None}  # fmt: skip
                try:
                    async with http.post(
                        "/api/v1/appointments", json=body, headers=headers
                    ) as reply:
                        await reply.read()
                        status = reply.status
                except aiohttp.ClientError:
                    status = 0  # no answer at all
                statuses[status] = statuses.get(status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = time.perf_counter() - began
    return elapsed, statuses


@dataclass
class Round:
    number: int
    kind: str  # "A": one process in the upstream; "B": two
    bookings: int
    elapsed: float
    statuses: dict[int, int]
    doubled: tuple[int, int]  # agents, stations booked twice at one time, so far
    cpu: dict[str, float]
    per_process: dict[str, float]
    waiting: dict[str, float]  # seconds each visio process was ready but waited for a core
    idle: float
    others: dict[str, float]  # the busiest programs outside the bench, CPU seconds
    connections: int  # made to PostgreSQL during the round
    activity: tuple[
        float, ...
    ]  # mean connections waiting for a lock, running, idle in a transaction

    @property
    def rate(self) -> float:
        return self.statuses.get(201, 0) / self.elapsed


def rest_of_machine(round_: Round) -> float:
    """CPU seconds of the round neither idle nor used by a process of the bench's."""
    return max(round_.elapsed * CORES - sum(round_.cpu.values()) - round_.idle, 0.0)


def describe(round_: Round) -> str:
    capacity = round_.elapsed * CORES
    others = rest_of_machine(round_)
    processes = "A: 1 process " if round_.kind == "A" else "B: 2 processes"
    parts = []
    for name, seconds in round_.cpu.items():
        per_booking = seconds / max(round_.bookings, 1) * 1000
        part = f"{name} {seconds:.2f} s ({seconds / capacity:.0%}, {per_booking:.2f} ms/booking)"
        if name == "visio":
            each = ", ".join(f"{value:.2f}" for value in round_.per_process.values())
            waited = ", ".join(f"{value:.2f}" for value in round_.waiting.values())
            part += f" [per process {each} s; ready but waiting for a core {waited} s]"
        parts.append(part)
    busiest = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in round_.others.items())
    parts.append(f"rest of the machine {others:.2f} s ({others / capacity:.0%}; most: {busiest})")
    parts.append(f"idle {round_.idle:.2f} s ({round_.idle / capacity:.0%})")
    return (
        f"round {round_.number} {processes}: {round_.bookings} bookings in "
        f"{round_.elapsed:.2f} s, {round_.rate:.0f} bookings/s (statuses "
        f"{dict(sorted(round_.statuses.items()))}; double bookings so far: agents "
        f"{round_.doubled[0]}, stations {round_.doubled[1]}; connections made to "
        f"PostgreSQL: {round_.connections}; its connections on average: "
        f"{round_.activity[0]:.1f} waiting for a lock, {round_.activity[1]:.1f} running a "
        f"statement, {round_.activity[2]:.1f} idle in a transaction)\n"
        f"    CPU, of {capacity:.2f} s ({round_.elapsed:.2f} s × {CORES} cores): "
        + "; ".join(parts)
    )


async def run(
    url: str, nginx: str, openssl: str, *, clients: int, bookings: int, pairs: int,
    warmup: int, workers: str,
) -> int:  # fmt: skip
    token, requests = await populate(url)
    needed = 2 * warmup + 2 * pairs * bookings
    if needed > len(requests):
        raise SystemExit(f"{needed} bookings asked for, the data set holds {len(requests)}")
    env = {key: value for key, value in os.environ.items() if not key.startswith("VISIO_")}
    # As the operator's units: the outbox is sent by `visio worker`, not the web processes
    # (and with no SMTP server set, it stays in the outbox anyway).
    env.update(VISIO_DATABASE_URL=url, VISIO_SECRET_KEY=SECRET, VISIO_RUN_WORKER="false")
    rounds: list[Round] = []
    # The bench's own connection, for PostgreSQL's count of connections made.
    bookkeeping = make_engine(url, pool_size=1, max_overflow=0)
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as temporary:
        folder = Path(temporary)
        certificate, key = self_signed(folder, openssl)
        with started(folder) as processes:
            ports = [free_port(), free_port()]
            visio = {}
            for number, port in enumerate(ports, 1):
                visio[f"visio-{number}"] = processes.start(
                    f"visio-{number}",
                    [sys.executable, "-m", "visio", "serve", "--port", str(port)],
                    env,
                )
            nginx_a, https_a = start_nginx(processes, nginx, "nginx-A", ports[:1], workers,
                                           certificate, key)  # fmt: skip
            nginx_b, https_b = start_nginx(processes, nginx, "nginx-B", ports, workers,
                                           certificate, key)  # fmt: skip
            bases = {"A": f"https://127.0.0.1:{https_a}", "B": f"https://127.0.0.1:{https_b}"}
            try:
                for number, port in enumerate(ports, 1):
                    await asyncio.to_thread(
                        wait_ready, port, processes.processes[f"visio-{number}"]
                    )
                for kind, base in bases.items():
                    await wait_https(f"{base}/readyz", processes.processes[f"nginx-{kind}"])
                # Warm both ways in (connections to PostgreSQL and to the upstream opened).
                await load(bases["A"], token, requests[:warmup], clients)
                await load(bases["B"], token, requests[warmup : 2 * warmup], clients)
                rest = requests[2 * warmup :]
                database = make_url(url).database or ""
                for number in range(2 * pairs):
                    kind = "AB"[number % 2]
                    batch = rest[number * bookings : (number + 1) * bookings]
                    connected = await sessions(bookkeeping)
                    before = snapshot(visio, [nginx_a, nginx_b], database)
                    stop = asyncio.Event()
                    sampler = asyncio.create_task(sample_activity(bookkeeping, stop))
                    elapsed, statuses = await load(bases[kind], token, batch, clients)
                    after = snapshot(visio, [nginx_a, nginx_b], database)
                    stop.set()
                    samples = await sampler
                    connections = await sessions(bookkeeping) - connected
                    agents, stations, _, _ = await double_bookings(url)
                    round_ = Round(
                        number=number + 1, kind=kind, bookings=len(batch), elapsed=elapsed,
                        statuses=statuses, doubled=(agents, stations),
                        cpu=cpu_between(before, after),
                        per_process={name: after.per_process[name] - before.per_process[name]
                                     for name in before.per_process},
                        waiting={name: after.waiting[name] - before.waiting[name]
                                 for name in before.waiting},
                        idle=after.idle - before.idle, connections=connections,
                        others=busiest_others(before, after),
                        activity=tuple(sum(column) / max(len(samples), 1)
                                       for column in zip(*samples, strict=True)) or (0, 0, 0),
                    )  # fmt: skip
                    rounds.append(round_)
                    print(describe(round_), flush=True)
            except BaseException:
                for name in processes.processes:
                    print(f"--- {name}\n{processes.log_tail(name)}", file=sys.stderr)
                raise
            finally:
                await bookkeeping.dispose()
    return summary(rounds, clients)


def summary(rounds: list[Round], clients: int) -> int:
    """The rounds B against the rounds A; 1 when a booking was not answered 201 or a slot
    was booked twice."""
    one = [round_.rate for round_ in rounds if round_.kind == "A"]
    two = [round_.rate for round_ in rounds if round_.kind == "B"]
    mean_one, mean_two = sum(one) / len(one), sum(two) / len(two)
    pairs = ", ".join(f"{b / a:.2f}" for a, b in zip(one, two, strict=True))
    agents, stations = rounds[-1].doubled
    failed = sum(
        count for round_ in rounds for status, count in round_.statuses.items() if status != 201
    )
    total = sum(round_.bookings for round_ in rounds)
    print(
        f"postgresql {clients} clients through nginx (HTTPS), {len(rounds)} rounds of "
        f"{rounds[0].bookings} bookings: 1 process {mean_one:.0f} bookings/s, 2 processes "
        f"{mean_two:.0f} bookings/s: ×{mean_two / mean_one:.2f} (round by round: {pairs}; "
        f"hoped for: ×1.40) | not answered 201: {failed} of {total} | double bookings: "
        f"agents {agents}, stations {stations}"
    )
    print(
        "    PostgreSQL is the machine's own server: the rest of its time includes any other "
        "work on it during a round, as the rest of the machine is whatever else ran."
    )
    busiest = max(rest_of_machine(round_) / (round_.elapsed * CORES) for round_ in rounds)
    if busiest > 0.1:
        print(
            f"    the machine was not otherwise idle: other work took up to {busiest:.0%} of "
            "its cores in a round; the ratio is this setup's only on a machine left to it"
        )
    check = f"double bookings {agents + stations}"
    if failed:
        check += f", {failed} not answered 201"
    result(bench="scaleout", database="postgresql",
           figure=f"{mean_two:.0f} bookings/s with 2 processes",
           baseline=f"{mean_one:.0f} bookings/s with 1 process", share=mean_two / mean_one,
           check=check)  # fmt: skip
    return 1 if failed or agents or stations else 0


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (needed: no SQLite run)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--bookings", type=int, default=2000, help="bookings per round")
    parser.add_argument("--pairs", type=int, default=2, help="rounds A then B, this many times")
    parser.add_argument("--warmup", type=int, default=200, help="bookings through each nginx first")
    parser.add_argument(
        "--nginx-workers", default="auto", help="nginx's worker_processes (auto: one per core)"
    )
    arguments = parser.parse_args()
    url = arguments.database_url
    if not url or not url.startswith("postgresql"):
        print("skipped: scale-out needs PostgreSQL (--database-url); several processes on "
              "one SQLite file are not the scale-out setting")  # fmt: skip
        return 0
    nginx, openssl = tool("nginx"), tool("openssl")
    if nginx is None or openssl is None:
        print(f"skipped: {'nginx' if nginx is None else 'openssl'} is not installed")
        return 0
    async with scratch_database(url) as scratch:
        return await run(
            scratch, nginx, openssl, clients=arguments.clients, bookings=arguments.bookings,
            pairs=arguments.pairs, warmup=arguments.warmup, workers=arguments.nginx_workers,
        )  # fmt: skip


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
