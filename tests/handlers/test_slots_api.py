"""GET /api/v1/slots and /api/v1/slots/first, as the desk uses them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import MakeWorld, World
from visio.db.models import (
    Appointment,
    AppointmentStatus,
    AvailabilityRule,
    Motive,
    Partner,
    Role,
    Station,
)

# Friday 13 March 2026, 09:00 in Paris; the searches below look at Monday 16 March.
NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)


@pytest.fixture
async def murat(make_world: MakeWorld) -> World:
    """One station and no buffer: each free half-hour is a slot."""
    return await make_world(stations=1, buffer_after=0)


def query(setup: World, **extra: Any) -> dict[str, Any]:
    return {
        "site_id": setup.site.id,
        "motive_id": setup.motive.id,
        "from": "2026-03-16",
        "to": "2026-03-16",
        **extra,
    }


async def test_the_mornings_slots_in_the_sites_time(client: Any, murat: World) -> None:
    response = await client.get("/api/v1/slots", params=query(murat), headers=murat.headers)
    assert response.status == 200
    body = await response.json()
    assert body["timezone"] == "Europe/Paris"
    assert [slot["start"] for slot in body["slots"]] == [
        f"2026-03-16T{hh}+01:00"
        for hh in ("09:00:00", "09:30:00", "10:00:00", "10:30:00", "11:00:00", "11:30:00")
    ]
    assert body["slots"][0]["end"] == "2026-03-16T09:30:00+01:00"
    assert {slot["agent_id"] for slot in body["slots"]} == {murat.agent.id}
    assert body["reason"] is None


async def test_any_agent_gives_each_time_once_with_how_many_are_free(
    client: Any, session: AsyncSession, murat: World, create_agent: Any
) -> None:
    """A colleague holds 9:00-10:30 too: 9:00, 9:30 and 10:00 have two agents free, the
    others one; each time comes once, with its station and the count."""
    partner = await session.get_one(Partner, murat.agent.partner_id)
    colleague = await create_agent(partner, name="Thomas Bonnet", email="t@caf.example")
    rule = AvailabilityRule(
        agent_id=colleague.id, weekdays=[1], start=time(9), end=time(10, 30), every_weeks=1
    )
    rule.sites, rule.motives = [murat.site], []
    session.add(rule)
    await session.flush()
    response = await client.get(
        "/api/v1/slots", params=query(murat, agent="any"), headers=murat.headers
    )
    assert response.status == 200
    body = await response.json()
    station = await session.scalar(select(Station.id).where(Station.site_id == murat.site.id))
    assert body["slots"] == [
        {"start": f"2026-03-16T{hh}:00+01:00", "end": f"2026-03-16T{end}:00+01:00",
         "station_id": station, "agents_free": free}
        for hh, end, free in (("09:00", "09:30", 2), ("09:30", "10:00", 2),
                              ("10:00", "10:30", 2), ("10:30", "11:00", 1),
                              ("11:00", "11:30", 1), ("11:30", "12:00", 1))
    ]  # fmt: skip
    per_agent = await client.get("/api/v1/slots", params=query(murat), headers=murat.headers)
    assert len((await per_agent.json())["slots"]) == 9  # the default shape is unchanged

    both = await client.get(
        "/api/v1/slots", params=query(murat, agent="any", agent_id=murat.agent.id),
        headers=murat.headers,
    )  # fmt: skip
    assert both.status == 422
    assert set((await both.json())["error"]["fields"]) == {"agent", "agent_id"}
    other = await client.get(
        "/api/v1/slots", params=query(murat, agent="all"), headers=murat.headers
    )
    assert other.status == 422 and "agent" in (await other.json())["error"]["fields"]


async def test_a_booking_takes_its_slot_away(
    client: Any, session: AsyncSession, murat: World
) -> None:
    start = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    site = murat.site
    station_id = await session.scalar(select(Station.id).where(Station.site_id == site.id))
    session.add(
        Appointment(
            site_id=site.id,
            station_id=station_id,
            partner_id=murat.agent.partner_id,
            motive_id=murat.motive.id,
            agent_id=murat.agent.id,
            start_at=start,
            end_at=start + timedelta(minutes=30),
            busy_from=start,
            busy_until=start + timedelta(minutes=40),
            status=AppointmentStatus.BOOKED,
            room="visio-" + "a" * 26,
        )
    )
    await session.flush()
    body = await (
        await client.get("/api/v1/slots", params=query(murat), headers=murat.headers)
    ).json()
    starts = [slot["start"][11:16] for slot in body["slots"]]
    # 10:00 is taken; 10:30 falls in its 10 minutes of buffer after.
    assert starts == ["09:00", "09:30", "11:00", "11:30"]


async def test_nothing_to_offer_comes_with_a_reason(
    client: Any,
    session: AsyncSession,
    murat: World,
    create_site: Any,
) -> None:
    empty = await create_site("France Services Allanche", stations=0)
    desk_scope = murat.desk
    desk_scope.sites.append(empty)
    await session.flush()
    response = await client.get(
        "/api/v1/slots", params=query(murat, site_id=empty.id), headers=murat.headers
    )
    assert response.status == 200
    body = await response.json()
    assert body["slots"] == []
    assert body["reason_code"] == "no_station"
    assert body["reason"].startswith("Cette maison n'a aucun poste visio")


async def test_a_motive_nobody_serves_says_so(
    client: Any,
    session: AsyncSession,
    murat: World,
    create_partner: Any,
) -> None:
    msa = await create_partner("MSA", "MSA Auvergne")
    lonely = Motive(
        partner_id=msa.id,
        name="Retraite agricole",
        duration_minutes=45,
        documents=[],
        reminder_offsets=[60],
    )
    session.add(lonely)
    await session.flush()
    response = await client.get(
        "/api/v1/slots",
        params=query(murat, motive_id=lonely.id),
        headers={**murat.headers, "Accept-Language": "en"},
    )
    assert response.status == 200
    body = await response.json()
    assert body == {
        "site_id": murat.site.id,
        "timezone": "Europe/Paris",
        "slots": [],
        "reason_code": "no_agent",
        "reason": "No partner agent holds a permanence for this motive at this site.",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "2026-03-20", "to": "2026-03-16"}, "to"),  # backwards
        ({"from": "2026-03-01", "to": "2026-05-03"}, "to"),  # 63 days
        ({"from": "16/03/2026"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"site_id": "Murat"}, "site_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_searches_name_their_field(
    client: Any, murat: World, change: dict[str, str], field: str
) -> None:
    response = await client.get(
        "/api/v1/slots", params=query(murat, **change), headers=murat.headers
    )
    assert response.status == 422
    assert field in (await response.json())["error"]["fields"]


async def test_missing_parameters(client: Any, murat: World) -> None:
    response = await client.get(
        "/api/v1/slots", params={"site_id": murat.site.id}, headers=murat.headers
    )
    assert response.status == 422
    assert set((await response.json())["error"]["fields"]) == {"motive_id", "from", "to"}


async def test_62_days_is_allowed(client: Any, murat: World) -> None:
    response = await client.get(
        "/api/v1/slots", params=query(murat, to="2026-05-17"), headers=murat.headers
    )
    assert response.status == 200
    # Mondays 16 March … 11 May, less Easter Monday (6 April), within the 60-day horizon
    assert len((await response.json())["slots"]) == 8 * 6


async def test_unknown_or_foreign_sites_and_motives_are_404(
    client: Any, murat: World, create_site: Any
) -> None:
    elsewhere = await create_site("Pélussin")
    for params in (
        query(murat, site_id=424242),
        query(murat, motive_id=424242),
        query(murat, site_id=elsewhere.id),
    ):
        response = await client.get("/api/v1/slots", params=params, headers=murat.headers)
        assert response.status == 404, params


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.AGENT])
async def test_only_desk_and_admins_search(
    client: Any, murat: World, create_user: Any, bearer: Any, role: Role
) -> None:
    if role is Role.AGENT:
        headers = murat.agent_headers  # the agent's own account
    else:
        headers = await bearer(await create_user(role, site_ids=[murat.site.id]))
    response = await client.get("/api/v1/slots", params=query(murat), headers=headers)
    assert response.status == 403


async def test_a_paris_agent_serving_la_reunion(
    client: Any,
    session: AsyncSession,
    murat: World,
    create_site: Any,
) -> None:
    reunion = await create_site(
        "France Services Saint-Benoît",
        timezone="Indian/Reunion",
        holiday_calendar="974",
        hours=((time(8), time(16)),),
    )
    rule = AvailabilityRule(
        agent_id=murat.agent.id, weekdays=[2], start=time(8), end=time(10), every_weeks=1
    )
    rule.sites, rule.motives = [reunion], []
    session.add(rule)
    murat.desk.sites.append(reunion)
    await session.flush()
    body = await (
        await client.get(
            "/api/v1/slots",
            params=query(murat, site_id=reunion.id, **{"from": "2026-03-17", "to": "2026-03-17"}),
            headers=murat.headers,
        )
    ).json()
    # 08:00–10:00 in Paris (UTC+1 in March) is 11:00–13:00 at Saint-Benoît (UTC+4).
    assert [slot["start"] for slot in body["slots"]] == [
        "2026-03-17T11:00:00+04:00",
        "2026-03-17T11:30:00+04:00",
        "2026-03-17T12:00:00+04:00",
        "2026-03-17T12:30:00+04:00",
    ]


async def test_the_first_free_slot_across_the_desks_sites(
    client: Any,
    session: AsyncSession,
    murat: World,
    create_site: Any,
) -> None:
    neussargues = await create_site("France Services Neussargues", stations=1)
    rule = AvailabilityRule(
        agent_id=murat.agent.id, weekdays=[5], start=time(14), end=time(16), every_weeks=1
    )
    rule.sites, rule.motives = [neussargues], []
    session.add(rule)
    murat.desk.sites.append(neussargues)
    await session.flush()
    response = await client.get(
        "/api/v1/slots/first", params={"motive_id": murat.motive.id}, headers=murat.headers
    )
    assert response.status == 200
    sites = (await response.json())["sites"]
    # Friday 13 March 14:00 at Neussargues comes before Monday 16 March at Murat.
    assert [(s["site_id"], s["slots"][0]["start"]) for s in sites] == [
        (neussargues.id, "2026-03-13T14:00:00+01:00"),
        (murat.site.id, "2026-03-16T09:00:00+01:00"),
    ]
