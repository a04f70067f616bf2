"""Real-browser tests: Playwright driving Debian's Chromium against visio served over HTTP.

The server is the whole application on a real socket on 127.0.0.1, over a fresh database
at the head revision of the run's kind (SQLite or PostgreSQL; `head_url`) whose writes are
committed: the browser and the test both talk to it, so the rolled-back `connection`
fixture cannot be used here. Its clock runs in real time from an instant each test chooses,
so "now" sits where the scenario needs it relative to an appointment, without sleeping.

Chromium starts headless with name resolution cut off except for loopback: no page can
reach the Internet, which is also how the join page's "Jitsi unreachable" case is made.

The pages the tests visit are kept as screenshots in `tests/browser/screenshots/` (ignored
by git), or in the folder `VISIO_TEST_SCREENSHOTS` names.

In CI (`CI=true`) a missing Chromium or playwright fails the run: browser tests must never
silently stop running there. Elsewhere they skip and say what to install.

Each test process starts Chromium once, and each test opens contexts of its own in it (its
own cookies, storage and cache), closed after it: starting a browser for every test cost
more than many tests themselves. Playwright's objects belong to the event loop they were
made on, so the browser tests, and the fixtures they use that run on a loop, share the
process's one loop: every module here says `pytestmark = BROWSER_LOOP`.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time as monotonic_time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import IN_CI, SECRET
from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import (
    Agent,
    AvailabilityRule,
    Motive,
    OpeningHour,
    Partner,
    Role,
    Site,
    Station,
)
from visio.services import accounts, booking
from visio.services.citizens import CitizenDetails
from visio.services.notifications import Links
from visio.settings import Settings

CHROMIUM = os.environ.get("VISIO_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # No name resolves but loopback's: the browser cannot reach anything outside the test.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
PASSWORD = "un mot de passe solide"
# Where screenshots of the pages are kept, for a person to look at.
SCREENSHOTS = Path(
    os.environ.get("VISIO_TEST_SCREENSHOTS", "").strip() or Path(__file__).parent / "screenshots"
)


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: pip install -e '.[test]'"
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        return f"Chromium is missing at {CHROMIUM}: apt-get install chromium"
    return None


def _require_browser() -> None:
    reason = _unavailable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests need a browser: {reason}")


# The loop of the browser tests and of their fixtures: one a test process (see above).
BROWSER_LOOP = pytest.mark.asyncio(loop_scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test on a loop of its own would wait forever for the server and browser of
    another loop: say so at once."""
    here = Path(__file__).parent
    for item in items:
        if Path(item.path).parent != here or not isinstance(item, pytest.Function):
            continue
        marker = item.get_closest_marker("asyncio")
        if marker is not None and marker.kwargs.get("loop_scope") != "session":
            raise pytest.UsageError(f"{item.nodeid}: its module needs pytestmark = BROWSER_LOOP")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def process_chromium() -> AsyncIterator[Any]:
    """The test process's headless Chromium, driven by Playwright's async API, started on
    first use."""
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


class Browser:
    """Chromium as one test sees it: the contexts it opens are closed after the test."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._contexts: list[Any] = []

    async def new_context(self, **options: Any) -> Any:
        context = await self._browser.new_context(**options)
        self._contexts.append(context)
        return context

    async def close(self) -> None:
        while self._contexts:
            await self._contexts.pop().close()


@pytest_asyncio.fixture(loop_scope="session")
async def chromium(process_chromium: Any) -> AsyncIterator[Browser]:
    """A headless Chromium for this test: contexts opened in the process's browser."""
    browser = Browser(process_chromium)
    try:
        yield browser
    finally:
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def aiohttp_server() -> AsyncIterator[Callable[..., Any]]:
    """pytest-aiohttp's `aiohttp_server`, on the browser tests' loop."""
    servers: list[TestServer] = []

    async def serve(app: Any, *, host: str = "127.0.0.1", port: int | None = None) -> TestServer:
        server = TestServer(app, host=host, port=port)
        await server.start_server()
        servers.append(server)
        return server

    yield serve
    while servers:
        await servers.pop().close()


@pytest.fixture
def expect() -> Any:
    """Playwright's retrying assertions (imported here so that a missing playwright is
    reported by `_require_browser`, not as an import error)."""
    _require_browser()
    from playwright.async_api import expect as playwright_expect

    return playwright_expect


async def screenshot(page: Any, name: str) -> None:
    """Keep a full-page screenshot as `<SCREENSHOTS>/<name>.png` (Playwright makes the
    folder when it is missing)."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class RunningClock:
    """The server's clock: real time flowing from an instant the test sets."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, now: datetime) -> None:
        self._start = now
        self._started = monotonic_time.monotonic()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=monotonic_time.monotonic() - self._started)


@dataclass
class Live:
    """visio served on 127.0.0.1 with a house, a CAF agent and their two accounts."""

    base_url: str
    clock: RunningClock
    sessions: async_sessionmaker[AsyncSession]
    site_id: int
    motive_id: int
    desk_email: str
    desk_id: int
    agent_email: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def book(self, start: datetime, last_name: str = "Chassang") -> int:
        """Book the CAF agent at `start` for a citizen, as the desk, and commit."""
        async with self.sessions() as session:
            actor = await accounts.load_actor(session, self.desk_id)
            assert actor is not None
            view = await booking.book(
                session,
                actor,
                booking.BookingRequest(
                    site_id=self.site_id,
                    motive_id=self.motive_id,
                    start=start,
                    citizen=CitizenDetails(first_name="Monique", last_name=last_name),
                ),
                now=self.clock(),
                links=Links(base_url=self.base_url),
            )
            await session.commit()
            return view.id

    async def sign_in(self, browser: Any, email: str | None, *, language: str = "") -> Any:
        """A new browser context (its own cookies) signed in as `email` (None: nobody);
        `language` ("fr", "en"): the pages' language, chosen as by the language switch."""
        locale = "en-GB" if language == "en" else "fr-FR"
        context = await browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        if language:
            await context.add_cookies(
                [{"name": "visio_lang", "value": language, "url": self.base_url}]
            )
        page = await context.new_page()
        if email is None:
            return page
        await page.goto(self.url("/login"))
        await page.fill("#email", email)
        await page.fill("#password", PASSWORD)
        await page.click("form button[type=submit].primary")
        await page.wait_for_url(self.url("/"))
        return page

    async def add_account(
        self, email: str, role: Role = Role.ADMIN, *, name: str = "Administratrice",
        site_ids: list[int] | None = None,
    ) -> None:  # fmt: skip
        """An account with the tests' password (an administrator unless told), committed."""
        async with self.sessions() as session:
            await accounts.create_user(
                session, None, email=email, name=name, role=role, site_ids=site_ids or [],
                password=PASSWORD, now=self.clock(),
            )  # fmt: skip
            await session.commit()


@pytest.fixture
def live_settings(head_url: str) -> Settings:
    """The served app's settings (the default Jitsi: plain links to meet.jit.si)."""
    return Settings(database_url=head_url, secret_key=SECRET, run_worker=False)


@pytest_asyncio.fixture(loop_scope="session")
async def live(
    head_url: str, live_settings: Settings, aiohttp_server: Callable[..., Any]
) -> AsyncIterator[Live]:
    engine = make_engine(head_url)
    try:
        sessions = make_sessionmaker(engine)
        # Monday 16 March 2026, 09:00 in Murat; tests move it where they need it.
        clock = RunningClock(datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
        ids = await _fill(sessions, clock())
        server = await aiohttp_server(create_app(live_settings, clock=clock))
        base_url = str(server.make_url("")).rstrip("/")
        assert base_url.startswith("http://127.0.0.1:")
        yield Live(base_url=base_url, clock=clock, sessions=sessions, **ids)
    finally:
        await engine.dispose()


async def _fill(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, Any]:
    async with sessions() as session:
        site = Site(name="France Services Murat", commune="Murat", timezone="Europe/Paris",
                    created_at=now)  # fmt: skip
        site.opening_hours = [
            OpeningHour(weekday=day, start=start, end=end)
            for day in range(1, 6)
            for start, end in ((time(9), time(12)), (time(13, 30), time(17)))
        ]
        session.add(site)
        session.add(Station(site=site, name="Cabine 1", created_at=now))
        partner = Partner(code="CAF", name="Caisse d'allocations familiales", created_at=now)
        session.add(partner)
        await session.flush()
        agent = Agent(partner_id=partner.id, name="Isabelle Delmas",
                      email="isabelle.delmas@caf.example", timezone="Europe/Paris",
                      created_at=now)  # fmt: skip
        motive = Motive(partner_id=partner.id, name="Prime d'activité", duration_minutes=30,
                        min_notice_minutes=0, horizon_days=60, documents=[],
                        reminder_offsets=[])  # fmt: skip
        session.add_all([agent, motive])
        await session.flush()
        rule = AvailabilityRule(agent_id=agent.id, weekdays=[1, 2, 3, 4, 5], start=time(9),
                                end=time(12), every_weeks=1)  # fmt: skip
        rule.sites, rule.motives = [site], []
        session.add(rule)
        desk = await accounts.create_user(
            session, None, email="agnes@visio.example", name="Agnès Chastel", role=Role.DESK,
            site_ids=[site.id], password=PASSWORD, now=now,
        )  # fmt: skip
        await accounts.create_user(
            session, None, email="isabelle@visio.example", name="Isabelle Delmas",
            role=Role.AGENT, agent_id=agent.id, password=PASSWORD, now=now,
        )  # fmt: skip
        await session.commit()
        return {
            "site_id": site.id,
            "motive_id": motive.id,
            "desk_email": desk.email,
            "desk_id": desk.id,
            "agent_email": "isabelle@visio.example",
        }
