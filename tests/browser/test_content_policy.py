"""The content policy breaks nothing and refuses what it should, in Chromium.

Chromium reports each refusal of the policy as a console error ("Refused to … because it
violates the following Content Security Policy directive …"): every page is visited with
them collected, as are the scripts' own errors, and none may appear. The meeting pages
load Jitsi's page script and its frame from the meeting server (stood in for by the
browser's router, as the Internet is out of reach); a script or a frame the policy does
not allow is refused, and seen refused, which shows the watch would see a refusal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import BROWSER_LOOP, Live, screenshot
from tests.browser.test_accessibility import COORDINATOR_EMAIL, _pages

pytestmark = BROWSER_LOOP

TEN = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
TEN_TO_TEN = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)
JITSI = "https://meet.jit.si"
# Jitsi's page script as the pages use it: it frames the meeting from its server.
STAND_IN = """
    window.JitsiMeetExternalAPI = function (domain, options) {
      var frame = document.createElement("iframe");
      frame.title = "Jitsi Meet";
      frame.src = "https://" + domain + "/" + options.roomName;
      options.parentNode.appendChild(frame);
      this.addListener = function () {};
      this.executeCommand = function () {};
    };
"""


# Elements a page is made to add, each of which the policy may refuse.
FRAME = (
    'var frame = document.createElement("iframe"); frame.src = "%s"; document.body.append(frame);'
)
SCRIPT = (
    'var script = document.createElement("script"); script.src = "%s";'
    " script.onload = function () { window.ran = true; }; document.head.append(script);"
)
INLINE = (
    'var inline = document.createElement("script"); inline.textContent = "window.ran = true;";'
    " document.body.append(inline);"
)


async def refused(page: Any, injected: str) -> list[str]:
    """What the policy refuses (directive and address) when the page runs `injected`,
    once Chromium has also said so in the console."""
    await page.evaluate(
        """() => {
          window.refused = [];
          if (!window.watching) {
            window.watching = true;
            document.addEventListener("securitypolicyviolation", (event) => {
              window.refused.push(event.effectiveDirective + " " + event.blockedURI);
            });
          }
        }"""
    )
    async with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        await page.evaluate(f"() => {{ {injected} }}")
    await page.wait_for_function("window.refused.length > 0")
    return list(await page.evaluate("window.refused"))


class Watch:
    """The policy's refusals and the scripts' errors seen on a browser page."""

    def __init__(self, page: Any) -> None:
        self.refusals: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.refusals.append(message.text)


async def serve_jitsi(page: Any) -> None:
    """The meeting server, on the browser's router: its page script, and a page to frame."""

    async def fulfil(route: Any) -> None:
        if route.request.url == f"{JITSI}/external_api.js":
            await route.fulfill(status=200, content_type="text/javascript", body=STAND_IN)
        else:
            await route.fulfill(status=200, content_type="text/html", body="<p>Jitsi Meet</p>")

    await page.context.route(f"{JITSI}/**", fulfil)


async def test_no_page_has_anything_refused(chromium: Any, live: Live) -> None:
    visits = await _pages(live)
    pages: dict[str | None, Any] = {}
    watches: dict[str | None, Watch] = {}
    embedded: dict[str, str | None] = {}
    for visit in visits:
        if visit.who not in pages:
            pages[visit.who] = page = await live.sign_in(chromium, visit.who)
            watches[visit.who] = Watch(page)
            await serve_jitsi(page)
        page = pages[visit.who]
        await page.goto(live.url(visit.path))
        await page.wait_for_load_state("load")
        if "/join/" in visit.path:  # the meeting framed from its server, or not
            settled = "[data-meeting-state=embedded], [data-meeting-state=failed]"
            state = await page.wait_for_selector(settled, state="attached")
            embedded[visit.path] = await state.get_attribute("data-meeting-state")
    refusals = [text for watch in watches.values() for text in watch.refusals]
    errors = [text for watch in watches.values() for text in watch.errors]
    assert not refusals and not errors
    assert embedded and set(embedded.values()) == {"embedded"}
    # Every page was seen: the report's print button is there, its script having run.
    report = pages[COORDINATOR_EMAIL]
    await report.goto(live.url("/stats/report?year=2026"))
    assert await report.get_by_role("button", name="Imprimer").is_visible()


async def test_the_meeting_pages_frame_the_meeting_and_nothing_else(
    chromium: Any, expect: Any, live: Live
) -> None:
    appointment_id = await live.book(TEN)
    live.clock.set(TEN_TO_TEN)
    agent = await live.sign_in(chromium, live.agent_email)
    watch = Watch(agent)
    await serve_jitsi(agent)
    await agent.goto(live.url(f"/appointments/{appointment_id}/join/agent"))
    container = agent.locator("[data-meeting]")
    await expect(container).to_have_attribute("data-meeting-state", "embedded")
    frame = await agent.locator("[data-meeting] iframe").element_handle()
    content = await frame.content_frame()
    await expect(content.get_by_text("Jitsi Meet")).to_be_visible()
    assert content.url.startswith(f"{JITSI}/visio-")
    assert not watch.refusals and not watch.errors
    await screenshot(agent, "content-policy-join")

    # Another server's frame or script, or an inline script without the nonce: refused.
    for directive, blocked, injected in (
        # (a frame's refusal names its origin only)
        ("frame-src", "https://elsewhere.example", FRAME % "https://elsewhere.example/"),
        ("script-src-elem", f"{JITSI}/another.js", SCRIPT % f"{JITSI}/another.js"),
        ("script-src-elem", "inline", INLINE),
    ):
        assert await refused(agent, injected) == [f"{directive} {blocked}"]
    assert await agent.evaluate("window.ran") is None
    assert len(watch.refusals) == 3  # each seen by the watch as well
    assert not watch.errors


async def test_a_page_without_the_meeting_refuses_its_server(chromium: Any, live: Live) -> None:
    desk = await live.sign_in(chromium, live.desk_email)
    watch = Watch(desk)
    await serve_jitsi(desk)
    await desk.goto(live.url("/desk"))
    assert await refused(desk, FRAME % f"{JITSI}/a-room") == [f"frame-src {JITSI}"]
    script = SCRIPT % f"{JITSI}/external_api.js"
    assert await refused(desk, script) == [f"script-src-elem {JITSI}/external_api.js"]
    assert await desk.evaluate("window.ran") is None
    assert await desk.evaluate("typeof window.JitsiMeetExternalAPI") == "undefined"
    assert len(watch.refusals) == 2
