"""Maintaining houses through the API once they are set up: finding them, correcting them
field by field, closing them (or a station) for good, removing what was created by mistake,
and their closures. Every refusal names the field or what is in the way, and writes
nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import MONDAY_10, World, book
from tests.handlers.test_setup_api import MURAT, admin_headers
from visio.db.models import AuditEntry, Role, Site, Station


async def test_sites_are_searched_filtered_and_paged(
    client: Any, world: World, create_site: Any, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    for name in ("France Services Allanche", "France Services Riom-ès-Montagnes",
                 "France Services Condat", "Maison 100%_Cantal"):  # fmt: skip
        await create_site(name)

    async def names(**query: str) -> list[str]:
        response = await client.get("/api/v1/sites", params=query, headers=headers)
        assert response.status == 200, await response.text()
        return [site["name"] for site in await response.json()]

    assert len(await names()) == 5  # without paging: every house, as API.md lists them
    assert await names(q="MURAT") == ["France Services Murat"]  # letters' case aside
    assert await names(q="commune 3") == ["France Services Riom-ès-Montagnes"]  # the commune
    assert await names(q="100%_") == ["Maison 100%_Cantal"]  # wildcards taken literally
    assert await names(q="%") == ["Maison 100%_Cantal"]
    page = await client.get("/api/v1/sites", params={"limit": "2", "page": "2"}, headers=headers)
    assert [site["name"] for site in await page.json()] == [
        "France Services Murat", "France Services Riom-ès-Montagnes",
    ]  # fmt: skip
    assert page.headers["X-Total-Count"] == "5"
    assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]
    assert "page=3" in page.headers["Link"]
    bad = await client.get("/api/v1/sites", params={"limit": "0", "state": "closed"},
                           headers=headers)  # fmt: skip
    assert bad.status == 422
    assert set((await bad.json())["error"]["fields"]) == {"limit", "state"}
    # a house closed for good leaves the default list, not the others
    closed = await client.patch(
        f"/api/v1/sites/{world.site.id}", json={"active": False}, headers=headers
    )
    assert closed.status == 200 and (await closed.json())["active"] is False
    assert "France Services Murat" not in await names()
    assert await names(state="inactive") == ["France Services Murat"]
    assert len(await names(state="all")) == 5


async def test_a_site_is_corrected_field_by_field(
    client: Any, create_user: Any, bearer: Any, session: AsyncSession
) -> None:
    headers = await admin_headers(create_user, bearer)
    created = await (await client.post("/api/v1/sites", json=MURAT, headers=headers)).json()
    other = {**MURAT, "name": "France Services Massiac", "commune": "Massiac"}
    assert (await client.post("/api/v1/sites", json=other, headers=headers)).status == 201
    path = f"/api/v1/sites/{created['id']}"

    changed = await client.patch(
        path, headers=headers,
        json={"commune": "Murat (Cantal)", "email": "murat@franceservices.example",
              "opening_hours": [{"weekday": 2, "start": "08:30", "end": "12:30"}]},
    )  # fmt: skip
    assert changed.status == 200, await changed.text()
    body = await changed.json()
    assert body["commune"] == "Murat (Cantal)" and body["name"] == MURAT["name"]
    assert body["opening_hours"] == [{"weekday": 2, "start": "08:30", "end": "12:30"}]
    # back to no email (null is a value here), the rest kept
    cleared = await (await client.patch(path, json={"email": None}, headers=headers)).json()
    assert cleared["commune"] == "Murat (Cantal)"

    # refusals, by field, nothing written
    for patch, status, field in (
        ({"name": "France Services Massiac"}, 422, "name"),
        ({"timezone": "Europe/Murat"}, 422, "timezone"),
        ({"holiday_calendar": "99"}, 422, "holiday_calendar"),
        ({"name": None}, 422, "name"),
        ({"active": None}, 422, "active"),
        ({"colour": "blue"}, 422, "colour"),
        ({"opening_hours": [{"weekday": 1, "start": "09:00", "end": "12:00"},
                            {"weekday": 1, "start": "11:00", "end": "14:00"}]},
         422, "opening_hours.1"),
        ({"opening_hours": [{"weekday": 1, "start": "12:00", "end": "09:00"}]},
         422, "opening_hours.0.end"),
    ):  # fmt: skip
        refused = await client.patch(path, json={**patch, "commune": "Ailleurs"}, headers=headers)
        assert refused.status == status, (patch, await refused.text())
        assert field in (await refused.json())["error"]["fields"], patch
    still = await (await client.get(path, headers=headers)).json()
    assert still["commune"] == "Murat (Cantal)"
    assert still["opening_hours"] == [{"weekday": 2, "start": "08:30", "end": "12:30"}]
    audited = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == created["id"])
    )
    assert list(audited).count("site.change") == 2
    unknown = await client.patch("/api/v1/sites/999999", json={"commune": "X"}, headers=headers)
    assert unknown.status == 404


async def test_closing_a_house_lists_its_bookings_to_come_first(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    booked = await book(client, world)
    path = f"/api/v1/sites/{world.site.id}"
    refused = await client.patch(path, json={"active": False, "commune": "X"}, headers=headers)
    assert refused.status == 409
    error = (await refused.json())["error"]
    assert error["code"] == "in_use" and error["appointments_count"] == 1
    assert error["appointments"] == [{"id": booked["id"], "start": MONDAY_10}]
    assert (await (await client.get(path, headers=headers)).json())["active"] is True
    cancelled = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "Maison fermée"},
        headers=world.headers,
    )  # fmt: skip
    assert cancelled.status == 200
    assert (await client.patch(path, json={"active": False}, headers=headers)).status == 200
    # out of new bookings: no slot, no booking
    slots = await client.get(
        "/api/v1/slots", headers=world.headers,
        params={"site_id": str(world.site.id), "motive_id": str(world.motive.id),
                "from": "2026-03-16", "to": "2026-03-16"},
    )  # fmt: skip
    assert slots.status == 404
    again = await client.post(
        "/api/v1/appointments", headers=world.headers,
        json={"site_id": world.site.id, "motive_id": world.motive.id, "start": MONDAY_10,
              "citizen": {"first_name": "Jean", "last_name": "Rigal"}},
    )  # fmt: skip
    assert again.status == 404
    # and back
    assert (await client.patch(path, json={"active": True}, headers=headers)).status == 200
    assert (await book(client, world))["id"]


async def test_only_a_site_without_history_is_removed(
    client: Any, world: World, create_user: Any, bearer: Any, session: AsyncSession
) -> None:
    headers = await admin_headers(create_user, bearer)
    await book(client, world)
    in_use = await client.delete(f"/api/v1/sites/{world.site.id}", headers=headers)
    assert in_use.status == 409
    error = (await in_use.json())["error"]
    assert error["code"] == "in_use"
    assert error["uses"] == {"appointments": 1, "permanences": 1, "users": 1}
    assert await session.get(Site, world.site.id) is not None

    mistake = await (
        await client.post("/api/v1/sites", json={**MURAT, "name": "Typo"}, headers=headers)
    ).json()
    station = await client.post(
        f"/api/v1/sites/{mistake['id']}/stations", json={"name": "Cabine"}, headers=headers
    )
    assert station.status == 201
    removed = await client.delete(f"/api/v1/sites/{mistake['id']}", headers=headers)
    assert removed.status == 204
    assert (await client.get(f"/api/v1/sites/{mistake['id']}", headers=headers)).status == 404
    assert await session.scalar(select(Station).where(Station.site_id == mistake["id"])) is None
    # not for the desk
    desk = await client.delete(f"/api/v1/sites/{world.site.id}", headers=world.headers)
    assert desk.status == 403


async def test_stations_are_renamed_taken_out_of_service_or_removed(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    booked = await book(client, world)
    site = await (await client.get(f"/api/v1/sites/{world.site.id}", headers=headers)).json()
    used = booked["station_id"]
    free = next(station["id"] for station in site["stations"] if station["id"] != used)
    base = f"/api/v1/sites/{world.site.id}/stations"

    renamed = await client.patch(f"{base}/{free}", json={"name": "Kiosque"}, headers=headers)
    assert renamed.status == 200
    assert await renamed.json() == {"id": free, "name": "Kiosque", "active": True}
    refused = await client.patch(f"{base}/{used}", json={"active": False}, headers=headers)
    assert refused.status == 409
    assert [item["id"] for item in (await refused.json())["error"]["appointments"]] == [
        booked["id"]
    ]
    out = await client.patch(f"{base}/{free}", json={"active": False}, headers=headers)
    assert (await out.json())["active"] is False
    # a new booking goes to the station still in service
    second = await book(client, world, start="2026-03-16T11:00:00+01:00")
    assert second["station_id"] == used
    in_use = await client.delete(f"{base}/{used}", headers=headers)
    assert in_use.status == 409 and (await in_use.json())["error"]["uses"] == {"appointments": 2}
    assert (await client.delete(f"{base}/{free}", headers=headers)).status == 204
    elsewhere = await client.patch(f"{base}/{free}", json={"name": "X"}, headers=headers)
    assert elsewhere.status == 404
    empty = await client.patch(f"{base}/{used}", json={"name": " "}, headers=headers)
    assert empty.status == 422 and "name" in (await empty.json())["error"]["fields"]


async def test_closures_are_listed_and_removed(
    client: Any, world: World, create_user: Any, bearer: Any, clock: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    base = f"/api/v1/sites/{world.site.id}/closures"
    created = []
    for start, end in (("2026-02-02T00:00:00+01:00", "2026-02-03T00:00:00+01:00"),
                       ("2026-08-10T00:00:00+02:00", "2026-08-15T00:00:00+02:00")):  # fmt: skip
        response = await client.post(
            base, json={"start": start, "end": end, "reason": "Congés"}, headers=headers
        )
        assert response.status == 201
        created.append((await response.json())["id"])
    coming = await (await client.get(base, headers=headers)).json()
    assert [closure["id"] for closure in coming] == [created[1]]  # February is over
    assert coming[0]["start"] == "2026-08-10T00:00:00+02:00"
    every = await (await client.get(base, params={"past": "true"}, headers=headers)).json()
    assert [closure["id"] for closure in every] == created
    # the desk of the house reads them too, and may not remove them
    assert (await client.get(base, headers=world.headers)).status == 200
    assert (await client.delete(f"{base}/{created[1]}", headers=world.headers)).status == 403
    assert (await client.delete(f"{base}/{created[1]}", headers=headers)).status == 204
    assert (await client.delete(f"{base}/{created[1]}", headers=headers)).status == 404
    assert await (await client.get(base, headers=headers)).json() == []


async def test_an_other_houses_desk_sees_nothing_of_this_one(
    client: Any, world: World, create_site: Any, create_user: Any, bearer: Any
) -> None:
    other = await create_site("France Services Massiac")
    desk = await bearer(await create_user(Role.DESK, site_ids=[other.id]))
    assert (await client.get(f"/api/v1/sites/{world.site.id}/closures", headers=desk)).status == (
        404
    )
    listed = await (await client.get("/api/v1/sites", headers=desk)).json()
    assert [site["name"] for site in listed] == ["France Services Massiac"]
