"""The outbox page: administrators read the emails as they are, or would be, sent."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Role


async def test_the_admin_reads_the_outbox(client: Any, world: World, create_user: Any) -> None:
    booked = await book(client, world)
    await create_user(Role.ADMIN, email="root@visio.example", password=PASSWORD)
    assert (await sign_in(client, "root@visio.example", PASSWORD)).status == 303
    home = await client.get("/")
    assert "/admin/outbox" in await home.text()
    listing = await client.get("/admin/outbox", params={"status": "pending"})
    assert listing.status == 200
    html = await listing.text()
    assert "Aucun serveur SMTP n'est configuré" in html
    assert "isabelle.delmas@caf.example" in html and "booked.agent" in html
    assert form_token(html)
    first = html.split('href="/admin/outbox/')[1].split('"')[0]
    message = await client.get(f"/admin/outbox/{first}")
    assert message.status == 200
    text = await message.text()
    assert "BEGIN:VCALENDAR" in text or "Rappel" in text
    assert booked["reference"] in text
    assert (await client.get("/admin/outbox/424242")).status == 404


async def test_the_outbox_is_for_admins_only(client: Any, world: World, create_user: Any) -> None:
    anonymous = await client.get("/admin/outbox", allow_redirects=False)
    assert anonymous.status == 303  # to the sign-in page
    await create_user(
        Role.DESK, email="desk2@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "desk2@visio.example", PASSWORD)).status == 303
    response = await client.get("/admin/outbox", allow_redirects=False)
    assert response.status == 403
