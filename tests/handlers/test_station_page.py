"""The visio station's screen: the next session in large text, a countdown until the
meeting opens, then the way in; the next one, or an empty day, once it is over."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Clock
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
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
    assert "La visio s'ouvre à 09:45." in html
    assert "00:45:00" in html and f'href="/appointments/{ten["id"]}/join/station"' in html

    clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)  # 09:50: open
    html = await page(client, path)
    assert "Visio en cours" in html and "Ouvrir la visio" in html

    clock.now = datetime(2026, 3, 16, 9, 31, tzinfo=UTC)  # 10:31: over, the next one
    html = await page(client, path)
    assert "11:00 – 11:30" in html and f"/appointments/{eleven['id']}/join/station" in html
    assert "Monique Rigal" in html

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
