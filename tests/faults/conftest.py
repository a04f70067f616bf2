"""A PostgreSQL server of the tests' own for the fault scenarios (stopped, frozen,
restarted): see `tests.faults.postgres`. Without Debian's PostgreSQL programs these tests
skip on a laptop and fail in CI, where they must run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI
from tests.faults.postgres import OwnPostgres, binaries
from tests.test_cli import environment, visio


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    """A fresh server, running, its `postgres` database brought to the head revision by
    `visio db upgrade`; destroyed after the module's tests."""
    programs = binaries()
    if programs is None:
        reason = "needs Debian's PostgreSQL server (initdb and pg_ctl in /usr/lib/postgresql)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    server = OwnPostgres(programs)
    try:
        server.start()
        upgraded = visio("db", "upgrade", env=environment(VISIO_DATABASE_URL=server.url))
        assert upgraded.returncode == 0, upgraded.stderr
        yield server
    finally:
        server.destroy()
