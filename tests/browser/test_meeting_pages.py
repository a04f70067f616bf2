"""The pages around an appointment in a real browser: the desk marks the citizen arrived and
the agent's agenda shows it without a reload; the desk sees a late agent, then sees them
connected; the join page counts down, then offers the link and the embedded meeting, and
keeps the link with a message when Jitsi cannot be reached."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot

pytestmark = BROWSER_LOOP

# The appointment of these scenarios: Monday 16 March 2026, 10:00-10:30 in Murat (UTC+1).
TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
# The join window opens 15 minutes before.
WINDOW_OPENS = datetime(2026, 3, 16, 8, 45, tzinfo=UTC)
# Polling every 5 s, plus the request and the DOM update.
POLL_WAIT_MS = 8000


async def test_the_agenda_shows_the_arrival_marked_at_the_desk(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 8, 50, tzinfo=UTC))  # 09:50 in Murat
    desk = await live.sign_in(chromium, live.desk_email)
    agent = await live.sign_in(chromium, live.agent_email)
    await agent.goto(live.url("/agenda"))
    card = agent.locator(f'[data-appointment-id="{appointment_id}"]')
    await expect(card).to_contain_text("Monique Chassang")
    arrival = card.locator('[data-field="arrival"]')
    await expect(arrival).to_be_hidden()
    await agent.evaluate("window.stillTheSamePage = true")

    await desk.goto(live.url("/desk"))
    row = desk.locator(f"#appointment-{appointment_id}")
    await expect(row).to_contain_text("10:00")
    await expect(row).to_contain_text("Prime d'activité")
    await expect(row).to_contain_text("Isabelle Delmas")
    await row.get_by_role("button", name="L'usager est arrivé").click()
    await desk.wait_for_url(re.compile(r"/desk#appointment-\d+$"))
    await expect(row).to_contain_text("Usager arrivé à 09:50")
    await expect(row.get_by_role("button", name="L'usager est arrivé")).to_have_count(0)
    await screenshot(desk, "desk")

    # The agent's page learns it by itself, within one polling round, without reloading.
    await expect(arrival).to_have_text("Usager arrivé à 09:50", timeout=POLL_WAIT_MS)
    await expect(arrival).to_be_visible()
    assert await agent.evaluate("window.stillTheSamePage") is True
    assert await card.locator(".live-cell").get_attribute("aria-live") == "polite"


async def test_the_desk_sees_the_late_agent_then_connected(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 9, 3, tzinfo=UTC))  # 10:03: started, nobody yet
    desk = await live.sign_in(chromium, live.desk_email)
    await desk.goto(live.url("/desk"))
    badge = desk.locator(f'#appointment-{appointment_id} [data-field="agent"]')
    await expect(badge).to_have_text("Agent en retard")
    await expect(badge).to_have_attribute("data-presence", "late")
    await desk.evaluate("window.stillTheSamePage = true")

    agent = await live.sign_in(chromium, live.agent_email)
    await agent.goto(live.url(f"/appointments/{appointment_id}/join/agent"))
    await expect(agent.get_by_role("heading", name="La visio est ouverte")).to_be_visible()

    await expect(badge).to_have_text(re.compile(r"^Agent connecté à 10:0\d$"), timeout=POLL_WAIT_MS)
    await expect(badge).to_have_attribute("data-presence", "joined")
    assert await desk.evaluate("window.stillTheSamePage") is True


async def test_the_join_page_counts_down_then_falls_back_to_the_link(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    desk = await live.sign_in(chromium, live.desk_email)
    # Three seconds before the window opens, once signed in (signing in may take that long
    # on a busy machine).
    live.clock.set(datetime(2026, 3, 16, 8, 44, 57, tzinfo=UTC))
    failed_requests: list[str] = []
    desk.on("requestfailed", lambda request: failed_requests.append(request.url))
    await desk.goto(live.url(f"/appointments/{appointment_id}/join/station"))
    await expect(
        desk.get_by_role("heading", name="La visio n'est pas encore ouverte")
    ).to_be_visible()
    await expect(desk.get_by_role("timer")).to_have_text(re.compile(r"^00:00:0[0-3]$"))
    await expect(desk.locator("[data-join-link]")).to_have_count(0)

    # The countdown ends, the page reloads itself and the server opens the window.
    link = desk.locator("[data-join-link]")
    await expect(link).to_be_visible(timeout=8000)
    await expect(desk.get_by_role("heading", name="La visio est ouverte")).to_be_visible()
    href = await link.get_attribute("href")
    assert href is not None and re.fullmatch(r"https://meet\.jit\.si/visio-[a-z0-9-]+", href)
    # meet.jit.si cannot be reached from here: the link stays, with a message saying why.
    status = desk.locator("[data-meeting-status]")
    await expect(status).to_contain_text("La visio ne peut pas s'afficher dans cette page")
    await expect(desk.locator("[data-meeting]")).to_be_hidden()
    await expect(link).to_be_visible()
    assert "https://meet.jit.si/external_api.js" in failed_requests
    await screenshot(desk, "join")


async def test_the_join_page_embeds_the_meeting_with_the_iframe_api(
    chromium: Any, expect: Any, live: Live
) -> None:
    """Jitsi's script stood in for by the browser's router: the page hands it the room,
    the name to show and the container, and keeps the direct link."""
    appointment_id = await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 8, 58, tzinfo=UTC))
    agent = await live.sign_in(chromium, live.agent_email)
    stand_in = """
        window.JitsiMeetExternalAPI = function (domain, options) {
          window.embedded = {domain: domain, roomName: options.roomName, jwt: options.jwt || null,
                             displayName: options.userInfo.displayName,
                             parentId: options.parentNode.id};
          var frame = document.createElement("iframe");
          frame.title = "Jitsi Meet";
          options.parentNode.appendChild(frame);
        };
    """

    async def fulfil(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=stand_in)

    await agent.context.route("https://meet.jit.si/external_api.js", fulfil)
    await agent.goto(live.url(f"/appointments/{appointment_id}/join/agent"))
    container = agent.locator("[data-meeting]")
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    await expect(container.locator("iframe")).to_have_count(1)
    embedded = await agent.evaluate("window.embedded")
    href = await agent.locator("[data-join-link]").get_attribute("href")
    assert href == f"https://meet.jit.si/{embedded['roomName']}"
    assert embedded == {
        "domain": "meet.jit.si",
        "roomName": embedded["roomName"],
        "jwt": None,  # plain links in the default configuration
        "displayName": "Isabelle Delmas",
        "parentId": "meeting",
    }
    assert re.fullmatch(r"visio-[a-z0-9-]+", embedded["roomName"])
    await expect(agent.locator("[data-meeting-status]")).to_have_text("")
