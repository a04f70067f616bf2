"""Booking in a real browser: a known citizen found as the desk types, page loads and user
actions counted; a new citizen booked with the keyboard alone, in English too; the
confirmation sent again by the browser, later and twice at once, books once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot
from visio.db.models import Appointment, Citizen

pytestmark = BROWSER_LOOP

# Monday 16 March 2026, 08:50 in Murat: the morning's permanence (09:00-12:00) is ahead.
TEN_TO_NINE = datetime(2026, 3, 16, 7, 50, tzinfo=UTC)


async def tab_to(page: Any, selector: str, *, most: int = 60) -> None:
    """Press Tab until `selector` has the focus: it must be reachable by keyboard."""
    for _ in range(most):
        if await page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{selector} is not reachable with Tab")


async def test_a_known_citizen_is_found_as_the_desk_types(
    chromium: Any, expect: Any, live: Live
) -> None:
    await live.book(datetime(2026, 3, 16, 10, 0, tzinfo=UTC), last_name="Vidal")
    live.clock.set(TEN_TO_NINE)
    page = await live.sign_in(chromium, live.desk_email)
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    actions = 0

    await page.goto(live.url("/desk/book"))  # 1: the house is already chosen
    await page.select_option("#motive_id", str(live.motive_id))
    await page.click("button.primary")  # 2: the free times
    actions += 2
    await page.locator("label.slot").first.click()
    await page.click("button.primary")  # 3: the citizen
    actions += 2
    await page.fill("#q", "vid")  # the list comes while typing: no page load
    actions += 1
    choice = page.get_by_role("radio", name=re.compile("Monique Vidal"))
    # The list comes from the server as the desk types: give a loaded machine its time.
    await expect(choice).to_be_visible(timeout=20_000)
    await choice.check()
    await page.get_by_role("button", name="Continuer avec cet usager").first.click()
    actions += 2
    # The summary comes in place: no page load, its address in the history.
    await expect(page.locator("h2#summary-heading")).to_be_focused()
    assert "/desk/book/summary?" in page.url
    await screenshot(page, "book-summary")
    await page.get_by_role("button", name="Confirmer la réservation").click()  # 4
    actions += 1
    await expect(page.get_by_text("Le rendez-vous est réservé.")).to_be_visible()
    assert "Monique Vidal" in await page.content()
    # Three screens loaded, the confirmation the fourth; the search and the summary load no
    # page.
    assert len(loads) <= 4, loads
    assert actions <= 10

    # Back from the confirmation, then back again: the citizen screen, from the server.
    await page.go_back()
    await expect(page.locator("h2#summary-heading")).to_be_visible()
    await page.go_back()
    await expect(page.locator("#q")).to_be_visible()


async def test_a_new_citizen_is_booked_with_the_keyboard_alone_in_english(
    chromium: Any, expect: Any, live: Live
) -> None:
    live.clock.set(TEN_TO_NINE)
    page = await live.sign_in(chromium, live.desk_email, language="en")
    await page.goto(live.url("/desk/book"))

    await tab_to(page, "#motive_id")
    await page.keyboard.press("ArrowDown")
    await tab_to(page, "button.primary")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/desk/book/slots\?"))
    await expect(page.get_by_role("heading", name=re.compile("Free times from"))).to_be_visible()

    await tab_to(page, "input[name=slot]")
    await page.keyboard.press("Space")
    await tab_to(page, "form.book-form button.primary")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/desk/book/citizen\?"))

    await tab_to(page, "#first_name")
    await page.keyboard.type("Lucie")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Rigal")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/desk/book/summary\?"))
    await expect(page.get_by_text("Lucie Rigal")).to_be_visible()

    await tab_to(page, "form[method=post] button.primary")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/appointments/\d+/confirmation\?booked=1"))
    await expect(page.get_by_text("The appointment is booked.")).to_be_visible()
    await expect(page.get_by_text("Monday, March 16, 2026, 9:00\u202fAM")).to_be_visible()
    await screenshot(page, "book-confirmation-en")


async def test_without_javascript_the_search_button_finds_the_citizen(
    chromium: Any, expect: Any, live: Live
) -> None:
    await live.book(datetime(2026, 3, 16, 10, 0, tzinfo=UTC), last_name="Vidal")
    live.clock.set(TEN_TO_NINE)
    context = await chromium.new_context(java_script_enabled=False, locale="fr-FR")
    page = await context.new_page()
    await page.goto(live.url("/login"))
    await page.fill("#email", live.desk_email)
    await page.fill("#password", "un mot de passe solide")
    await page.click("form button[type=submit].primary")
    query = urlencode({"site_id": live.site_id, "motive_id": live.motive_id})
    await page.goto(live.url(f"/desk/book/slots?{query}"))
    await page.locator("label.slot").first.click()
    await page.click("form.book-form button.primary")
    await page.fill("#q", "vid")
    await page.get_by_role("button", name="Rechercher").click()
    await expect(page.get_by_role("radio", name=re.compile("Monique Vidal"))).to_be_visible()


async def test_the_confirmation_sent_twice_books_once(
    chromium: Any, expect: Any, live: Live
) -> None:
    """The summary's form carries a key drawn when it was shown: the same form sent again
    a quarter of an hour later (a retry after a lost answer, a restored tab), twice at
    once, books nothing more and leads to the same confirmation."""
    live.clock.set(TEN_TO_NINE)
    page = await live.sign_in(chromium, live.desk_email)
    ids = {"site_id": live.site_id, "motive_id": live.motive_id}
    await page.goto(live.url("/desk/book/slots?" + urlencode(ids)))
    slot = await page.locator("input[name=slot]").first.get_attribute("value")
    citizen = {"first_name": "Paul", "last_name": "Brun"}
    await page.goto(live.url("/desk/book/summary?" + urlencode({**ids, "slot": slot, **citizen})))
    form = page.locator("form[action='/desk/book']")
    key = await form.locator("input[name=idempotency_key]").input_value()
    assert re.fullmatch(r"[\w-]{32}", key)
    sent = await form.evaluate("form => Object.fromEntries(new FormData(form))")
    assert sent["idempotency_key"] == key

    await page.get_by_role("button", name="Confirmer la réservation").click()
    await page.wait_for_url(re.compile(r"/appointments/\d+/confirmation\?booked=1"))
    await expect(page.get_by_text("Le rendez-vous est réservé.")).to_be_visible()
    confirmation = page.url

    live.clock.set(TEN_TO_NINE + timedelta(minutes=15))
    retries = await asyncio.gather(
        *(page.request.post(live.url("/desk/book"), form=sent, max_redirects=0) for _ in "ab")
    )
    for again in retries:
        assert again.status == 303
        assert again.headers["idempotent-replayed"] == "true"
        assert live.url(again.headers["location"]) == confirmation
    async with live.sessions() as session:
        booked = await session.scalar(
            select(func.count(Appointment.id))
            .join(Citizen, Citizen.id == Appointment.citizen_id)
            .where(Citizen.last_name == "Brun")
        )
    assert booked == 1
