"""A PostgreSQL server of our own, to stop, freeze and restart: Debian's `initdb` and
`pg_ctl` on a free loopback port, in a temporary folder, run as an unprivileged account.

Only the processes of this server are ever signalled (the postmaster's pid from its own
`postmaster.pid`, and that process's children); the machine's PostgreSQL is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

# The account the server runs as when the tests run as root (PostgreSQL refuses root).
ACCOUNT = "visio-pg-test"


def binaries() -> Path | None:
    """The newest Debian PostgreSQL's programs folder, or None when none is installed."""
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _account() -> str | None:
    """Who runs the server: None (ourselves) unless we are root, then `ACCOUNT`, made as a
    system account without a home or a shell if it does not exist yet."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        subprocess.run(
            [
                shutil.which("useradd") or "/usr/sbin/useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                ACCOUNT,
            ],
            check=True,
            capture_output=True,
        )
    return ACCOUNT


class OwnPostgres:
    """One throw-away PostgreSQL server: `start()`, `stop()`, `freeze()`, `thaw()`,
    `destroy()`. `url` names its `postgres` database, for asyncpg."""

    def __init__(self, programs: Path) -> None:
        self.programs = programs
        self.account = _account()
        self.folder = Path(tempfile.mkdtemp(prefix="visio-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self.frozen: list[int] = []
        if self.account is not None:
            entry = pwd.getpwnam(self.account)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _run(self, program: str, *arguments: str) -> None:
        command = [str(self.programs / program), *arguments]
        if self.account is not None:
            command = ["runuser", "-u", self.account, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown, as an operator's `systemctl stop` does: connections are cut."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster (from the pid file this server wrote) and its children."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                # "pid (name) state ppid …": the name may hold spaces, so split after it.
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:
                    children.append(int(stat.parent.name))
        return [postmaster, *children]

    def freeze(self) -> None:
        """The server stops answering, its sockets still open (SIGSTOP, the postmaster first
        so that it starts no new process meanwhile)."""
        self.frozen = self.pids()
        for pid in self.frozen:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in reversed(self.frozen):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.frozen = []

    def destroy(self) -> None:
        self.thaw()
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
