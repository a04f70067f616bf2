"""The partner agent's day in a real browser: alerted (notification and chime) when the
desk marks the citizen arrived, records how the session went, enters an absence after
seeing the appointment it falls on, and copies their calendar link. axe-core checks the
screens that only a form's answer shows (the absence's second step, the new link)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot
from visio.db.models import Absence, Appointment, AppointmentStatus

pytestmark = BROWSER_LOOP

# Monday 16 March 2026, 10:00-10:30 in Murat (UTC+1).
TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
POLL_WAIT_MS = 8000

# The browser's notifications, recorded as they are made: headless Chromium shows none.
RECORD_NOTIFICATIONS = """
window.__notifications = [];
class RecordedNotification {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notifications.push({ title, body: options.body }); }
}
window.Notification = RecordedNotification;
"""


async def axe_violations(page: Any) -> str:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    return results.generate_report() if results.violations_count else ""


async def test_the_agent_is_alerted_of_the_arrival_then_records_the_outcome(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 8, 50, tzinfo=UTC))  # 09:50 in Murat
    agent = await live.sign_in(chromium, live.agent_email)
    await agent.context.add_init_script(RECORD_NOTIFICATIONS)
    await agent.goto(live.url("/agenda"))
    toggle = agent.get_by_role("button", name="M'alerter quand un usager arrive")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    await expect(agent.locator("[data-arrival-state]")).to_contain_text("Alertes activées")
    await screenshot(agent, "agent-agenda-alerts-on")

    desk = await live.sign_in(chromium, live.desk_email)
    await desk.goto(live.url("/desk"))
    await (
        desk.locator(f"#appointment-{appointment_id}")
        .get_by_role("button", name="L'usager est arrivé")
        .click()
    )

    arrival = agent.locator(f'[data-appointment-id="{appointment_id}"] [data-field="arrival"]')
    await expect(arrival).to_have_text("Usager arrivé à 09:50", timeout=POLL_WAIT_MS)
    notes = await agent.evaluate("window.__notifications")
    assert notes == [{"title": "Un usager est arrivé", "body": notes[0]["body"]}] and notes[0][
        "body"
    ].startswith("Usager arrivé à 09:50 · 10:00")
    assert await agent.get_attribute("[data-arrival-alerts]", "data-last-chime")

    # After the start: how it went, from the agenda's link.
    live.clock.set(datetime(2026, 3, 16, 9, 32, tzinfo=UTC))
    await agent.reload()
    await agent.get_by_role("link", name="Indiquer comment il s'est passé").click()
    await agent.get_by_role("radio", name="Tenu").check()
    await agent.fill("#note", "Dossier complet, demande déposée.")
    await screenshot(agent, "agent-outcome")
    await agent.get_by_role("button", name="Enregistrer l'issue").click()
    await expect(agent.get_by_role("status")).to_contain_text("L'issue est enregistrée.")
    async with live.sessions() as session:
        stored = await session.get_one(Appointment, appointment_id)
        assert (stored.status, stored.outcome_note) == (
            AppointmentStatus.HELD,
            "Dossier complet, demande déposée.",
        )


async def test_the_agent_adds_an_absence_after_seeing_what_it_falls_on(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(datetime(2026, 3, 18, 9, 0, tzinfo=UTC))  # Wednesday
    agent = await live.sign_in(chromium, live.agent_email)
    await agent.goto(live.url("/agenda"))
    await agent.get_by_role("link", name="Mes absences").first.click()
    await agent.fill("#start_date", "2026-03-18")
    await agent.fill("#end_date", "2026-03-20")
    await agent.fill("#reason", "Formation")
    await agent.get_by_role("button", name="Enregistrer l'absence").click()

    warning = agent.locator("#hit-summary")
    await expect(warning).to_contain_text("Cette absence tombe sur 1 rendez-vous réservé")
    await expect(warning.get_by_role("link")).to_have_attribute(
        "href", f"/appointments/{appointment_id}"
    )
    await expect(agent.locator("#reason")).to_have_value("Formation")
    await screenshot(agent, "agent-absence-hit")
    assert await axe_violations(agent) == ""
    async with live.sessions() as session:
        assert (await session.scalars(select(Absence))).all() == []

    await agent.get_by_role("button", name="Enregistrer l'absence quand même").click()
    await expect(agent.get_by_role("status")).to_contain_text("L'absence est enregistrée")
    await expect(agent.locator("main")).to_contain_text(
        "mercredi 18 mars 2026, 00:00 – samedi 21 mars 2026, 00:00 · Formation"
    )
    await screenshot(agent, "agent-absences")
    async with live.sessions() as session:
        assert len((await session.scalars(select(Absence))).all()) == 1

    # Taken back with the keyboard alone.
    await agent.get_by_role("button", name="Retirer").focus()
    await agent.keyboard.press("Enter")
    await expect(agent.get_by_role("status")).to_contain_text("L'absence est retirée.")


async def test_the_agent_makes_and_copies_their_calendar_link(
    chromium: Any, expect: Any, live: Live
) -> None:
    agent = await live.sign_in(chromium, live.agent_email)
    await agent.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await agent.goto(live.url("/agenda/calendar"))
    await agent.get_by_role("button", name="Créer mon lien").click()
    address = agent.locator("#feed-url")
    await expect(address).to_have_value(re.compile(r"/calendar/visio_cal_[\w-]+\.ics$"))
    await agent.get_by_role("button", name="Copier").click()
    await expect(agent.locator("[data-copy-state]")).to_have_text("Copié.")
    copied = await agent.evaluate("navigator.clipboard.readText()")
    assert copied == await address.input_value()
    await screenshot(agent, "agent-calendar-link")
    assert await axe_violations(agent) == ""

    # The link answers with the agent's calendar (its path: the address is the public one).
    feed = await agent.request.get(live.url("/calendar/" + copied.rsplit("/calendar/", 1)[1]))
    assert feed.status == 200 and "BEGIN:VCALENDAR" in await feed.text()
