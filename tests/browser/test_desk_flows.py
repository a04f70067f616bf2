"""The desk's day in a real browser, what the people see and what the database holds: an
appointment moved to another time, one cancelled with a reason printed for the citizen,
the citizen's arrival marked (seen on the agent's agenda) then taken back; and the visio
station's screen, on a tablet used by touch, counting down, bringing the meeting into the
screen, full screen, then waiting again when the session ends or the meeting is left."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from tests.browser.conftest import BROWSER_LOOP, PASSWORD, Live, screenshot
from visio.db.models import Appointment, OutboxMessage, Station
from visio.domain import AppointmentStatus

pytestmark = BROWSER_LOOP

# The appointment of these scenarios: Monday 16 March 2026, 10:00-10:30 in Murat (UTC+1).
TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
# Polling every 5 s, plus the request and the DOM update.
POLL_WAIT_MS = 8000
# Jitsi's IFrame API, stood in for by the browser's router (the browser cannot reach the
# Internet): it records what the screen hands it, puts a frame in the container, and plays
# Jitsi's events: hanging up says the conference is left, then that the frame may close.
FAKE_JITSI = """
    window.jitsiCommands = [];
    window.JitsiMeetExternalAPI = function (domain, options) {
      var listeners = {};
      function fire(name) {
        (listeners[name] || []).forEach(function (listener) { listener({}); });
      }
      window.embedded = {domain: domain, roomName: options.roomName, jwt: options.jwt || null,
                         displayName: options.userInfo.displayName, lang: options.lang,
                         parentId: options.parentNode.id};
      window.jitsiSays = fire;
      var frame = document.createElement("iframe");
      frame.title = "Jitsi Meet";
      options.parentNode.appendChild(frame);
      this.addListener = function (name, listener) {
        (listeners[name] = listeners[name] || []).push(listener);
      };
      this.executeCommand = function (name) {
        window.jitsiCommands.push(name);
        if (name === "hangup") {
          fire("videoConferenceLeft");
          fire("readyToClose");
        }
      };
    };
"""


async def appointment(live: Live, appointment_id: int) -> Appointment:
    async with live.sessions() as session:
        found = await session.get(Appointment, appointment_id)
        assert found is not None
        return found


async def outbox_kinds(live: Live, appointment_id: int) -> set[str]:
    async with live.sessions() as session:
        kinds = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.appointment_id == appointment_id)
        )
        return set(kinds)


# ---------------------------------------------------------------- the desk's changes


async def test_the_desk_moves_an_appointment_and_both_pages_link_each_other(
    chromium: Any, expect: Any, live: Live
) -> None:
    old_id = await live.book(TEN)
    desk = await live.sign_in(chromium, live.desk_email)  # 09:00 in Murat
    await desk.goto(live.url("/desk"))
    await desk.locator(f"#appointment-{old_id} th a").click()  # its time
    await expect(
        desk.get_by_role("heading", name=re.compile("Rendez-vous en visio"))
    ).to_be_visible()
    await screenshot(desk, "desk-flows-appointment")

    await desk.get_by_role("link", name="Choisir un nouvel horaire").click()
    await expect(desk.get_by_role("heading", name="Déplacer le rendez-vous")).to_be_visible()
    eleven = desk.locator('input[name=slot][value^="2026-03-16T11:00:00+01:00|"]')
    await desk.locator("label.slot", has=eleven).click()
    await screenshot(desk, "desk-flows-move-times")
    await desk.get_by_role("button", name="Déplacer le rendez-vous à cet horaire").click()

    # The new appointment's page, saying so, and the way back to the old one.
    await desk.wait_for_url(re.compile(r"/appointments/\d+\?done=moved$"))
    await expect(desk.get_by_role("status")).to_have_text(
        "Le rendez-vous est déplacé ; son agent et l'usager sont prévenus."
    )
    await expect(desk.locator("dl")).to_contain_text("11:00 – 11:30")
    new_url = desk.url.split("?")[0]
    new_id = int(new_url.rsplit("/", 1)[1])
    assert new_id != old_id
    await screenshot(desk, "desk-flows-moved")
    await desk.get_by_role("link", name="Déplacé depuis un autre horaire").click()
    await desk.wait_for_url(live.url(f"/appointments/{old_id}"))
    await expect(desk.locator("dl")).to_contain_text("10:00 – 10:30")
    await expect(desk.locator("dl")).to_contain_text("annulé")
    await expect(desk.get_by_role("button", name="Annuler le rendez-vous")).to_have_count(0)
    await screenshot(desk, "desk-flows-moved-from")
    await desk.get_by_role("link", name="Déplacé : voir son nouvel horaire").click()
    await desk.wait_for_url(new_url)

    old, new = await appointment(live, old_id), await appointment(live, new_id)
    assert old.status is AppointmentStatus.CANCELLED and old.cancel_reason == "rescheduled"
    assert new.status is AppointmentStatus.BOOKED and new.rescheduled_from_id == old_id
    assert new.start_at.replace(tzinfo=UTC) == TEN + timedelta(hours=1)
    assert (new.agent_id, new.station_id, new.citizen_id) == (
        old.agent_id, old.station_id, old.citizen_id,
    )  # fmt: skip
    assert "rescheduled.agent" in await outbox_kinds(live, new_id)


async def test_the_desk_cancels_with_a_reason_the_printed_cancellation_gives(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    reason = "L'usager a trouvé la réponse à l'accueil"
    desk = await live.sign_in(chromium, live.desk_email)
    await desk.goto(live.url(f"/appointments/{appointment_id}"))
    await desk.get_by_label("Motif (communiqué à l'agent et à l'usager)").fill(reason)
    await screenshot(desk, "desk-flows-cancel")
    await desk.get_by_role("button", name="Annuler le rendez-vous").click()

    await desk.wait_for_url(live.url(f"/appointments/{appointment_id}?done=cancelled"))
    await expect(desk.get_by_role("status")).to_have_text(
        "Le rendez-vous est annulé ; son agent et l'usager sont prévenus."
    )
    await expect(desk.locator("dl")).to_contain_text(f"annulé ({reason})")
    await expect(desk.get_by_role("button", name="Annuler le rendez-vous")).to_have_count(0)
    await expect(desk.get_by_role("link", name="Choisir un nouvel horaire")).to_have_count(0)
    await screenshot(desk, "desk-flows-cancelled")

    await desk.get_by_role("link", name="Imprimer l'annulation pour l'usager").click()
    await desk.wait_for_url(live.url(f"/appointments/{appointment_id}/confirmation"))
    await expect(desk.get_by_role("alert")).to_have_text(
        f"Ce rendez-vous est annulé. Motif : {reason}"
    )
    await expect(desk.get_by_text("Monique Chassang")).to_be_visible()
    await screenshot(desk, "desk-flows-cancellation-printed")

    cancelled = await appointment(live, appointment_id)
    assert cancelled.status is AppointmentStatus.CANCELLED and cancelled.cancel_reason == reason
    # The agent is told; the citizen gave no address, the paper is theirs.
    assert await outbox_kinds(live, appointment_id) >= {"cancelled.agent"}
    assert "cancelled.citizen" not in await outbox_kinds(live, appointment_id)


async def test_the_desk_marks_the_arrival_the_agent_sees_it_then_it_is_taken_back(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 8, 25, tzinfo=UTC))  # 09:25: too early to mark
    desk = await live.sign_in(chromium, live.desk_email)
    await desk.goto(live.url(f"/appointments/{appointment_id}"))
    await expect(desk.get_by_role("heading", name="Arrivée")).to_have_count(0)

    live.clock.set(datetime(2026, 3, 16, 8, 35, tzinfo=UTC))  # 09:35: from 09:30 on
    agent = await live.sign_in(chromium, live.agent_email)
    await agent.goto(live.url("/agenda"))
    arrival = agent.locator(f'[data-appointment-id="{appointment_id}"] [data-field="arrival"]')
    await expect(arrival).to_be_hidden()
    await desk.goto(live.url("/desk"))
    row = desk.locator(f"#appointment-{appointment_id}")
    await row.get_by_role("button", name="L'usager est arrivé").click()
    await desk.wait_for_url(re.compile(r"/desk#appointment-\d+$"))
    await expect(row).to_contain_text("Usager arrivé à 09:35")
    await screenshot(desk, "desk-flows-arrived")
    # The agent's agenda learns it by itself.
    await expect(arrival).to_have_text("Usager arrivé à 09:35", timeout=POLL_WAIT_MS)
    await screenshot(agent, "desk-flows-agenda-arrived")
    marked = (await appointment(live, appointment_id)).arrived_at
    assert marked is not None and marked.replace(tzinfo=UTC) - datetime(
        2026, 3, 16, 8, 35, tzinfo=UTC
    ) < timedelta(minutes=1)

    # A wrong row: taken back from the appointment's page within five minutes.
    live.clock.set(datetime(2026, 3, 16, 8, 38, tzinfo=UTC))
    await row.locator("th a").click()  # its time
    await desk.get_by_role("button", name="Annuler l'arrivée").click()
    await desk.wait_for_url(live.url(f"/appointments/{appointment_id}?done=arrival_undone"))
    await expect(desk.get_by_role("status")).to_have_text("L'arrivée est annulée.")
    await expect(desk.get_by_role("button", name="L'usager est arrivé")).to_be_visible()
    await screenshot(desk, "desk-flows-arrival-taken-back")
    assert (await appointment(live, appointment_id)).arrived_at is None
    await expect(arrival).to_be_hidden(timeout=POLL_WAIT_MS)

    # Marked again from this page; six minutes later it is no longer taken back.
    await desk.get_by_role("button", name="L'usager est arrivé").click()
    await expect(desk.get_by_role("status")).to_have_text("L'arrivée de l'usager est signalée.")
    await expect(desk.get_by_role("button", name="Annuler l'arrivée")).to_be_visible()
    live.clock.set(datetime(2026, 3, 16, 8, 45, tzinfo=UTC))
    await desk.reload()
    await expect(desk.get_by_role("heading", name="Arrivée")).to_have_count(0)
    assert (await appointment(live, appointment_id)).arrived_at is not None


# ---------------------------------------------------------------- the station's screen


async def station_tablet(chromium: Any, live: Live) -> Any:
    """The station's tablet: 768 px wide, used by touch, signed in as its house's desk."""
    context = await chromium.new_context(
        locale="fr-FR", viewport={"width": 768, "height": 1024}, has_touch=True
    )
    page = await context.new_page()
    await page.goto(live.url("/login"))
    await page.fill("#email", live.desk_email)
    await page.fill("#password", PASSWORD)
    await page.tap("form button[type=submit].primary")
    await page.wait_for_url(live.url("/"))
    return page


async def with_fake_jitsi(page: Any) -> None:
    async def fulfil(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=FAKE_JITSI)

    await page.context.route("https://meet.jit.si/external_api.js", fulfil)


async def station_path(live: Live) -> str:
    async with live.sessions() as session:
        return f"/station/{await session.scalar(select(Station.id))}"


async def test_the_station_screen_opens_the_meeting_full_screen_when_it_is_time(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    room = (await appointment(live, appointment_id)).room
    tablet = await station_tablet(chromium, live)
    await with_fake_jitsi(tablet)
    await tablet.goto(live.url("/desk"))
    live.clock.set(datetime(2026, 3, 16, 8, 44, 52, tzinfo=UTC))  # the visio opens at 09:45
    await tablet.get_by_role("link", name="Cabine 1").tap()
    await tablet.wait_for_url(live.url(await station_path(live)))
    await expect(tablet.get_by_text("Prochaine visio")).to_be_visible()
    await expect(tablet.get_by_role("timer")).to_have_text(re.compile(r"^00:00:0[0-8]$"))
    await expect(tablet.get_by_role("button", name="Rejoindre la visio")).to_be_disabled()
    await screenshot(tablet, "station-waiting")

    # The screen reloads itself when the visio opens: the join button is active.
    join = tablet.get_by_role("link", name="Rejoindre la visio")
    await expect(join).to_be_visible(timeout=15_000)
    await expect(tablet.get_by_text("Visio en cours")).to_be_visible()
    container = tablet.locator("[data-meeting]")
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    await expect(join).to_have_accessible_name("Rejoindre la visio")  # here, not in a new tab
    box = await join.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    await screenshot(tablet, "station-open")

    await join.tap()
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    await expect(container.locator("iframe")).to_have_count(1)
    assert len(tablet.context.pages) == 1  # no other tab
    assert await tablet.evaluate("window.embedded") == {
        "domain": "meet.jit.si",
        "roomName": room,
        "jwt": None,  # plain links in the default configuration
        "displayName": "France Services Murat",
        "lang": "fr",
        "parentId": "meeting",
    }
    # The meeting fills the screen; the rest of the page is out of the way.
    meeting = tablet.locator("[data-station-meeting]")
    await expect(meeting).to_be_visible()
    assert await meeting.bounding_box() == {"x": 0, "y": 0, "width": 768, "height": 1024}
    await expect(tablet.locator(".site-header")).to_be_hidden()
    await expect(tablet.get_by_text("Prochaine visio")).to_be_hidden()
    await expect(tablet.get_by_role("heading", name="Visio avec Caisse")).to_be_focused()
    # Full screen came with the touch on the join button; a large button leaves it.
    assert await tablet.evaluate("document.fullscreenElement.hasAttribute('data-station-meeting')")
    leave_full_screen = tablet.get_by_role("button", name="Quitter le plein écran")
    box = await leave_full_screen.bounding_box()
    assert box is not None and box["height"] >= 44
    await screenshot(tablet, "station-in-the-visio")
    await leave_full_screen.tap()
    await expect(tablet.get_by_role("button", name="Plein écran")).to_be_visible()
    assert await tablet.evaluate("document.fullscreenElement") is None
    await tablet.get_by_role("button", name="Plein écran").tap()
    await expect(leave_full_screen).to_be_visible()
    # The station joins as a guest: nothing is written, the agent is not marked there.
    joined = await appointment(live, appointment_id)
    assert joined.status is AppointmentStatus.BOOKED and joined.agent_joined_at is None


async def test_the_station_screen_waits_again_when_the_session_ends(
    chromium: Any, expect: Any, live: Live
) -> None:
    """Nobody joined from the station: at the end the waiting screen comes back."""
    await live.book(TEN)
    tablet = await station_tablet(chromium, live)
    await with_fake_jitsi(tablet)
    path = await station_path(live)
    live.clock.set(datetime(2026, 3, 16, 9, 29, 52, tzinfo=UTC))  # 10:29:52, the end near
    await tablet.goto(live.url(path))
    container = tablet.locator("[data-meeting]")
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    await screenshot(tablet, "station-end-near")

    # At 10:30 the server's timer brings the waiting screen back: nothing more today.
    await expect(tablet.get_by_text("Plus de visio aujourd'hui à ce poste.")).to_be_visible(
        timeout=15_000
    )
    await expect(tablet.locator("[data-meeting]")).to_have_count(0)
    await expect(tablet.locator(".site-header")).to_be_visible()
    await screenshot(tablet, "station-after-the-end")


async def test_a_meeting_running_late_is_not_cut_at_the_end(
    chromium: Any, expect: Any, live: Live
) -> None:
    """The station is in the meeting when its time is up: the meeting goes on; the waiting
    screen comes back only when the meeting's link closes (30 minutes after the end). The
    tablet's timers run on Playwright's clock, moved on by hand."""
    await live.book(TEN)
    tablet = await station_tablet(chromium, live)
    await with_fake_jitsi(tablet)
    path = await station_path(live)
    await tablet.clock.install()
    live.clock.set(datetime(2026, 3, 16, 9, 29, 30, tzinfo=UTC))  # 10:29:30, the end near
    await tablet.goto(live.url(path))
    container = tablet.locator("[data-meeting]")
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    await tablet.get_by_role("link", name="Rejoindre la visio").tap()
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    await tablet.evaluate("window.stillTheSameMeeting = true")

    # Past the session's end (10:30): the meeting is still there, the page not reloaded.
    await tablet.clock.fast_forward("01:00")
    assert await tablet.evaluate("window.stillTheSameMeeting") is True
    await expect(container).to_have_attribute("data-meeting-state", "embedded")

    # At 11:00 the link closes: the waiting screen comes back.
    live.clock.set(datetime(2026, 3, 16, 10, 0, 5, tzinfo=UTC))
    await tablet.clock.fast_forward("30:00")
    await expect(tablet.get_by_text("Plus de visio aujourd'hui à ce poste.")).to_be_visible(
        timeout=15_000
    )


async def test_leaving_the_meeting_brings_the_waiting_screen_back(
    chromium: Any, expect: Any, live: Live
) -> None:
    await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 9, 5, tzinfo=UTC))  # 10:05, under way
    tablet = await station_tablet(chromium, live)
    await with_fake_jitsi(tablet)
    await tablet.goto(live.url(await station_path(live)))
    join = tablet.get_by_role("link", name="Rejoindre la visio")
    container = tablet.locator("[data-meeting]")

    # The station's own way out: Jitsi hangs up, then the screen waits again.
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    await join.tap()
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    await tablet.evaluate("window.beforeReload = true")
    await tablet.get_by_role("button", name="Quitter la visio").tap()
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    assert await tablet.evaluate("window.beforeReload") is None  # a new page
    await expect(tablet.locator("[data-station-meeting]")).to_be_hidden()
    await expect(join).to_be_visible()  # the meeting is not rejoined by itself
    await screenshot(tablet, "station-left")

    # The agent ends the meeting for everyone: Jitsi says the frame may close.
    await join.tap()
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    await tablet.evaluate("window.beforeReload = true")
    await tablet.evaluate("window.jitsiSays('readyToClose')")
    await expect(container).to_have_attribute("data-meeting-state", "ready")
    assert await tablet.evaluate("window.beforeReload") is None
    await expect(tablet.locator("[data-station-meeting]")).to_be_hidden()


async def test_without_jitsi_the_station_keeps_the_link_in_a_new_tab(
    chromium: Any, expect: Any, live: Live
) -> None:
    await live.book(TEN)
    live.clock.set(datetime(2026, 3, 16, 8, 55, tzinfo=UTC))  # 09:55, open
    tablet = await station_tablet(chromium, live)  # meet.jit.si cannot be reached
    await tablet.goto(live.url(await station_path(live)))
    status = tablet.locator("[data-meeting-status]")
    await expect(status).to_contain_text("La visio ne peut pas s'afficher sur cet écran")
    join = tablet.get_by_role("link", name="Rejoindre la visio (dans un nouvel onglet)")
    await expect(join).to_be_visible()
    href = await join.get_attribute("href")
    assert href is not None and re.fullmatch(r"https://meet\.jit\.si/visio-[a-z0-9-]+", href)
    assert await join.get_attribute("target") == "_blank"
    await expect(tablet.locator("[data-station-meeting]")).to_be_hidden()
    await screenshot(tablet, "station-without-jitsi")
