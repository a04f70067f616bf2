"""GET /api/v1/stats/sessions: visio sessions counted by status, grouped, within scope."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.handlers.conftest import World, book
from visio.db.models import Role
from visio.services import statistics

STATS = "/api/v1/stats/sessions"


async def stats(client: Any, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await client.get(STATS, params=params, headers=headers)
    assert response.status == 200, await response.text()
    return list((await response.json())["rows"])


async def three_appointments(client: Any, world: World, clock: Any) -> None:
    """Monday 16 March: one held, one cancelled; Monday 23 March: one booked."""
    held = await book(client, world)
    cancelled = await book(
        client, world, start="2026-03-16T11:00:00+01:00",
        citizen={"first_name": "Jean", "last_name": "Rigal"},
    )  # fmt: skip
    await book(client, world, start="2026-03-23T10:00:00+01:00")
    await client.post(
        f"/api/v1/appointments/{cancelled['id']}/cancel", json={}, headers=world.headers
    )
    clock.now = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    response = await client.post(
        f"/api/v1/appointments/{held['id']}/outcome", json={"status": "held"},
        headers=world.headers,
    )  # fmt: skip
    assert response.status == 200, await response.text()


async def test_counts_by_day_month_and_partner(client: Any, world: World, clock: Any) -> None:
    await three_appointments(client, world, clock)
    zero = {"held": 0, "no_show": 0, "agent_absent": 0, "cancelled": 0, "booked": 0}
    assert await stats(client, world.headers, group_by="day") == [
        {"day": "2026-03-16", **zero, "held": 1, "cancelled": 1},
        {"day": "2026-03-23", **zero, "booked": 1},
    ]
    assert await stats(client, world.headers, group_by="month") == [
        {"month": "2026-03", **zero, "held": 1, "cancelled": 1, "booked": 1}
    ]
    assert await stats(client, world.headers, group_by="week,site") == [
        {"week": "2026-W12", "site_id": world.site.id, "site_name": "France Services Murat",
         **zero, "held": 1, "cancelled": 1},
        {"week": "2026-W13", "site_id": world.site.id, "site_name": "France Services Murat",
         **zero, "booked": 1},
    ]  # fmt: skip
    by_partner = await stats(client, world.headers, group_by="year,partner,agent")
    assert by_partner[0]["partner_id"] == world.agent.partner_id
    assert by_partner[0]["agent_name"] == "Isabelle Delmas" and by_partner[0]["year"] == 2026
    # Everything in one row; a period filters on the house's days; an empty one is zeros.
    assert await stats(client, world.headers) == [{**zero, "held": 1, "cancelled": 1, "booked": 1}]
    assert await stats(client, world.headers, **{"from": "2026-03-20"}) == [{**zero, "booked": 1}]
    assert await stats(client, world.headers, **{"from": "2027-01-01", "to": "2027-12-31"}) == []


async def test_each_sees_the_counts_of_their_houses(
    client: Any, world: World, clock: Any, create_site: Any, create_user: Any, bearer: Any
) -> None:
    await three_appointments(client, world, clock)
    elsewhere = await create_site("France Services Massiac")
    mine = await create_user(Role.COORDINATOR, site_ids=[world.site.id])
    theirs = await create_user(Role.COORDINATOR, site_ids=[elsewhere.id])
    admin = await create_user(Role.ADMIN)
    assert len(await stats(client, await bearer(mine), group_by="day")) == 2
    assert len(await stats(client, await bearer(admin), group_by="day")) == 2
    assert await stats(client, await bearer(theirs), group_by="day") == []
    foreign = await client.get(
        STATS, params={"site_id": str(world.site.id)}, headers=await bearer(theirs)
    )
    assert foreign.status == 404
    assert (await client.get(STATS, headers=world.agent_headers)).status == 403
    assert (await client.get(STATS)).status == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "colour"}, "group_by"),
        ({"from": "2026-03-20", "to": "2026-03-01"}, "to"),
        ({"from": "2000-01-01", "to": "2026-01-01"}, "to"),
        ({"from": "20/03/2026"}, "from"),
        ({"site_id": "Murat"}, "site_id"),
    ],
)
async def test_bad_requests_name_their_field(
    client: Any, world: World, params: dict[str, str], field: str
) -> None:
    response = await client.get(STATS, params=params, headers=world.headers)
    assert response.status == 422
    assert field in (await response.json())["error"]["fields"]


def test_a_day_is_the_house_own() -> None:
    """22:00 UTC on Monday is already Tuesday at La Réunion: counted on Tuesday there."""
    moment = datetime(2026, 3, 16, 22, 0, tzinfo=UTC)
    status = statistics.AppointmentStatus.BOOKED
    assert statistics._key(1, 2, 3, 4, moment, "Indian/Reunion", status).day.isoformat() == (
        "2026-03-17"
    )
    assert statistics._key(1, 2, 3, 4, moment, "Europe/Paris", status).day.isoformat() == (
        "2026-03-16"
    )
