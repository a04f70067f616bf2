"""Test fixtures: a real database migrated once, each test inside a rolled-back transaction.

The database is SQLite unless `VISIO_TEST_DATABASE_URL` names a PostgreSQL database; CI
runs the whole suite once on each (its PostgreSQL pass leaves out the tests that cannot
depend on the database, `SAME_ON_EVERY_DATABASE`). Tests marked `postgres` need PostgreSQL
itself:

- with the variable set, they run (and the whole run fails if PostgreSQL does not answer);
- in CI's SQLite pass they are left out, as they run in the PostgreSQL pass;
- on a laptop without the variable, they skip and say why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from visio.app import create_app
from visio.db.engine import make_engine
from visio.db.migrate import upgrade_engine
from visio.db.models import Agent, OpeningHour, Partner, Role, Site, Station, User
from visio.services import accounts
from visio.settings import Settings

POSTGRES_URL = os.environ.get("VISIO_TEST_DATABASE_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SECRET = "test-secret-" + "x" * 40
# Monday 16 March 2026, 08:00 UTC (09:00 in Paris): a plain working morning.
DEFAULT_NOW = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)


# argon2 at its production cost takes a tenth of a second and 64 MiB a hash (seconds on a
# loaded machine), and the suite signs in thousands of times: the tests check the rules of
# passwords and sessions at a low cost, the same algorithm (argon2id). One test below
# checks the production cost itself, in a process of its own.
accounts.set_password_cost(time_cost=1, memory_cost=8 * 1024, parallelism=1)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Two workers a core: many tests wait (on a browser, a subprocess, a poll), and the
    other worker of the core runs meanwhile."""
    return 2 * (os.cpu_count() or 1)


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"visio database: {_redacted(POSTGRES_URL) if POSTGRES_URL else 'SQLite (temporary file)'}"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures tests measured (`record_property("summary", line)`), after the run,
    from every worker."""
    lines = [
        str(value)
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", ())
        if name == "summary"
    ]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# Tests whose outcome cannot depend on the database engine: the pure core (no database at
# all), the catalogues, the settings, the calendar files, the deployment files; and, for
# the time of CI's two passes on two cores, the walks through a browser (each screen's
# queries run on PostgreSQL in the handler tests) and the demo's start and refill as a
# process (its data set is checked on both). CI's PostgreSQL pass leaves them to its SQLite
# pass, which runs them all.
SAME_ON_EVERY_DATABASE = (
    "tests/scheduling/",
    "tests/meetings/",
    "tests/notify/test_ics.py",
    "tests/test_i18n.py",
    "tests/test_settings.py",
    "tests/browser/",
    "tests/deploy/",
    "tests/test_demo.py::test_a_demo_started_on_a_later_day_is_filled_again_for_that_day",
    "tests/test_demo.py::test_visio_demo_serves_a_ready_populated_service",
)
# Long tests whose failures were PostgreSQL's (a text too long for its column, a NUL): CI
# runs them in its PostgreSQL pass only; elsewhere they run on whichever database is set.
POSTGRES_PASS_OF_CI = ("tests/handlers/test_api_fuzz.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        if IN_CI:
            same = [item for item in items if item.nodeid.startswith(SAME_ON_EVERY_DATABASE)]
            config.hook.pytest_deselected(items=same)
            items[:] = [
                item for item in items if not item.nodeid.startswith(SAME_ON_EVERY_DATABASE)
            ]
        return
    postgres_only = [
        item
        for item in items
        if item.get_closest_marker("postgres")
        or (IN_CI and item.nodeid.startswith(POSTGRES_PASS_OF_CI))
    ]
    if IN_CI:
        # CI's SQLite pass: these run in its PostgreSQL pass, not skipped here nor there.
        config.hook.pytest_deselected(items=postgres_only)
        left_out = {id(item) for item in postgres_only}
        items[:] = [item for item in items if id(item) not in left_out]
        return
    reason = "needs PostgreSQL: set VISIO_TEST_DATABASE_URL=postgresql+asyncpg://user@host/db"
    for item in postgres_only:
        item.add_marker(pytest.mark.skip(reason=reason))


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def _worker_database(url: str, worker: str) -> str:
    """The database of one parallel worker beside the one named (`test` → `test_gw0`),
    created afresh: workers never share tables."""
    name = f"{make_url(url).database}_{worker}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database at the head revision, built by the migrations (never by create_all); with
    parallel workers (pytest-xdist), one per worker."""
    if POSTGRES_URL:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        try:
            url = asyncio.run(_worker_database(POSTGRES_URL, worker)) if worker else POSTGRES_URL
            asyncio.run(_reset_postgres(url))
        except Exception as error:  # any failure to reach it is fatal for this run
            pytest.exit(
                f"VISIO_TEST_DATABASE_URL is set but PostgreSQL does not answer: {error}",
                returncode=3,
            )
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'visio-test.db'}"
    asyncio.run(_migrate(url))
    yield url
    if url.startswith("postgresql") and url != POSTGRES_URL:
        asyncio.run(_drop_database(POSTGRES_URL, make_url(url).database or ""))


async def _drop_database(url: str, name: str) -> None:
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def head_template_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database at the head revision, migrated once per worker and never used by a
    test: `head_url` copies it."""
    if database_url.startswith("postgresql"):
        name = f"{make_url(database_url).database}_head"
        asyncio.run(_create_database(database_url, name))
        url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('head') / 'head.db'}"
    asyncio.run(_migrate(url))
    yield url
    if url.startswith("postgresql"):
        asyncio.run(_drop_database(database_url, make_url(url).database or ""))


@pytest.fixture
def head_url(head_template_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database at the head revision, of the same kind as the test database, whose
    writes are committed, dropped afterwards: a copy of `head_template_url` (milliseconds,
    where migrating takes seconds)."""
    with database_copy(head_template_url, tmp_path) as url:
        yield url


@contextmanager
def database_copy(source_url: str, folder: Path) -> Iterator[str]:
    """A copy of the database at `source_url`, of the same kind, dropped afterwards: SQLite's
    backup into a file of `folder`, or PostgreSQL's CREATE DATABASE ... TEMPLATE (no
    connection may be using the source meanwhile)."""
    if not source_url.startswith("postgresql"):
        copy = folder / f"copy-{secrets.token_hex(4)}.db"
        source = sqlite3.connect(make_url(source_url).database or "")
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        yield f"sqlite+aiosqlite:///{copy}"
        return
    name = f"visio_copy_{secrets.token_hex(4)}"
    asyncio.run(_create_database(source_url, name, template=make_url(source_url).database))
    try:
        yield make_url(source_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_drop_database(source_url, name))


async def _create_database(url: str, name: str, *, template: str | None = None) -> None:
    """A new database `name` beside the one of `url`: empty, or a copy of `template` (which
    no connection may be using meanwhile)."""
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            copied = f' TEMPLATE "{template}"' if template else ""
            await connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    finally:
        await admin.dispose()


@pytest.fixture
async def scratch_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as the test database, dropped afterwards."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"visio_scratch_{secrets.token_hex(4)}"
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            if connection.dialect.name == "postgresql":
                # This transaction never commits: what PostgreSQL does at a commit (the
                # roll-ups' deferred trigger, migration 0013) is done at each change instead.
                await connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
            try:
                yield connection
            finally:
                await transaction.rollback()
    finally:
        await engine.dispose()


@pytest.fixture
async def session(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """A session for service tests; its commits are savepoints of the outer transaction."""
    maker = async_sessionmaker(
        connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )
    async with maker() as session:
        yield session


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, run_worker=False)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: Clock,
    connection: AsyncConnection,
) -> TestClient[Any, Any]:
    """The whole application, on the test's transaction."""
    app = create_app(settings, clock=clock, bind=connection)
    aiohttp_jinja2.get_env(app).bytecode_cache = COMPILED_TEMPLATES
    return await aiohttp_client(app)


class CompiledTemplates(jinja2.BytecodeCache):
    """The pages' templates compiled once per test process, for all the apps the tests create:
    each app has a Jinja environment of its own, and compiling the same templates for every
    test took a tenth of the handler tests' time. Each entry is checked against its
    template's source (Jinja's checksum), and every app is made by `create_app`, with the
    same Jinja settings."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


# ---------------------------------------------------------------- small factories


@pytest.fixture
def create_site(session: AsyncSession, clock: Clock) -> Callable[..., Any]:
    counter = iter(range(1, 10_000))

    async def create(
        name: str | None = None,
        *,
        timezone: str = "Europe/Paris",
        holiday_calendar: str | None = None,
        stations: int = 1,
        hours: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13, 30), time(17))),
        weekdays: tuple[int, ...] = (1, 2, 3, 4, 5),
    ) -> Site:
        number = next(counter)
        site = Site(
            name=name or f"France Services {number}",
            commune=f"Commune {number}",
            timezone=timezone,
            holiday_calendar=holiday_calendar,
            created_at=clock(),
        )
        site.opening_hours = [
            OpeningHour(weekday=day, start=start, end=end)
            for day in weekdays
            for start, end in hours
        ]
        session.add(site)
        session.add_all(
            Station(site=site, name=f"Cabine {index + 1}", created_at=clock())
            for index in range(stations)
        )
        await session.flush()
        return site

    return create


@pytest.fixture
def create_partner(session: AsyncSession, clock: Clock) -> Callable[..., Any]:
    async def create(code: str = "CAF", name: str = "Caisse d'allocations familiales") -> Partner:
        partner = Partner(code=code, name=name, created_at=clock())
        session.add(partner)
        await session.flush()
        return partner

    return create


@pytest.fixture
def create_agent(session: AsyncSession, clock: Clock, create_partner: Any) -> Callable[..., Any]:
    async def create(
        partner: Partner | None = None,
        *,
        name: str = "Claire Vidal",
        email: str | None = None,
        timezone: str = "Europe/Paris",
        locale: str = "fr",
    ) -> Agent:
        partner = partner or await create_partner()
        agent = Agent(
            partner_id=partner.id,
            name=name,
            email=email or f"agent-{secrets.token_hex(4)}@caf.example",
            timezone=timezone,
            locale=locale,
            created_at=clock(),
        )
        session.add(agent)
        await session.flush()
        return agent

    return create


@pytest.fixture
def create_user(session: AsyncSession, clock: Clock) -> Callable[..., Any]:
    async def create(
        role: Role = Role.ADMIN,
        *,
        email: str | None = None,
        name: str = "Camille Test",
        site_ids: list[int] | None = None,
        agent_id: int | None = None,
        locale: str = "fr",
        password: str | None = None,
    ) -> User:
        sites = [await session.get_one(Site, site_id) for site_id in site_ids or []]
        user = User(
            email=email or f"{role.value}-{secrets.token_hex(4)}@visio.example",
            name=name,
            role=role,
            agent_id=agent_id,
            locale=locale,
            password_hash=accounts.hash_password(password) if password else None,
            created_at=clock(),
        )
        user.sites = sites
        session.add(user)
        await session.flush()
        return user

    return create


@pytest.fixture
def bearer(session: AsyncSession, clock: Clock) -> Callable[..., Any]:
    """`await bearer(user)` → headers carrying a fresh API token of that user."""

    async def headers(user: User, **extra: str) -> dict[str, str]:
        created = await accounts.create_token(
            session, None, user_id=user.id, label="test", now=clock()
        )
        await session.commit()
        return {"Authorization": f"Bearer {created.token}", **extra}

    return headers


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent
