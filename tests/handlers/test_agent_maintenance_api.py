"""Maintaining partner agents through the API: finding them by partner, house or name,
correcting them (a typo in an email), recording that one left, removing one created by
mistake."""

from __future__ import annotations

from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import MONDAY_10, World, book
from tests.handlers.test_setup_api import admin_headers
from visio.db.models import Agent, AvailabilityRule, Partner, Role


async def test_agents_are_found_by_partner_house_and_name(
    client: Any, world: World, create_agent: Any, create_partner: Any, create_site: Any,
    create_user: Any, bearer: Any, session: AsyncSession,
) -> None:  # fmt: skip
    headers = await admin_headers(create_user, bearer)
    elsewhere = await create_site("France Services Massiac")
    caf = await session.get(Partner, world.agent.partner_id)
    cpam = await create_partner("CPAM", "Assurance maladie")
    # Marc serves Massiac only; Inès has no permanence yet; Isabelle serves Murat
    marc = await create_agent(cpam, name="Marc Vidal", email="marc.vidal@cpam.example")
    rule = AvailabilityRule(agent_id=marc.id, weekdays=[2], start=time(9), end=time(12),
                            every_weeks=1)  # fmt: skip
    rule.sites, rule.motives = [elsewhere], []
    session.add(rule)
    ines = await create_agent(caf, name="Inès Bory", email="ines.bory@caf.example")
    await session.flush()

    async def names(who: dict[str, str] = headers, **query: str) -> list[str]:
        response = await client.get("/api/v1/agents", params=query, headers=who)
        assert response.status == 200, await response.text()
        return [agent["name"] for agent in await response.json()]

    assert await names() == ["Inès Bory", "Isabelle Delmas", "Marc Vidal"]
    assert await names(partner_id=str(world.agent.partner_id)) == ["Inès Bory", "Isabelle Delmas"]
    assert await names(site_id=str(elsewhere.id)) == ["Marc Vidal"]
    assert await names(q="VIDAL") == ["Marc Vidal"] and await names(q="@caf.") == [
        "Inès Bory", "Isabelle Delmas",
    ]  # fmt: skip
    page = await client.get("/api/v1/agents", params={"limit": "1", "page": "3"}, headers=headers)
    assert [agent["name"] for agent in await page.json()] == ["Marc Vidal"]
    assert page.headers["X-Total-Count"] == "3"
    # the desk of Murat sees the agents serving Murat; an agent sees themselves
    assert await names(world.headers) == ["Isabelle Delmas"]
    assert await names(world.agent_headers) == ["Isabelle Delmas"]
    hidden = await client.get(f"/api/v1/agents/{marc.id}", headers=world.headers)
    assert hidden.status == 404
    seen = await client.get(f"/api/v1/agents/{ines.id}", headers=headers)
    assert (await seen.json())["email"] == "ines.bory@caf.example"


async def test_an_agent_is_corrected_or_marked_as_left(
    client: Any, world: World, create_agent: Any, create_user: Any, bearer: Any,
    session: AsyncSession,
) -> None:  # fmt: skip
    headers = await admin_headers(create_user, bearer)
    caf = await session.get(Partner, world.agent.partner_id)
    await create_agent(caf, name="Inès Bory", email="ines.bory@caf.example")
    path = f"/api/v1/agents/{world.agent.id}"
    fixed = await client.patch(
        path, json={"email": " Isabelle.Delmas@CAF15.example ", "locale": "en"}, headers=headers
    )
    assert fixed.status == 200, await fixed.text()
    assert (await fixed.json())["email"] == "isabelle.delmas@caf15.example"
    for patch, status, field in (
        ({"email": "ines.bory@caf.example"}, 422, "email"),
        ({"email": "not-an-email"}, 422, "email"),
        ({"timezone": "Mars/Olympus"}, 422, "timezone"),
        ({"locale": "de"}, 422, "locale"),
        ({"name": None}, 422, "name"),
    ):
        refused = await client.patch(path, json={"name": "X", **patch}, headers=headers)
        assert refused.status == status, (patch, await refused.text())
        assert field in (await refused.json())["error"]["fields"]
    assert (await (await client.get(path, headers=headers)).json())["name"] == "Isabelle Delmas"

    booked = await book(client, world)
    left = await client.patch(path, json={"active": False}, headers=headers)
    assert left.status == 409
    error = (await left.json())["error"]
    assert error["code"] == "would_strand_appointments"
    assert [(a["id"], a["start"]) for a in error["appointments"]] == [(booked["id"], MONDAY_10)]
    assert (await client.get(path, headers=headers)).status == 200
    assert (await (await client.get(path, headers=headers)).json())["active"] is True
    confirmed = await client.patch(
        path, params={"confirm": "true"}, json={"active": False}, headers=headers
    )
    assert confirmed.status == 200, await confirmed.text()
    kept = await client.get(f"/api/v1/appointments/{booked['id']}", headers=world.headers)
    assert (await kept.json())["status"] == "booked"
    assert (await kept.json())["to_rebook_reason"] == "agent_left"
    assert await (await client.get("/api/v1/agents", headers=headers)).json() != []
    gone = await client.get("/api/v1/agents", params={"state": "inactive"}, headers=headers)
    assert [agent["name"] for agent in await gone.json()] == ["Isabelle Delmas"]
    slots = await client.get(
        "/api/v1/slots", headers=world.headers,
        params={"site_id": str(world.site.id), "motive_id": str(world.motive.id),
                "from": "2026-03-16", "to": "2026-03-16"},
    )  # fmt: skip
    assert (await slots.json())["slots"] == []  # no one else holds Monday mornings
    assert (await client.patch(path, json={"name": "X"}, headers=world.headers)).status == 403


async def test_only_an_agent_without_history_is_removed(
    client: Any, world: World, create_agent: Any, create_user: Any, bearer: Any,
    session: AsyncSession,
) -> None:  # fmt: skip
    headers = await admin_headers(create_user, bearer)
    in_use = await client.delete(f"/api/v1/agents/{world.agent.id}", headers=headers)
    assert in_use.status == 409
    assert (await in_use.json())["error"]["uses"] == {"users": 1}
    caf = await session.get(Partner, world.agent.partner_id)
    mistake = await create_agent(caf, name="Doublon", email="doublon@caf.example")
    rule = await client.post(
        f"/api/v1/agents/{mistake.id}/rules", headers=headers,
        json={"weekdays": [1], "start": "09:00", "end": "12:00", "site_ids": [world.site.id]},
    )  # fmt: skip
    assert rule.status == 201
    absence = await client.post(
        f"/api/v1/agents/{mistake.id}/absences", headers=headers,
        json={"start": "2026-04-01T00:00:00+02:00", "end": "2026-04-02T00:00:00+02:00"},
    )  # fmt: skip
    assert absence.status == 201
    assert (await client.delete(f"/api/v1/agents/{mistake.id}", headers=headers)).status == 204
    assert await session.scalar(select(Agent.id).where(Agent.id == mistake.id)) is None
    assert (await client.get(f"/api/v1/agents/{mistake.id}", headers=headers)).status == 404


async def test_agents_are_listed_for_set_up_roles_only(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    coordinator = await bearer(await create_user(Role.COORDINATOR, site_ids=[world.site.id]))
    listed = await client.get("/api/v1/agents", headers=coordinator)
    assert [agent["name"] for agent in await listed.json()] == ["Isabelle Delmas"]
    assert (await client.get("/api/v1/agents")).status == 401


async def test_an_agents_permanences_and_absences_are_listed_and_absences_removed(
    client: Any, world: World, create_user: Any, create_site: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    base = f"/api/v1/agents/{world.agent.id}"
    rules = await (await client.get(f"{base}/rules", headers=headers)).json()
    assert [(rule["weekdays"], rule["start"], rule["end"], rule["site_ids"]) for rule in rules] == [
        ([1], "09:00", "12:00", [world.site.id])
    ]
    made = []
    for start, end in (("2026-02-02T00:00:00+01:00", "2026-02-03T00:00:00+01:00"),
                       ("2026-03-23T00:00:00+01:00", "2026-03-24T00:00:00+01:00")):  # fmt: skip
        response = await client.post(
            f"{base}/absences", json={"start": start, "end": end, "reason": "Formation"},
            headers=headers,
        )  # fmt: skip
        made.append((await response.json())["id"])
    coming = await (await client.get(f"{base}/absences", headers=headers)).json()
    assert [absence["id"] for absence in coming] == [made[1]]  # February's is over
    assert coming[0]["start"] == "2026-03-23T00:00:00+01:00"
    every = await client.get(f"{base}/absences", params={"past": "true"}, headers=headers)
    assert [absence["id"] for absence in await every.json()] == made

    # Monday 23 March offers no slot while she is away, and again once the absence is gone
    async def free_on_the_23rd() -> int:
        slots = await client.get(
            "/api/v1/slots", headers=world.headers,
            params={"site_id": str(world.site.id), "motive_id": str(world.motive.id),
                    "from": "2026-03-23", "to": "2026-03-23"},
        )  # fmt: skip
        return len((await slots.json())["slots"])

    assert await free_on_the_23rd() == 0
    assert (await client.delete(f"{base}/absences/{made[1]}", headers=world.headers)).status == 403
    assert (await client.delete(f"{base}/absences/{made[1]}", headers=headers)).status == 204
    assert await free_on_the_23rd() > 0
    assert (await client.delete(f"{base}/absences/{made[1]}", headers=headers)).status == 404
    # the desk of the house reads them; a desk elsewhere does not see the agent
    assert (await client.get(f"{base}/rules", headers=world.headers)).status == 200
    other = await create_site("France Services Massiac")
    elsewhere = await bearer(await create_user(Role.DESK, site_ids=[other.id]))
    assert (await client.get(f"{base}/absences", headers=elsewhere)).status == 404


async def test_a_permanence_is_corrected_or_removed_once_its_bookings_are_confirmed(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    rules_path = f"/api/v1/agents/{world.agent.id}/rules"
    (rule,) = await (await client.get(rules_path, headers=headers)).json()
    path = f"{rules_path}/{rule['id']}"
    booked = await book(client, world)  # Monday 10:00

    # Another permanence at the same time: refused by field, whatever the house.
    clash = {"weekdays": [rule["weekdays"][0]], "start": "11:00", "end": "13:00"}
    refused = await client.post(rules_path, json=clash, headers=headers)
    assert refused.status == 422, await refused.text()
    assert "start" in (await refused.json())["error"]["fields"]
    wrongs = (({"start": "13:00"}, "end"), ({"weekdays": []}, "weekdays"),
              ({"every_weeks": 9}, "every_weeks"), ({"start": None}, "start"))  # fmt: skip
    for patch, field in wrongs:
        wrong = await client.patch(path, json=patch, headers=headers)
        assert wrong.status == 422, (patch, await wrong.text())
        assert field in (await wrong.json())["error"]["fields"]

    shorter = {"end": "10:00"}
    asked = await client.patch(path, json=shorter, headers=headers)
    assert asked.status == 409
    error = (await asked.json())["error"]
    assert error["code"] == "would_strand_appointments"
    assert [a["id"] for a in error["appointments"]] == [booked["id"]]
    assert (await (await client.get(rules_path, headers=headers)).json())[0]["end"] == rule["end"]
    done = await client.patch(path, params={"confirm": "true"}, json=shorter, headers=headers)
    assert done.status == 200, await done.text()
    assert (await done.json())["end"] == "10:00"
    appointment = await client.get(f"/api/v1/appointments/{booked['id']}", headers=world.headers)
    assert (await appointment.json())["to_rebook_reason"] == "permanence_changed"

    assert (await client.patch(path, json=shorter, headers=world.headers)).status == 403
    assert (await client.delete(path, headers=headers)).status == 204
    assert await (await client.get(rules_path, headers=headers)).json() == []
    assert (await client.delete(path, headers=headers)).status == 404
    assert (await client.patch(f"{rules_path}/424242", json={}, headers=headers)).status == 404
