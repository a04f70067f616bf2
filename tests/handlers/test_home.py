"""Home pages by role: the actions each role does, no way to raw JSON, the person's houses."""

from __future__ import annotations

from typing import Any

from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    PASSWORD,
    House,
    house,
    page,
    settings,
    signed_in,
)
from visio.db.models import Role

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests

JSON_LINKS = ('href="/api/', 'href="/readyz"', 'href="/healthz"')


async def test_each_role_finds_its_own_actions_and_no_json(
    client: Any, house: House, create_site: Any, create_user: Any
) -> None:
    massiac = await create_site("France Services Massiac")
    coordinator = await create_user(
        Role.COORDINATOR, email="coordination@visio.example", name="Coordination",
        site_ids=[house.site.id, massiac.id], password=PASSWORD,
    )  # fmt: skip
    admin = await create_user(Role.ADMIN, email="root@visio.example", password=PASSWORD)

    await signed_in(client, house.desk)
    desk = await page(client, "/")
    assert 'href="/desk"' in desk and 'href="/desk/week"' in desk
    assert 'href="/agenda"' not in desk and 'href="/admin/outbox"' not in desk
    assert "Votre maison : France Services Murat." in desk
    assert '<span class="houses">· France Services Murat</span>' in desk  # in the header

    await signed_in(client, house.agent_user)
    agent = await page(client, "/")
    assert 'href="/agenda"' in agent and 'href="/desk"' not in agent
    assert 'class="houses"' not in agent

    await signed_in(client, coordinator)
    mine = await page(client, "/")
    assert "Vos maisons : France Services Massiac, France Services Murat." in mine
    assert "<li>France Services Massiac</li>" in mine and 'href="/desk"' not in mine

    await signed_in(client, admin)
    root = await page(client, "/")
    assert 'href="/admin/outbox"' in root and 'href="/desk"' in root

    for html in (desk, agent, mine, root):
        assert not any(link in html for link in JSON_LINKS)


async def test_the_home_page_speaks_english(client: Any, house: House) -> None:
    await signed_in(client, house.desk)
    client.session.cookie_jar.update_cookies({"visio_lang": "en"})
    html = await page(client, "/")
    assert "At the desk" in html and "Your house: France Services Murat." in html
