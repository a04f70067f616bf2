"""An administrator sets a house up in a real browser, by keyboard-friendly forms: creates
it with its week of opening hours and a station, then closes Murat for a day that holds a
booking, is shown that booking before anything is saved, confirms, and finds it in the
appointments to rebook. axe-core checks the screens only a form's answer shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot
from tests.browser.test_agent_flows import axe_violations

pytestmark = BROWSER_LOOP

# Monday 16 March 2026, 10:00 in Murat (UTC+1).
TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
ADMIN_EMAIL = "admin@visio.example"


async def test_an_admin_sets_a_house_up_then_closes_one_over_a_booking(
    chromium: Any, expect: Any, live: Live
) -> None:
    await live.book(TEN)
    await live.add_account(ADMIN_EMAIL)
    admin = await live.sign_in(chromium, ADMIN_EMAIL)
    await admin.goto(live.url("/admin/"))
    await admin.get_by_role("link", name="Maisons", exact=True).click()
    await admin.get_by_role("link", name="Nouvelle maison").click()
    await admin.get_by_label("Nom", exact=True).fill("France Services Allanche")
    await admin.get_by_label("Commune").fill("Allanche")
    await admin.fill("#hours_2_1_start", "09:00")
    await admin.fill("#hours_2_1_end", "08:00")  # a slip: closes before it opens
    await admin.get_by_role("button", name="Créer la maison").click()
    await expect(admin.locator(".error-summary")).to_be_visible()
    await expect(admin.locator("#error-hours_2")).to_be_visible()
    await expect(admin.get_by_label("Commune")).to_have_value("Allanche")  # kept
    assert not await axe_violations(admin)
    await admin.fill("#hours_2_1_end", "12:00")
    await admin.get_by_role("button", name="Créer la maison").click()
    await expect(admin.get_by_role("status")).to_contain_text("La maison est créée")
    await admin.get_by_label("Nom du nouveau poste").fill("Poste visio 1")
    await admin.get_by_role("button", name="Ajouter le poste").click()
    await expect(admin.get_by_role("status")).to_contain_text("Le poste est enregistré")
    await expect(admin.locator(".stations")).to_contain_text("Poste visio 1")

    await admin.goto(live.url(f"/admin/sites/{live.site_id}"))
    await expect(admin.locator("table.week-grid")).to_contain_text("Isabelle")
    await admin.fill("#closure-start_date", "2026-03-16")
    await admin.fill("#closure-end_date", "2026-03-16")
    await admin.fill("#closure-reason", "Travaux")
    await admin.get_by_role("button", name="Enregistrer la fermeture").click()
    asked = admin.locator("#stranded")
    await expect(asked).to_contain_text("Ce changement laisse 1 rendez-vous pris")
    await expect(admin.get_by_text("Aucune fermeture à venir.")).to_be_visible()
    assert not await axe_violations(admin)
    await screenshot(admin, "admin-site-closure-second-step")
    await asked.get_by_role("button", name="Confirmer le changement").click()
    await expect(admin.get_by_role("status")).to_contain_text("La fermeture est enregistrée")
    await admin.goto(live.url("/admin/"))
    await admin.get_by_role(
        "link", name="1 rendez-vous pris est à reprogrammer", exact=False
    ).click()
    await expect(admin.locator("table")).to_contain_text("la maison est fermée")
    assert not await axe_violations(admin)
