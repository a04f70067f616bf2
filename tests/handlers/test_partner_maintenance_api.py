"""Maintaining partners and their motives through the API: finding them, correcting them
field by field, marking a partner gone or retiring a motive (out of new bookings, kept with
their history), removing what was created by mistake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import MONDAY_10, World, book
from tests.handlers.test_setup_api import admin_headers
from visio.db.models import Motive, Partner


async def test_partners_are_searched_filtered_and_paged(
    client: Any, world: World, create_partner: Any, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    await create_partner("CPAM", "Assurance maladie")
    await create_partner("FT", "France Travail")
    await create_partner("DGFIP", "Finances publiques")

    async def codes(**query: str) -> list[str]:
        response = await client.get("/api/v1/partners", params=query, headers=headers)
        assert response.status == 200, await response.text()
        return [partner["code"] for partner in await response.json()]

    assert await codes() == ["CAF", "CPAM", "DGFIP", "FT"]
    assert await codes(q="travail") == ["FT"]
    assert await codes(q="cp") == ["CPAM"]
    page = await client.get("/api/v1/partners", params={"limit": "3", "page": "2"},
                            headers=headers)  # fmt: skip
    assert [partner["code"] for partner in await page.json()] == ["FT"]
    assert page.headers["X-Total-Count"] == "4" and 'rel="prev"' in page.headers["Link"]
    # API.md's shape, and whether the partner is still in the network
    listed = await (await client.get("/api/v1/partners", headers=world.headers)).json()
    assert listed[0] == {
        "id": world.agent.partner_id, "code": "CAF", "name": "Caisse d'allocations familiales",
        "motives": [{"id": world.motive.id, "name": "Prime d'activité", "duration_minutes": 30}],
        "active": True,
    }  # fmt: skip


async def test_a_partner_is_corrected_or_marked_gone(
    client: Any, world: World, create_partner: Any, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    await create_partner("CPAM", "Assurance maladie")
    path = f"/api/v1/partners/{world.agent.partner_id}"
    renamed = await client.patch(path, json={"name": "CAF du Cantal"}, headers=headers)
    assert renamed.status == 200 and (await renamed.json())["name"] == "CAF du Cantal"
    for patch, status, field in (
        ({"code": "cpam"}, 422, "code"),  # codes are upper-cased, then unique
        ({"code": "C A F"}, 422, "code"),
        ({"name": ""}, 422, "name"),
        ({"active": None}, 422, "active"),
    ):
        refused = await client.patch(path, json={"name": "Autre", **patch}, headers=headers)
        assert refused.status == status, (patch, await refused.text())
        assert field in (await refused.json())["error"]["fields"]
    assert (await (await client.get(path, headers=headers)).json())["name"] == "CAF du Cantal"

    booked = await book(client, world)
    gone = await client.patch(path, json={"active": False}, headers=headers)
    assert gone.status == 409
    error = (await gone.json())["error"]
    assert error["code"] == "in_use"
    assert error["appointments"] == [{"id": booked["id"], "start": MONDAY_10}]
    cancelled = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "Partenaire parti"},
        headers=world.headers,
    )  # fmt: skip
    assert cancelled.status == 200
    assert (await client.patch(path, json={"active": False}, headers=headers)).status == 200
    listed = await (await client.get("/api/v1/partners", headers=headers)).json()
    assert [partner["code"] for partner in listed] == ["CPAM"]
    gone_too = await client.get("/api/v1/partners", params={"state": "inactive"}, headers=headers)
    assert [partner["code"] for partner in await gone_too.json()] == ["CAF"]
    # no new booking with a partner gone; its history stays
    refused = await client.post(
        "/api/v1/appointments", headers=world.headers,
        json={"site_id": world.site.id, "motive_id": world.motive.id, "start": MONDAY_10,
              "citizen": {"first_name": "Jean", "last_name": "Rigal"}},
    )  # fmt: skip
    assert refused.status == 404
    history = await client.get(f"/api/v1/appointments/{booked['id']}", headers=world.headers)
    assert history.status == 200


async def test_only_a_partner_without_agents_or_history_is_removed(
    client: Any, world: World, create_user: Any, bearer: Any, session: AsyncSession
) -> None:
    headers = await admin_headers(create_user, bearer)
    in_use = await client.delete(f"/api/v1/partners/{world.agent.partner_id}", headers=headers)
    assert in_use.status == 409
    assert (await in_use.json())["error"]["uses"] == {"agents": 1}
    created = await client.post(
        "/api/v1/partners", json={"code": "MSA", "name": "Mutualité sociale agricole"},
        headers=headers,
    )  # fmt: skip
    partner_id = (await created.json())["id"]
    motive = await client.post(
        f"/api/v1/partners/{partner_id}/motives", json={"name": "Retraite", "duration_minutes": 45},
        headers=headers,
    )  # fmt: skip
    assert motive.status == 201
    assert (await client.delete(f"/api/v1/partners/{partner_id}", headers=headers)).status == 204
    assert await session.scalar(select(Partner.id).where(Partner.id == partner_id)) is None
    assert await session.scalar(select(Motive).where(Motive.partner_id == partner_id)) is None
    assert (await client.get(f"/api/v1/partners/{partner_id}", headers=headers)).status == 404
    desk = await client.delete(f"/api/v1/partners/{world.agent.partner_id}", headers=world.headers)
    assert desk.status == 403


async def test_a_motive_is_corrected_retired_or_removed(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    booked = await book(client, world)
    path = f"/api/v1/motives/{world.motive.id}"
    changed = await client.patch(
        path, headers=headers,
        json={"duration_minutes": 45, "documents": ["Avis d'imposition"],
              "reminder_offsets_minutes": [60, 1440, 60], "slot_step_minutes": None},
    )  # fmt: skip
    assert changed.status == 200, await changed.text()
    body = await changed.json()
    assert body["duration_minutes"] == 45 and body["documents"] == ["Avis d'imposition"]
    assert body["reminder_offsets_minutes"] == [1440, 60] and body["active"] is True
    # the appointment booked keeps its times; new ones take 45 minutes
    kept = await (await client.get(f"/api/v1/appointments/{booked['id']}",
                                   headers=world.headers)).json()  # fmt: skip
    assert kept["end"] == booked["end"]
    later = await book(client, world, start="2026-03-16T11:15:00+01:00")  # a 45-minute grid
    assert later["end"] == "2026-03-16T12:00:00+01:00"
    for patch, field in (
        ({"duration_minutes": 2}, "duration_minutes"),
        ({"horizon_days": None}, "horizon_days"),
        ({"documents": [""]}, "documents.0"),
        ({"reminder_offsets_minutes": [1]}, "reminder_offsets_minutes.0"),
    ):
        refused = await client.patch(path, json=patch, headers=headers)
        assert refused.status == 422, patch
        assert field in (await refused.json())["error"]["fields"], patch
    other = await client.post(
        f"/api/v1/partners/{world.agent.partner_id}/motives",
        json={"name": "Aide au logement", "duration_minutes": 30}, headers=headers,
    )  # fmt: skip
    other_id = (await other.json())["id"]
    taken = await client.patch(path, json={"name": "Aide au logement"}, headers=headers)
    assert taken.status == 422 and "name" in (await taken.json())["error"]["fields"]

    # retired: no longer offered nor bookable, still readable
    retired = await client.patch(path, json={"active": False}, headers=headers)
    assert (await retired.json())["active"] is False
    partner = await (
        await client.get(f"/api/v1/partners/{world.agent.partner_id}", headers=headers)
    ).json()
    assert [motive["name"] for motive in partner["motives"]] == ["Aide au logement"]
    slots = await client.get(
        "/api/v1/slots", headers=world.headers,
        params={"site_id": str(world.site.id), "motive_id": str(world.motive.id),
                "from": "2026-03-16", "to": "2026-03-16"},
    )  # fmt: skip
    assert slots.status == 404
    assert (await client.get(path, headers=world.headers)).status == 200

    in_use = await client.delete(path, headers=headers)
    assert in_use.status == 409 and (await in_use.json())["error"]["uses"] == {"appointments": 2}
    assert (await client.delete(f"/api/v1/motives/{other_id}", headers=headers)).status == 204
    assert (await client.get(f"/api/v1/motives/{other_id}", headers=headers)).status == 404
