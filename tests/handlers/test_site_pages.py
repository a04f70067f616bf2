"""The houses' set-up pages: an administrator creates and corrects a house with its week of
opening hours, adds stations, closes it for a while (asked first when bookings fall in the
closure), sees the permanences serving it as a week grid; the appointments left to rebook
are listed for the desk; a coordinator reads all this without a form."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Role


async def admin_in(client: Any, create_user: Any) -> str:
    await create_user(Role.ADMIN, email="root@visio.example", password=PASSWORD)
    assert (await sign_in(client, "root@visio.example", PASSWORD)).status == 303
    return form_token(await (await client.get("/admin/")).text())


HOUSE = {
    "name": "France Services Allanche", "commune": "Allanche", "timezone": "Europe/Paris",
    "holiday_calendar": "", "address": "Place de la mairie", "email": "", "phone": "",
    "hours_1_1_start": "09:00", "hours_1_1_end": "12:00",
    "hours_1_2_start": "14:00", "hours_1_2_end": "17:00",
    "hours_4_1_start": "09:00", "hours_4_1_end": "12:30",
}  # fmt: skip


async def test_an_admin_creates_then_corrects_a_house(
    client: Any, world: World, create_user: Any
) -> None:
    token = await admin_in(client, create_user)
    home = await (await client.get("/admin/")).text()
    assert "/admin/sites" in home and "/admin/users" in home

    created = await client.post(
        "/admin/sites/new", data={**HOUSE, "csrf_token": token}, allow_redirects=False
    )
    assert created.status == 303, await created.text()
    location = created.headers["Location"]
    assert "done=created" in location
    page = await (await client.get(location)).text()
    assert "La maison est créée" in page
    assert 'value="France Services Allanche"' in page
    assert 'name="hours_1_2_start" value="14:00"' in page

    # The same name again, a day closing before it opens: beside their fields, kept.
    wrong = {**HOUSE, "hours_2_1_start": "12:00", "hours_2_1_end": "10:00"}
    refused = await client.post("/admin/sites/new", data={**wrong, "csrf_token": token})
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-hours_2"' in html
    assert 'value="12:00"' in html and 'value="Place de la mairie"' in html
    taken = await client.post("/admin/sites/new", data={**HOUSE, "csrf_token": token})
    assert taken.status == 422
    assert 'id="error-name"' in await taken.text()
    zone = await client.post(
        "/admin/sites/new", data={**HOUSE, "name": "Autre", "timezone": "Mars/Olympus",
                                  "csrf_token": token},
    )  # fmt: skip
    assert zone.status == 422
    assert 'id="error-timezone"' in await zone.text()

    site_path = location.split("?")[0]
    fixed = await client.post(
        site_path, data={**HOUSE, "commune": "Allanche (15)", "csrf_token": token},
        allow_redirects=False,
    )  # fmt: skip
    assert fixed.status == 303
    assert 'value="Allanche (15)"' in await (await client.get(site_path)).text()
    station = await client.post(
        f"{site_path}/stations", data={"station_name": "Poste 1", "csrf_token": token},
        allow_redirects=False,
    )  # fmt: skip
    assert station.status == 303
    assert "Poste 1" in await (await client.get(site_path)).text()
    listing = await (await client.get("/admin/sites", params={"q": "allanche"})).text()
    assert "France Services Allanche" in listing and "Murat" not in listing
    assert (await client.post("/admin/sites/new", data=HOUSE)).status == 400  # no token


async def test_a_closure_over_a_booking_asks_first_then_lists_it_to_rebook(
    client: Any, world: World, create_user: Any
) -> None:
    booked = await book(client, world)  # Monday 16 March, 10:00 at Murat
    token = await admin_in(client, create_user)
    site_path = f"/admin/sites/{world.site.id}"
    page = await (await client.get(site_path)).text()
    assert "Isabelle Delmas" in page  # her permanence in the week grid
    closure = {"station_id": "", "start_date": "2026-03-16", "start_time": "",
               "end_date": "2026-03-16", "end_time": "", "reason": "Travaux"}  # fmt: skip

    asked = await client.post(f"{site_path}/closures", data={**closure, "csrf_token": token})
    assert asked.status == 409
    html = await asked.text()
    assert booked["reference"] in html
    assert 'name="confirm" value="1"' in html
    assert "Aucune fermeture à venir" in html  # nothing saved yet

    confirmed = await client.post(
        f"{site_path}/closures", data={**closure, "confirm": "1", "csrf_token": token},
        allow_redirects=False,
    )  # fmt: skip
    assert confirmed.status == 303
    assert "Travaux" in await (await client.get(site_path)).text()
    waiting = await (await client.get("/admin/to-rebook")).text()
    assert booked["reference"] in waiting and "la maison est fermée" in waiting
    appointment = await (await client.get(f"/appointments/{booked['id']}")).text()
    assert "À reprogrammer : la maison est fermée." in appointment
    assert "1 rendez-vous pris est à reprogrammer" in await (await client.get("/admin/")).text()

    bad = await client.post(
        f"{site_path}/closures",
        data={**closure, "start_date": "16/03/2026", "csrf_token": token},
    )  # fmt: skip
    assert bad.status == 422
    assert 'id="error-closure-start_date"' in await bad.text()


async def test_a_coordinator_reads_without_a_form(
    client: Any, world: World, create_user: Any
) -> None:
    await create_user(
        Role.COORDINATOR, email="coord@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "coord@visio.example", PASSWORD)).status == 303
    listing = await client.get("/admin/sites")
    assert listing.status == 200
    assert "France Services Murat" in await listing.text()
    page = await client.get(f"/admin/sites/{world.site.id}")
    assert page.status == 200
    html = await page.text()
    assert "Isabelle Delmas" in html and "Enregistrer la maison" not in html
    token = form_token(html)
    refused = await client.post(
        f"/admin/sites/{world.site.id}/stations",
        data={"station_name": "Poste 9", "csrf_token": token},
    )  # fmt: skip
    assert refused.status == 403
    assert (await client.get("/admin/sites/new")).status == 403


async def test_the_desk_sees_its_appointments_to_rebook_only(
    client: Any, world: World, create_user: Any
) -> None:
    await create_user(
        Role.DESK, email="desk2@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "desk2@visio.example", PASSWORD)).status == 303
    page = await client.get("/admin/to-rebook")
    assert page.status == 200
    assert "Rien à reprogrammer" in await page.text()
    anonymous_client_page = await client.get("/admin/sites/424242")
    assert anonymous_client_page.status == 404
