"""From nothing to a booking, in a real browser: an administrator creates a house with its
opening hours and a station, a partner with a motive, an agent with a permanence at that
house, and a desk account for it (handed a password link); the desk chooses a password,
signs in and books the agent's first free time there. Only the pages are used."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot

pytestmark = BROWSER_LOOP

ADMIN_EMAIL = "admin@visio.example"
DESK_EMAIL = "accueil.allanche@visio.example"
# Monday 16 March 2026, 08:00 in Allanche (UTC+1).
MONDAY_EIGHT = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)


def new_id(page: Any, kind: str) -> str:
    """The id in the address of the page just reached (/admin/<kind>/<id>)."""
    found = re.search(rf"/admin/{kind}/(\d+)", page.url)
    assert found, page.url
    return found.group(1)


async def test_an_admin_sets_everything_up_then_the_desk_books(
    chromium: Any, expect: Any, live: Live
) -> None:
    live.clock.set(MONDAY_EIGHT)
    await live.add_account(ADMIN_EMAIL)
    admin = await live.sign_in(chromium, ADMIN_EMAIL)

    # The house: opening hours Monday to Friday, 9:00-12:00 and 13:30-17:00, one station.
    await admin.goto(live.url("/admin/sites/new"))
    await admin.fill("#name", "France Services Allanche")
    await admin.fill("#commune", "Allanche")
    for weekday in range(1, 6):
        await admin.fill(f"#hours_{weekday}_1_start", "09:00")
        await admin.fill(f"#hours_{weekday}_1_end", "12:00")
        await admin.fill(f"#hours_{weekday}_2_start", "13:30")
        await admin.fill(f"#hours_{weekday}_2_end", "17:00")
    await admin.get_by_role("button", name="Créer la maison").click()
    await expect(admin.get_by_role("status")).to_contain_text("La maison est créée")
    site_id = new_id(admin, "sites")
    await admin.fill("#station_name", "Poste visio")
    await admin.get_by_role("button", name="Ajouter le poste").click()
    await expect(admin.locator(".stations")).to_contain_text("Poste visio")

    # The partner and its motive.
    await admin.goto(live.url("/admin/partners/new"))
    await admin.fill("#code", "MSA")
    await admin.fill("#name", "Mutualité sociale agricole")
    await admin.get_by_role("button", name="Créer le partenaire").click()
    partner_id = new_id(admin, "partners")
    await admin.goto(live.url(f"/admin/partners/{partner_id}/motives/new"))
    await admin.fill("#name", "Retraite agricole")
    await admin.fill("#duration_minutes", "30")
    await admin.get_by_role("button", name="Créer le motif").click()
    await expect(admin.locator("main")).to_contain_text("Retraite agricole")

    # The agent and their permanence at Allanche, Mondays 9:00-12:00.
    await admin.goto(live.url("/admin/agents/new"))
    await admin.select_option("#partner_id", partner_id)
    await admin.fill("#name", "Paul Meyniel")
    await admin.fill("#email", "paul.meyniel@msa.example")
    await admin.get_by_role("button", name="Créer l'agent").click()
    agent_id = new_id(admin, "agents")
    await admin.goto(live.url(f"/admin/agents/{agent_id}/rules/new"))
    await admin.check("#weekday-1")
    await admin.fill("#start", "09:00")
    await admin.fill("#end", "12:00")
    await admin.check(f"#site-{site_id}")
    await admin.get_by_role("button", name="Ajouter la permanence").click()
    await expect(admin.locator("table.week-grid")).to_contain_text("09:00")
    await admin.goto(live.url(f"/admin/sites/{site_id}"))
    await expect(admin.locator("table.week-grid")).to_contain_text("Paul Meyniel")

    # The desk's account, and the link to choose its password (no SMTP here: shown once).
    await admin.goto(live.url("/admin/users/new"))
    await admin.fill("#name", "Accueil Allanche")
    await admin.fill("#email", DESK_EMAIL)
    await admin.select_option("#role", "desk")
    await admin.check(f"#site-{site_id}")
    await admin.get_by_role("button", name="Créer le compte").click()
    await admin.locator("form[action$='/password-reset'] button").click()
    link = await admin.locator("#reset-link").input_value()
    assert "/password/reset/" in link
    await screenshot(admin, "admin-walk-reset-link")

    # The desk chooses a password, signs in and books Paul Meyniel's first free time.
    desk = await live.sign_in(chromium, None)
    # The link names the configured public address; here visio listens on another port.
    await desk.goto(live.url(link[link.index("/password/reset/") :]))
    await desk.fill("#password", "un mot de passe tout neuf")
    await desk.fill("#password_again", "un mot de passe tout neuf")
    await desk.get_by_role("button", name="Enregistrer mon nouveau mot de passe").click()
    await expect(desk.locator("main")).to_contain_text("mot de passe")
    await desk.goto(live.url("/login"))
    await desk.fill("#email", DESK_EMAIL)
    await desk.fill("#password", "un mot de passe tout neuf")
    await desk.click("form button[type=submit].primary")
    await desk.goto(live.url("/desk/book"))
    motive = desk.locator("#motive_id option", has_text="Retraite agricole")
    await desk.select_option("#motive_id", await motive.get_attribute("value"))
    await desk.click("button.primary")
    first = desk.locator("label.slot").first
    await expect(first).to_contain_text("1 agent libre")  # Paul, Monday morning
    await first.click()
    await desk.click("button.primary")
    await desk.fill("#first_name", "Jeanne")
    await desk.fill("#last_name", "Bouchard")
    await desk.get_by_role("button", name=re.compile("Continuer")).first.click()
    await desk.get_by_role("button", name="Confirmer la réservation").click()
    await expect(desk.get_by_text("Le rendez-vous est réservé.")).to_be_visible()
    page = await desk.content()
    assert "Paul Meyniel" in page and "France Services Allanche" in page
    await screenshot(desk, "admin-walk-booked")
