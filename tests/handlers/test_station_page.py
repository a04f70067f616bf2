"""The visio station's screen: the next session in large text, a countdown until the
meeting opens, then the meeting itself in the screen (its room for the screen's script, and
no token: the station joins a self-hosted Jitsi as a guest; the meeting server allowed on
that response only); the next one, or an empty day, once it is over."""

from __future__ import annotations

import html as markup
import re
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Clock
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    JITSI_DOMAIN,
    JWT,
    PASSWORD,
    House,
    book,
    house,
    page,
    settings,
    signed_in,
)
from visio.db.models import Role

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests


def meeting_data(html: str) -> dict[str, str]:
    """The `data-*` attributes of the screen's meeting container, unescaped."""
    found = re.search(r"<div[^>]*\bdata-meeting\b[^>]*>", html)
    assert found is not None, "no meeting container"
    return {
        name: markup.unescape(value)
        for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', found.group(0))
    }


async def test_the_station_shows_its_next_visio_then_the_one_after(
    client: Any, house: House, clock: Clock
) -> None:
    ten = await book(client, house, station_id=house.site.stations[0].id)
    eleven = await book(
        client, house, start="2026-03-16T11:00:00+01:00", last_name="Rigal",
        station_id=house.site.stations[0].id,
    )  # fmt: skip
    await signed_in(client, house.desk)
    desk = await page(client, "/desk")
    path = f"/station/{house.site.stations[0].id}"
    assert f'href="{path}"' in desk

    html = await page(client, path)  # 09:00: the 10:00 one is next, opens at 09:45
    assert 'data-reload-in="2701"' in html and "visio-station.js" in html  # at 09:45
    assert "Prochaine visio" in html and "10:00 – 10:30" in html
    assert "La visio s'ouvre à 09:45." in html and "00:45:00" in html
    # The join button is there, not yet active.
    assert re.search(r"<button [^>]*disabled>Rejoindre la visio</button>", html)

    clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)  # 09:50: open
    html = await page(client, path)
    assert "Visio en cours" in html and "Rejoindre la visio" in html
    assert meeting_data(html)["room"] == ten["room"]
    assert 'data-reload-in="2401"' in html  # at 10:30, the end: back to waiting

    clock.now = datetime(2026, 3, 16, 9, 31, tzinfo=UTC)  # 10:31: over, the next one
    html = await page(client, path)
    assert "11:00 – 11:30" in html and "Monique Rigal" in html
    assert "data-meeting" not in html and ten["room"] not in html  # opens at 10:45
    clock.now = datetime(2026, 3, 16, 9, 50, tzinfo=UTC)  # 10:50
    assert meeting_data(await page(client, path))["room"] == eleven["room"]

    clock.now = datetime(2026, 3, 16, 10, 31, tzinfo=UTC)  # 11:31: nothing more today
    assert "Plus de visio aujourd'hui à ce poste." in await page(client, path)


async def test_a_station_elsewhere_is_not_found(
    client: Any, house: House, create_site: Any, create_user: Any
) -> None:
    elsewhere = await create_site("France Services Pélussin")
    other = await create_user(
        Role.DESK, email="autre@visio.example", site_ids=[elsewhere.id], password=PASSWORD
    )
    path = f"/station/{house.site.stations[0].id}"
    await signed_in(client, other)
    assert (await client.get(path, allow_redirects=False)).status == 404
    await signed_in(client, house.agent_user)
    assert (await client.get(path, allow_redirects=False)).status == 404
    await signed_in(client, house.desk)
    assert (await client.get("/station/999999", allow_redirects=False)).status == 404


async def test_the_open_screen_carries_the_meeting_and_allows_its_server_on_it_only(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house, station_id=house.site.stations[0].id)
    await signed_in(client, house.desk)
    path = f"/station/{house.site.stations[0].id}"

    clock.now = datetime(2026, 3, 16, 8, 44, tzinfo=UTC)  # 09:44: a minute too early
    early = await client.get(path)
    html = await early.text()
    assert early.status == 200 and "La visio s'ouvre à 09:45." in html
    assert not JWT.search(html) and booked["room"] not in html and "data-meeting" not in html
    policy = early.headers["Content-Security-Policy"]
    assert JITSI_DOMAIN not in policy and "frame-src" not in policy

    clock.now = datetime(2026, 3, 16, 8, 45, tzinfo=UTC)  # 09:45: open
    response = await client.get(path)
    html = await response.text()
    assert response.status == 200
    data = meeting_data(html)
    assert data["domain"] == JITSI_DOMAIN and data["room"] == booked["room"]
    assert data["display-name"] == "France Services Murat"  # a guest named after its house
    # A self-hosted Jitsi takes any token for the host's: the station holds none, so it
    # waits for the agent there and can never hold moderator rights.
    assert data["jwt"] == "" and not JWT.search(html)
    # Without the script, or without Jitsi's: the same way in, in a new tab.
    link = f'href="https://{JITSI_DOMAIN}/{booked["room"]}" target="_blank"'
    assert link in html and "Rejoindre la visio" in html and "(dans un nouvel onglet)" in html
    assert "Plein écran" in html and "Quitter la visio" in html
    # This response alone lets the meeting server run its script and be framed.
    policy = response.headers["Content-Security-Policy"]
    # Of the meeting server, its page script only (and its frame).
    assert "script-src 'self' 'nonce-" in policy
    assert f"' https://{JITSI_DOMAIN}/external_api.js;" in policy
    assert f"frame-src https://{JITSI_DOMAIN};" in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    # The room's name leaves with no Referer from this screen.
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"  # it holds a token
    for other in ("/desk", "/"):
        elsewhere = (await client.get(other)).headers["Content-Security-Policy"]
        assert JITSI_DOMAIN not in elsewhere and "frame-src" not in elsewhere


async def test_after_the_end_the_screen_waits_again_without_a_token(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house, station_id=house.site.stations[0].id)
    await signed_in(client, house.desk)
    path = f"/station/{house.site.stations[0].id}"
    clock.now = datetime(2026, 3, 16, 9, 29, 30, tzinfo=UTC)  # 10:29:30, half a minute left
    assert 'data-reload-in="31"' in await page(client, path)
    # 10:30: the session is over (its link stays valid until 11:00): the station's screen
    # waits for what comes next.
    clock.now = datetime(2026, 3, 16, 9, 30, tzinfo=UTC)
    response = await client.get(path)
    html = await response.text()
    assert "Plus de visio aujourd'hui à ce poste." in html
    assert not JWT.search(html) and booked["room"] not in html and "data-meeting" not in html
    assert 'data-reload-in="300"' in html
    assert JITSI_DOMAIN not in response.headers["Content-Security-Policy"]
