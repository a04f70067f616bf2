"""Every page passes axe-core with no violation of any impact, in French and in English, at
a phone's width (320 px), a tablet's (768 px) and a desktop's (1280 px).

axe-core comes bundled with the axe-playwright-python package (no download): it runs in
the page, in Debian's Chromium, after the page has loaded.

Each page is loaded (or its form sent) once, then checked at each width in turn: the pages
follow the width through CSS alone, no script of theirs reads it (checked below), so the
page resized shows what it would loaded at that width, and loading it three times cost
more than axe itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select, update

from tests.browser.conftest import BROWSER_LOOP, PASSWORD, Live, screenshot
from visio.db.models import Agent, OutboxMessage, OutboxStatus, Role, Station
from visio.services import accounts

pytestmark = BROWSER_LOOP

# The appointment of the pages: Monday 16 March 2026, 10:00 in Murat; now is 09:50, so
# the join pages show the meeting's window open.
TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
TEN_TO_TEN = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)
WIDTHS = (320, 768, 1280)
STATIC = Path(__file__).parents[2] / "visio" / "static"
# What a script reading the width would use: then loading each page at each width (not
# resizing it) would be what shows every width.
READS_THE_WIDTH = re.compile(
    r"matchMedia|innerWidth|outerWidth|clientWidth|offsetWidth|getBoundingClientRect"
    r"|visualViewport|screen\.(?:avail)?width|['\"]resize['\"]",
    re.IGNORECASE,
)
ADMIN_EMAIL = "admin@visio.example"
COORDINATOR_EMAIL = "coordination@visio.example"


async def failures_at_every_width(axe: Any, page: Any, label: str, shot: str) -> list[str]:
    """axe's report on `page` as it stands at each width in turn (empty when it passes), and
    the page at the last width kept as the screenshot `shot` (one picture a page and
    language is enough to look at)."""
    failures = []
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 900})
        results = await axe.run(page)
        if results.violations_count:
            failures.append(f"{label} at {width} px:\n" + results.generate_report())
    await screenshot(page, shot)
    return failures


def shot_name(path: str) -> str:
    return path.strip("/").replace("/", "-").replace("?", "-")


@dataclass(frozen=True)
class Visit:
    """A page as one person sees it (None: nobody signed in)."""

    who: str | None
    path: str


async def _pages(live: Live) -> list[Visit]:
    appointment_id = await live.book(TEN)
    async with live.sessions() as session:
        await accounts.create_user(
            session, None, email=ADMIN_EMAIL, name="Administratrice", role=Role.ADMIN,
            password=PASSWORD, now=live.clock(),
        )  # fmt: skip
        await accounts.create_user(
            session, None, email=COORDINATOR_EMAIL, name="Coordination", role=Role.COORDINATOR,
            site_ids=[live.site_id], password=PASSWORD, now=live.clock(),
        )  # fmt: skip
        message_id = await session.scalar(select(OutboxMessage.id).limit(1))
        # Refused by the server: its page offers to send it again.
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.FAILED, last_error="550 5.1.1 No such mailbox")
        )  # fmt: skip
        agent_id = await session.scalar(select(Agent.id).limit(1))
        station_id = await session.scalar(select(Station.id).limit(1))
        await session.commit()
    assert message_id is not None
    live.clock.set(TEN_TO_TEN)
    chosen = {"site_id": live.site_id, "motive_id": live.motive_id,
              "slot": f"2026-03-16T11:00:00+01:00|{agent_id}|{station_id}"}  # fmt: skip
    citizen = {"first_name": "Jean", "last_name": "Vidal", "email": "jean@courriel.example"}
    return [
        Visit(None, "/login"),
        Visit(None, "/login?next=/desk"),
        Visit(None, "/privacy"),  # the register of processing activities
        Visit(live.desk_email, "/"),
        Visit(live.desk_email, "/desk"),
        Visit(live.desk_email, "/desk?day=2026-03-17"),
        Visit(live.desk_email, "/desk/week"),
        Visit(live.desk_email, "/desk/book"),
        Visit(
            live.desk_email, f"/desk/book/slots?site_id={live.site_id}&motive_id={live.motive_id}"
        ),
        Visit(live.desk_email, "/desk/book/citizen?" + urlencode({**chosen, "q": "Chass"})),
        Visit(live.desk_email, "/desk/book/summary?" + urlencode({**chosen, **citizen})),
        # the citizen screen with its errors beside their fields
        Visit(live.desk_email, "/desk/book/summary?" + urlencode({**chosen, "email": "x@"})),
        Visit(live.desk_email, f"/appointments/{appointment_id}"),
        Visit(live.desk_email, f"/station/{station_id}"),
        Visit(live.desk_email, f"/appointments/{appointment_id}/confirmation"),
        Visit(live.desk_email, f"/appointments/{appointment_id}/join/station"),
        Visit(live.desk_email, "/appointments/999999/confirmation"),  # the error page: 404
        Visit(live.agent_email, "/"),
        Visit(live.agent_email, "/agenda"),
        Visit(live.agent_email, "/agenda?week=2026-03-09"),
        Visit(live.agent_email, "/agenda/absences"),
        Visit(live.agent_email, "/agenda/calendar"),
        Visit(live.agent_email, f"/appointments/{appointment_id}"),
        Visit(live.agent_email, f"/appointments/{appointment_id}/join/agent"),
        Visit(COORDINATOR_EMAIL, "/"),
        Visit(COORDINATOR_EMAIL, "/stats?year=2026"),
        # the filters with their errors beside their fields
        Visit(COORDINATOR_EMAIL, "/stats?from=2026-03-20&to=2026-03-01"),
        Visit(COORDINATOR_EMAIL, "/stats/report?year=2026"),
        Visit(ADMIN_EMAIL, "/"),
        Visit(ADMIN_EMAIL, "/admin/"),
        Visit(ADMIN_EMAIL, "/admin/sites"),
        Visit(ADMIN_EMAIL, "/admin/sites/new"),
        Visit(ADMIN_EMAIL, f"/admin/sites/{live.site_id}"),
        Visit(ADMIN_EMAIL, "/admin/to-rebook"),
        Visit(COORDINATOR_EMAIL, f"/admin/sites/{live.site_id}"),  # read-only
        Visit(live.desk_email, "/admin/to-rebook"),
        Visit(ADMIN_EMAIL, "/admin/outbox"),
        Visit(ADMIN_EMAIL, f"/admin/outbox/{message_id}"),
        Visit(ADMIN_EMAIL, "/admin/outbox?status=pending&kind=booked&q=V-"),
        Visit(ADMIN_EMAIL, "/admin/audit"),
        Visit(ADMIN_EMAIL, "/admin/audit?action=appointment&entity=appointment&from=2026-03-01"),
        Visit(ADMIN_EMAIL, "/admin/audit?action=nothing.here"),  # no entry
        Visit(ADMIN_EMAIL, "/admin/audit?action=citizen"),  # the reads of citizens' details
        # the filters with their errors beside their fields
        Visit(ADMIN_EMAIL, "/admin/audit?from=31/02/2026&to=soon&entity_id=x"),
    ]


@pytest.mark.parametrize("locale", ["fr", "en"])
async def test_every_page_passes_axe_at_every_width(chromium: Any, live: Live, locale: str) -> None:
    from axe_playwright_python.async_playwright import Axe

    reading = [
        f"{script.name}: {found.group()}"
        for script in sorted(STATIC.glob("*.js"))
        if (found := READS_THE_WIDTH.search(script.read_text()))
    ]
    assert not reading, f"a script reads the width, check each width by loading: {reading}"
    axe = Axe()
    visits = await _pages(live)
    pages: dict[str | None, Any] = {}
    failures = []
    for visit in visits:
        if visit.who not in pages:
            pages[visit.who] = await live.sign_in(chromium, visit.who, language=locale)
        page = pages[visit.who]
        await page.goto(live.url(visit.path))
        await page.wait_for_load_state("load")
        assert await page.get_attribute("html", "lang") == locale, visit.path
        who = visit.who or "nobody"
        failures += await failures_at_every_width(
            axe, page, f"{visit.path} as {who} ({locale})",
            f"a11y-{locale}-{who}-{shot_name(visit.path) or 'home'}",
        )  # fmt: skip
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("locale", ["fr", "en"])
async def test_the_import_page_passes_axe_empty_and_with_its_report(
    chromium: Any, live: Live, locale: str
) -> None:
    """The agents' import page as an administrator finds it, then with the report of a file
    with a refused row (its summary taking the focus) and of a file imported, at every width."""
    from axe_playwright_python.async_playwright import Axe

    await live.add_account(ADMIN_EMAIL)
    good = (
        "partner;name;email;weekdays;start;end;sites\n"
        "CAF;Nadia Fabre;nadia.fabre@caf.example;1 3;14:00;16:00;France Services Murat\n"
    )
    refused = good + "CAF;Luc Pagès;luc.pages@caf.example;2;12:00;09:00;France Services Nowhere\n"
    axe = Axe()
    page = await live.sign_in(chromium, ADMIN_EMAIL, language=locale)
    failures = []
    for name, content in (("empty", None), ("refused", refused), ("imported", good)):
        await page.goto(live.url("/admin/import"))
        if content is not None:
            file = {"name": "agents.csv", "mimeType": "text/csv", "buffer": content.encode()}
            await page.set_input_files("#file", files=[file])
            async with page.expect_navigation():
                await page.click("form[enctype] button[type=submit]")
            await page.wait_for_load_state("load")
        if name == "refused":  # the summary takes the focus (once the page has rendered)
            await page.wait_for_function("document.activeElement.id === 'error-summary'")
        failures += await failures_at_every_width(
            axe, page, f"/admin/import ({name}) ({locale})",
            f"a11y-{locale}-{ADMIN_EMAIL}-admin-import-{name}",
        )  # fmt: skip
    assert not failures, "\n\n".join(failures)


async def test_the_account_pages_pass_axe_at_every_width(chromium: Any, live: Live) -> None:
    """The accounts' list, the new account's form empty and refused (its errors beside
    the fields), an account's page with a token, an open session and a reset link made,
    and with its sessions closed, and the page where the link sets a password, in French
    and in English."""
    from axe_playwright_python.async_playwright import Axe

    from visio.services import password_resets

    async with live.sessions() as session:
        admin = await accounts.create_user(
            session, None, email=ADMIN_EMAIL, name="Administratrice", role=Role.ADMIN,
            password=PASSWORD, now=live.clock(),
        )  # fmt: skip
        await accounts.create_token(
            session, None, user_id=live.desk_id, label="tableur", now=live.clock()
        )
        actor = await accounts.load_actor(session, admin.id)
        assert actor is not None
        await session.commit()

    async def reset_path() -> str:
        """A fresh link for the desk agent (each one spends the one before)."""
        async with live.sessions() as session:
            issued = await password_resets.issue_reset(
                session, actor, live.desk_id, link_for=lambda token: f"/password/reset/{token}",
                by_email=False, now=live.clock(),
            )  # fmt: skip
            await session.commit()
        assert issued.link is not None
        return issued.link

    axe = Axe()
    failures = []
    for locale in ("fr", "en"):
        admin_page = await live.sign_in(chromium, ADMIN_EMAIL, language=locale)
        nobody = await live.sign_in(chromium, None, language=locale)
        # The desk is signed in: its account page lists that session.
        await live.sign_in(chromium, live.desk_email, language=locale)

        async def sessions_closed(page: Any, locale: str = locale) -> None:
            await live.sign_in(chromium, live.desk_email, language=locale)
            await page.goto(live.url(f"/admin/users/{live.desk_id}"))
            await page.click("form[action$='/sessions/end'] button")
            await page.wait_for_selector("p.success")

        async def new_account_refused(page: Any) -> None:
            await page.goto(live.url("/admin/users/new"))
            await page.fill("#name", "Agnès Chastel")
            await page.fill("#email", live.desk_email)
            await page.select_option("#role", "desk")
            await page.check(f"#site-{live.site_id}")
            await page.click("form button[type=submit].primary")
            await page.wait_for_selector("#error-summary")

        async def reset_made(page: Any) -> None:
            await page.goto(live.url(f"/admin/users/{live.desk_id}"))
            await page.click("form[action$='/password-reset'] button")
            await page.wait_for_selector("#reset-link")

        async def reset_refused(page: Any) -> None:
            await page.goto(live.url(await reset_path()))
            await page.fill("#password", "court")
            await page.fill("#password_again", "différent")
            await page.click("form button[type=submit].primary")
            await page.wait_for_selector("#error-summary")

        visits = [
            (admin_page, "/admin/users", None),
            (admin_page, "/admin/users?q=zzz&state=inactive", None),  # nothing found
            (admin_page, "/admin/users/new", None),
            (admin_page, "new-refused", new_account_refused),
            (admin_page, f"/admin/users/{live.desk_id}", None),
            (admin_page, "reset-made", reset_made),
            (admin_page, "sessions-closed", sessions_closed),
            (nobody, "reset", None),
            (nobody, "reset-refused", reset_refused),
            (nobody, "/password/changed", None),
        ]
        for page, path, steps in visits:
            if steps is not None:
                await steps(page)
            elif path == "reset":
                await page.goto(live.url(await reset_path()))
            else:
                await page.goto(live.url(path))
            await page.wait_for_load_state("load")
            assert await page.get_attribute("html", "lang") == locale, path
            failures += await failures_at_every_width(
                axe, page, f"{path} ({locale})", f"a11y-{locale}-accounts-{shot_name(path)}"
            )
    assert not failures, "\n\n".join(failures)


async def test_the_partner_pages_pass_axe_at_every_width(chromium: Any, live: Live) -> None:
    """The partners' list, a partner's page (also refusing to remove a partner in use), the
    new partner's and new motive's forms, a motive's form refused (its errors beside the
    fields) and a motive's page, then the same pages read as a coordinator (no form), in
    French and in English."""
    from axe_playwright_python.async_playwright import Axe

    from visio.db.models import Motive

    async with live.sessions() as session:
        for email, role, sites in (
            (ADMIN_EMAIL, Role.ADMIN, []),
            (COORDINATOR_EMAIL, Role.COORDINATOR, [live.site_id]),
        ):
            await accounts.create_user(
                session, None, email=email, name="Administratrice", role=role,
                site_ids=sites, password=PASSWORD, now=live.clock(),
            )  # fmt: skip
        partner_id = await session.scalar(
            select(Motive.partner_id).where(Motive.id == live.motive_id)
        )
        await session.commit()

    async def partner_in_use(page: Any) -> None:
        await page.goto(live.url(f"/admin/partners/{partner_id}"))
        async with page.expect_navigation():
            await page.click("form[action$='/delete'] button")
        await page.wait_for_selector("#refusal")

    async def motive_refused(page: Any) -> None:
        await page.goto(live.url(f"/admin/partners/{partner_id}/motives/new"))
        await page.fill("#name", "Retraite")
        await page.fill("#duration_minutes", "3")
        await page.fill("#reminder_offsets_minutes", "60, 1h")
        async with page.expect_navigation():
            await page.click("form[novalidate] button[type=submit].primary")
        await page.wait_for_selector("#error-summary")

    axe = Axe()
    failures = []
    for locale in ("fr", "en"):
        admin = await live.sign_in(chromium, ADMIN_EMAIL, language=locale)
        coordinator = await live.sign_in(chromium, COORDINATOR_EMAIL, language=locale)
        visits = [
            (admin, "/admin/partners", None),
            (admin, "/admin/partners?q=zzz&state=all", None),  # nothing found
            (admin, f"/admin/partners/{partner_id}", None),
            (admin, "partner-in-use", partner_in_use),
            (admin, "/admin/partners/new", None),
            (admin, f"/admin/partners/{partner_id}/motives/new", None),
            (admin, "motive-refused", motive_refused),
            (admin, f"/admin/motives/{live.motive_id}", None),
            (coordinator, "/admin/partners", None),
            (coordinator, f"/admin/partners/{partner_id}", None),
            (coordinator, f"/admin/motives/{live.motive_id}", None),
        ]
        for page, path, steps in visits:
            who = "coordinator" if page is coordinator else "admin"
            if steps is not None:
                await steps(page)
            else:
                await page.goto(live.url(path))
            await page.wait_for_load_state("load")
            assert await page.get_attribute("html", "lang") == locale, path
            if page is coordinator:  # read-only: the values as text, no form
                assert await page.locator("main form[method=post]").count() == 0, path
            failures += await failures_at_every_width(
                axe, page, f"{path} as {who} ({locale})",
                f"a11y-{locale}-partners-{who}-{shot_name(path)}",
            )  # fmt: skip
    assert not failures, "\n\n".join(failures)


async def test_the_agent_admin_pages_pass_axe_at_every_width(chromium: Any, live: Live) -> None:
    """The partner agents' list, an agent's page with their week grid, a permanence's form
    refused (its errors beside the fields), the second step of a change that would leave a
    booking without its agent, and an agent's page as a coordinator reads it (no form), in
    French and English."""
    from axe_playwright_python.async_playwright import Axe

    await live.book(datetime(2026, 3, 17, 9, 0, tzinfo=UTC))  # Tuesday 10:00 in Murat
    async with live.sessions() as session:
        for email, role, site_ids in (
            (ADMIN_EMAIL, Role.ADMIN, []),
            (COORDINATOR_EMAIL, Role.COORDINATOR, [live.site_id]),
        ):
            await accounts.create_user(
                session, None, email=email, name="Administration", role=role,
                site_ids=site_ids, password=PASSWORD, now=live.clock(),
            )  # fmt: skip
        agent_id = await session.scalar(select(Agent.id).limit(1))
        await session.commit()
    agent_path = f"/admin/agents/{agent_id}"

    async def rule_refused(page: Any) -> None:
        await page.goto(live.url(f"{agent_path}/rules/new"))
        await page.check("#weekday-1")
        await page.fill("#start", "11:00")
        await page.fill("#end", "10:00")
        await page.click("form button[type=submit].primary")
        await page.wait_for_selector("#error-summary")

    async def second_step(page: Any) -> None:
        await page.goto(live.url(agent_path))
        await page.locator("table.agent-rules a").first.click()
        await page.fill("#end", "10:00")
        await page.click("form button[type=submit].primary")
        await page.wait_for_selector("#stranded")

    axe = Axe()
    failures = []
    for locale in ("fr", "en"):
        pages = {
            "admin": await live.sign_in(chromium, ADMIN_EMAIL, language=locale),
            "coordinator": await live.sign_in(chromium, COORDINATOR_EMAIL, language=locale),
        }
        visits = [
            ("admin", "/admin/agents", None),
            ("admin", "/admin/agents?q=zzz&state=all", None),  # nothing found
            ("admin", "/admin/agents/new", None),
            ("admin", agent_path, None),
            ("admin", "rule-refused", rule_refused),
            ("admin", "second-step", second_step),
            ("coordinator", "/admin/agents", None),
            ("coordinator", agent_path, None),
        ]
        for who, path, steps in visits:
            page = pages[who]
            if steps is not None:
                await steps(page)
            else:
                await page.goto(live.url(path))
            await page.wait_for_load_state("load")
            assert await page.get_attribute("html", "lang") == locale, path
            failures += await failures_at_every_width(
                axe, page, f"{path} as {who} ({locale})",
                f"a11y-{locale}-agents-{who}-{shot_name(path)}",
            )  # fmt: skip
    assert not failures, "\n\n".join(failures)


async def test_the_unavailable_page_passes_axe_at_every_width(
    chromium: Any, aiohttp_server: Any
) -> None:
    """The page people get while the database is out of reach (503): here visio is given a
    PostgreSQL address where nothing listens, and a page that reads the database (a
    password link) is asked for, in French and English."""
    from axe_playwright_python.async_playwright import Axe

    from tests.conftest import SECRET
    from tests.test_cli import free_port
    from visio.app import create_app
    from visio.settings import Settings

    nowhere = f"postgresql+asyncpg://visio@127.0.0.1:{free_port()}/visio"
    settings = Settings(
        database_url=nowhere, secret_key=SECRET, run_worker=False, require_schema_head=False
    )
    server = await aiohttp_server(create_app(settings))
    base_url = str(server.make_url("")).rstrip("/")
    axe = Axe()
    failures = []
    titles = {"fr": "Service momentanément indisponible", "en": "Service temporarily unavailable"}
    for locale, title in titles.items():
        context = await chromium.new_context(locale="en-GB" if locale == "en" else "fr-FR")
        await context.add_cookies([{"name": "visio_lang", "value": locale, "url": base_url}])
        page = await context.new_page()
        response = await page.goto(f"{base_url}/password/reset/visio_reset_of-no-one")
        assert response is not None and response.status == 503
        assert await page.get_attribute("html", "lang") == locale
        assert await page.inner_text("h1") == title
        failures += await failures_at_every_width(
            axe, page, f"unavailable ({locale})", f"a11y-{locale}-unavailable"
        )
        await context.close()
    assert not failures, "\n\n".join(failures)
