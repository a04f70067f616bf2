"""An administrator corrects a partner agent's permanence in a real browser: the change
would leave a booked appointment without its agent, so the page lists it and asks; once
confirmed, the permanence is changed, the appointment is marked to rebook and the page
says so. axe-core checks the second step, which only a form's answer shows."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot
from tests.browser.test_agent_flows import axe_violations
from visio.db.models import Appointment, AvailabilityRule
from visio.domain import RebookReason

pytestmark = BROWSER_LOOP

ADMIN_EMAIL = "admin@visio.example"
# Tuesday 17 March 2026, 10:00-10:30 in Murat (UTC+1).
TUESDAY_TEN = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)


async def test_the_admin_shortens_a_permanence_after_seeing_the_booking_it_leaves(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TUESDAY_TEN)
    await live.add_account(ADMIN_EMAIL)
    page = await live.sign_in(chromium, ADMIN_EMAIL)
    await page.goto(live.url("/admin/agents"))
    await page.get_by_role("link", name="Isabelle Delmas").click()
    grid = page.locator("table.week-grid")
    await expect(grid).to_contain_text("09:00–12:00")
    await screenshot(page, "admin-agent")

    # The permanence's form, from the grid's Tuesday.
    await grid.locator("td").nth(1).get_by_role("link").click()
    await expect(page.locator("h1")).to_contain_text("Une permanence de Isabelle Delmas")
    await page.fill("#end", "10:00")
    await page.get_by_role("button", name="Enregistrer la permanence").click()

    asked = page.locator("#stranded")
    await expect(asked).to_contain_text("Ce changement laisse 1 rendez-vous pris sans son agent")
    await expect(asked).to_contain_text(f"V-{appointment_id:06d}")
    await expect(page.locator("#end")).to_have_value("10:00")
    await screenshot(page, "admin-rule-second-step")
    assert await axe_violations(page) == ""
    async with live.sessions() as session:
        rule = await session.scalar(select(AvailabilityRule))
        assert rule is not None and rule.end == time(12)

    await asked.get_by_role("button", name="Confirmer le changement").click()
    done = page.get_by_role("status")
    await expect(done).to_contain_text("La permanence est enregistrée.")
    await expect(done).to_contain_text("1 rendez-vous est désormais à replacer")
    await expect(page.locator("table.week-grid")).to_contain_text("09:00–10:00")
    await screenshot(page, "admin-agent-rebook")
    await done.get_by_role("link", name="Voir les rendez-vous à replacer").click()
    await expect(page.locator("main")).to_contain_text(f"V-{appointment_id:06d}")
    async with live.sessions() as session:
        stored = await session.get_one(Appointment, appointment_id)
        assert stored.to_rebook_reason is RebookReason.PERMANENCE_CHANGED
