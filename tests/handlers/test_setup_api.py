"""Setting visio up through the API, as a department's IT would script it, and every way to
get it wrong: a clear error naming the field, and nothing written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Agent, AvailabilityRule, Motive, Partner, Role, Site, User


async def admin_headers(
    create_user: Callable[..., Awaitable[User]], bearer: Callable[..., Awaitable[dict[str, str]]]
) -> dict[str, str]:
    return await bearer(await create_user(Role.ADMIN))


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


MURAT = {
    "name": "France Services Murat",
    "commune": "Murat",
    "timezone": "Europe/Paris",
    "opening_hours": [
        {"weekday": 1, "start": "09:00", "end": "12:00"},
        {"weekday": 1, "start": "13:30", "end": "17:00"},
        {"weekday": 3, "start": "09:00", "end": "12:00"},
    ],
}


async def test_a_whole_set_up_by_script(client: Any, create_user: Any, bearer: Any) -> None:
    headers = await admin_headers(create_user, bearer)
    site = await client.post("/api/v1/sites", json=MURAT, headers=headers)
    assert site.status == 201, await site.text()
    site_body = await site.json()
    assert site_body["opening_hours"][1] == {"weekday": 1, "start": "13:30", "end": "17:00"}
    assert site_body["holiday_calendar"] is None
    site_id = site_body["id"]

    station = await client.post(
        f"/api/v1/sites/{site_id}/stations", json={"name": "Cabine visio"}, headers=headers
    )
    assert station.status == 201
    station_id = (await station.json())["id"]

    closure = await client.post(
        f"/api/v1/sites/{site_id}/closures",
        json={
            "start": "2026-08-10T00:00:00+02:00",
            "end": "2026-08-15T00:00:00+02:00",
            "reason": "Congés d'été",
        },
        headers=headers,
    )
    assert closure.status == 201
    assert (await closure.json())["start"] == "2026-08-10T00:00:00+02:00"

    partner = await client.post(
        "/api/v1/partners", json={"code": "caf", "name": "CAF du Cantal"}, headers=headers
    )
    assert partner.status == 201
    partner_body = await partner.json()
    assert partner_body["code"] == "CAF"
    motive = await client.post(
        f"/api/v1/partners/{partner_body['id']}/motives",
        json={
            "name": "Prime d'activité",
            "duration_minutes": 30,
            "slot_step_minutes": 15,
            "buffer_after_minutes": 10,
            "documents": ["Numéro d'allocataire"],
        },
        headers=headers,
    )
    assert motive.status == 201, await motive.text()
    motive_body = await motive.json()
    assert motive_body["documents"] == ["Numéro d'allocataire"]
    assert motive_body["reminder_offsets_minutes"] == [1440, 60]

    agent = await client.post(
        "/api/v1/agents",
        json={
            "partner_id": partner_body["id"],
            "name": "Isabelle Delmas",
            "email": "Isabelle.Delmas@caf.example",
            "timezone": "Europe/Paris",
        },
        headers=headers,
    )
    assert agent.status == 201
    agent_id = (await agent.json())["id"]
    rule = await client.post(
        f"/api/v1/agents/{agent_id}/rules",
        json={
            "weekdays": [3, 1],
            "start": "09:00",
            "end": "12:00",
            "every_weeks": 2,
            "anchor_date": "2026-03-02",
            "site_ids": [site_id],
            "motive_ids": [motive_body["id"]],
        },
        headers=headers,
    )
    assert rule.status == 201, await rule.text()
    rule_body = await rule.json()
    assert rule_body["weekdays"] == [1, 3]
    assert rule_body["site_ids"] == [site_id]
    absence = await client.post(
        f"/api/v1/agents/{agent_id}/absences",
        json={"start": "2026-04-06T07:00:00Z", "end": "2026-04-10T16:00:00Z"},
        headers=headers,
    )
    assert absence.status == 201
    assert (await absence.json())["start"] == "2026-04-06T09:00:00+02:00"

    partners = await (await client.get("/api/v1/partners", headers=headers)).json()
    assert partners == [
        {
            "id": partner_body["id"],
            "code": "CAF",
            "name": "CAF du Cantal",
            "motives": [
                {"id": motive_body["id"], "name": "Prime d'activité", "duration_minutes": 30}
            ],
            "active": True,
        }
    ]
    detail = await (await client.get(f"/api/v1/sites/{site_id}", headers=headers)).json()
    assert detail["stations"] == [{"id": station_id, "name": "Cabine visio", "active": True}]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Murat"}, "timezone"),  # no such zone
        ({"timezone": "CET"}, "timezone"),  # an abbreviation, not a place
        ({"holiday_calendar": "Zone A"}, "holiday_calendar"),  # school holidays, not public
        ({"holiday_calendar": "99"}, "holiday_calendar"),
        (
            {"opening_hours": [{"weekday": 8, "start": "09:00", "end": "12:00"}]},
            "opening_hours.0.weekday",
        ),
        (
            {"opening_hours": [{"weekday": 0, "start": "09:00", "end": "12:00"}]},
            "opening_hours.0.weekday",
        ),
        (
            {"opening_hours": [{"weekday": 1, "start": "12:00", "end": "09:00"}]},
            "opening_hours.0.end",
        ),
        (
            {"opening_hours": [{"weekday": 1, "start": "9h", "end": "12:00"}]},
            "opening_hours.0.start",
        ),
        (
            {
                "opening_hours": [
                    {"weekday": 1, "start": "09:00", "end": "12:00"},
                    {"weekday": 1, "start": "11:00", "end": "14:00"},
                ]
            },
            "opening_hours.1",
        ),
        ({"name": ""}, "name"),
        ({"email": "accueil-at-murat"}, "email"),
        ({"phone": "appelez-nous"}, "phone"),
    ],
)
async def test_bad_sites_are_refused_field_by_field(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    bearer: Any,
    change: dict[str, Any],
    field: str,
) -> None:
    headers = await admin_headers(create_user, bearer)
    before = await count(session, Site)
    response = await client.post("/api/v1/sites", json={**MURAT, **change}, headers=headers)
    assert response.status == 422, await response.text()
    fields = (await response.json())["error"]["fields"]
    assert field in fields, fields
    assert await count(session, Site) == before


async def test_overseas_sites_take_their_holiday_calendar(
    client: Any, create_user: Any, bearer: Any
) -> None:
    headers = await admin_headers(create_user, bearer)
    for name, zone, calendar in (
        ("France Services Saint-Benoît", "Indian/Reunion", "974"),
        ("France Services Sarreguemines", "Europe/Paris", "57"),
        ("France Services Maripasoula", "America/Cayenne", "973"),
    ):
        response = await client.post(
            "/api/v1/sites",
            json={
                "name": name,
                "commune": name.split()[-1],
                "timezone": zone,
                "holiday_calendar": calendar,
            },
            headers=headers,
        )
        assert response.status == 201, await response.text()
        assert (await response.json())["holiday_calendar"] == calendar


async def test_names_and_codes_are_unique(client: Any, create_user: Any, bearer: Any) -> None:
    headers = await admin_headers(create_user, bearer)
    assert (await client.post("/api/v1/sites", json=MURAT, headers=headers)).status == 201
    again = await client.post("/api/v1/sites", json=MURAT, headers=headers)
    assert again.status == 422
    assert (await again.json())["error"]["fields"] == {"name": "Déjà utilisé."}
    body = {"code": "CPAM", "name": "Assurance maladie"}
    assert (await client.post("/api/v1/partners", json=body, headers=headers)).status == 201
    assert (await client.post("/api/v1/partners", json=body, headers=headers)).status == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekdays": [], "start": "09:00", "end": "12:00"}, "weekdays"),
        ({"weekdays": [1, 8], "start": "09:00", "end": "12:00"}, "weekdays.1"),
        ({"weekdays": [1, 1], "start": "09:00", "end": "12:00"}, "weekdays"),
        ({"weekdays": [1], "start": "12:00", "end": "12:00"}, "end"),
        ({"weekdays": [1], "start": "09:00", "end": "12:00", "every_weeks": 0}, "every_weeks"),
        (
            {
                "weekdays": [1],
                "start": "09:00",
                "end": "12:00",
                "valid_from": "2026-05-01",
                "valid_until": "2026-04-01",
            },
            "valid_until",
        ),
        (
            {"weekdays": [1], "start": "09:00", "end": "12:00", "valid_from": "01/05/2026"},
            "valid_from",
        ),
        ({"weekdays": [1], "start": "09:00", "end": "12:00", "site_ids": [424242]}, "site_ids"),
        (
            {"weekdays": [1], "start": "09:00", "end": "12:00", "motive_ids": ["OTHER"]},
            "motive_ids",
        ),
    ],
)
async def test_bad_rules_are_refused_field_by_field(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    bearer: Any,
    create_agent: Any,
    create_partner: Any,
    body: dict[str, Any],
    field: str,
) -> None:
    headers = await admin_headers(create_user, bearer)
    agent = await create_agent()
    other = await create_partner("MSA", "MSA Auvergne")
    foreign = Motive(
        partner_id=other.id,
        name="Retraite agricole",
        duration_minutes=45,
        documents=[],
        reminder_offsets=[60],
    )
    session.add(foreign)
    await session.flush()
    if body.get("motive_ids") == ["OTHER"]:
        body = {**body, "motive_ids": [foreign.id]}
    before = await count(session, AvailabilityRule)
    response = await client.post(f"/api/v1/agents/{agent.id}/rules", json=body, headers=headers)
    assert response.status == 422, await response.text()
    assert field in (await response.json())["error"]["fields"]
    assert await count(session, AvailabilityRule) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/agents/{agent}/absences",
            {"start": "2026-04-10T09:00:00+02:00", "end": "2026-04-06T09:00:00+02:00"},
            "end",
        ),
        (
            "/api/v1/agents/{agent}/absences",
            {"start": "2026-04-06T09:00:00", "end": "2026-04-10T09:00:00+02:00"},
            "start",
        ),
        (
            "/api/v1/sites/{site}/closures",
            {"start": "demain", "end": "2026-04-10T09:00:00+02:00"},
            "start",
        ),
        (
            "/api/v1/partners/{partner}/motives",
            {"name": "Court", "duration_minutes": 2},
            "duration_minutes",
        ),
        (
            "/api/v1/partners/{partner}/motives",
            {"name": "Long", "duration_minutes": 30, "horizon_days": 0},
            "horizon_days",
        ),
        (
            "/api/v1/agents",
            {
                "partner_id": 424242,
                "name": "X",
                "email": "x@caf.example",
                "timezone": "Europe/Paris",
            },
            "partner_id",
        ),
        (
            "/api/v1/agents",
            {
                "partner_id": "{partner}",
                "name": "X",
                "email": "x@caf.example",
                "timezone": "Mars/Olympus",
            },
            "timezone",
        ),
    ],
)
async def test_other_bad_set_up_input(
    client: Any,
    create_user: Any,
    bearer: Any,
    create_agent: Any,
    create_site: Any,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    headers = await admin_headers(create_user, bearer)
    agent = await create_agent()
    site = await create_site()
    ids = {"agent": agent.id, "site": site.id, "partner": agent.partner_id}
    body = {k: (ids["partner"] if v == "{partner}" else v) for k, v in body.items()}
    response = await client.post(path.format(**ids), json=body, headers=headers)
    assert response.status == 422, await response.text()
    assert field in (await response.json())["error"]["fields"]


async def test_unknown_parents_are_404(client: Any, create_user: Any, bearer: Any) -> None:
    headers = await admin_headers(create_user, bearer)
    for path, body in (
        ("/api/v1/sites/424242/stations", {"name": "Cabine"}),
        ("/api/v1/partners/424242/motives", {"name": "M", "duration_minutes": 30}),
        ("/api/v1/agents/424242/rules", {"weekdays": [1], "start": "09:00", "end": "10:00"}),
        (
            "/api/v1/agents/424242/absences",
            {"start": "2026-04-06T09:00:00Z", "end": "2026-04-07T09:00:00Z"},
        ),
    ):
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 404, path


async def test_set_up_is_for_admins_and_lists_follow_scope(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    bearer: Any,
    create_site: Any,
) -> None:
    murat, massiac, _other = (
        await create_site("Murat"),
        await create_site("Massiac"),
        await create_site("Pélussin"),
    )
    desk = await create_user(Role.DESK, site_ids=[murat.id, massiac.id])
    headers = await bearer(desk)
    for path in ("/api/v1/sites", "/api/v1/partners", "/api/v1/agents"):
        response = await client.post(path, json={}, headers=headers)
        assert response.status == 403, path
    listed = await (await client.get("/api/v1/sites", headers=headers)).json()
    assert [site["name"] for site in listed] == ["Massiac", "Murat"]
    # API.md's shape, and whether the house is open
    assert set(listed[0]) == {"id", "name", "commune", "timezone", "active"}
    outside = await client.get(f"/api/v1/sites/{_other.id}", headers=headers)
    assert outside.status == 404


async def test_an_agent_sees_the_sites_they_serve(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    bearer: Any,
    create_site: Any,
    create_agent: Any,
) -> None:
    murat, _massiac = await create_site("Murat"), await create_site("Massiac")
    agent = await create_agent()
    rule = AvailabilityRule(
        agent_id=agent.id,
        weekdays=[1],
        start=time(9),
        end=time(12),
        every_weeks=1,
    )
    rule.sites = [murat]
    rule.motives = []
    session.add(rule)
    await session.flush()
    user = await create_user(Role.AGENT, agent_id=agent.id)
    listed = await (await client.get("/api/v1/sites", headers=await bearer(user))).json()
    assert [site["name"] for site in listed] == ["Murat"]
    assert await count(session, Agent) >= 1 and await count(session, Partner) >= 1


async def test_numbers_flags_and_times_are_what_the_document_says(
    client: Any, session: AsyncSession, create_user: Any, bearer: Any
) -> None:
    """A JSON body is read strictly: a number is a JSON number (`30` or `30.0`), never
    `false` nor `"30"`; a time of day has no offset; a time zone is a place of the IANA
    list; an address has no control character. Each refusal names its field, nothing is
    written."""
    headers = await admin_headers(create_user, bearer)
    partner = await client.post(
        "/api/v1/partners", json={"code": "CAF", "name": "CAF"}, headers=headers
    )
    partner_id = (await partner.json())["id"]
    motives = f"/api/v1/partners/{partner_id}/motives"
    before = await count(session, Motive)
    for refused in (False, "60", 60.5):
        answer = await client.post(
            motives,
            json={"name": "RSA", "duration_minutes": 30, "min_notice_minutes": refused},
            headers=headers,
        )
        assert answer.status == 422, refused
        assert set((await answer.json())["error"]["fields"]) == {"min_notice_minutes"}
    assert await count(session, Motive) == before
    whole = await client.post(
        motives, json={"name": "RSA", "duration_minutes": 30.0}, headers=headers
    )
    assert whole.status == 201, await whole.text()
    assert (await whole.json())["duration_minutes"] == 30

    site = {**MURAT, "opening_hours": [{"weekday": 1, "start": "09:00Z", "end": "12:00"}]}
    answer = await client.post("/api/v1/sites", json=site, headers=headers)
    assert answer.status == 422
    assert set((await answer.json())["error"]["fields"]) == {"opening_hours.0.start"}
    for zone in ("posix/Europe/Paris", "CET", ""):
        answer = await client.post(
            "/api/v1/sites", json={**MURAT, "timezone": zone}, headers=headers
        )
        assert answer.status == 422, zone
        assert set((await answer.json())["error"]["fields"]) == {"timezone"}
    answer = await client.post(
        "/api/v1/agents",
        json={"partner_id": partner_id, "name": "Claire Vidal", "email": "claire\x1f@caf.fr",
              "timezone": "Europe/Paris"},
        headers=headers,
    )  # fmt: skip
    assert answer.status == 422
    assert set((await answer.json())["error"]["fields"]) == {"email"}
    assert await count(session, Agent) == 0


async def test_names_fit_their_columns_and_text_holds_no_nul(
    client: Any, session: AsyncSession, create_user: Any, bearer: Any
) -> None:
    """A house's, a commune's and a station's names are kept in 120 characters, and no text
    holds NUL: both answered 500 on PostgreSQL; now each is refused with its field (in a
    body or a query), and nothing is written."""
    headers = await admin_headers(create_user, bearer)
    for changes in ({"name": "M" * 121}, {"commune": "M" * 121}, {"name": "Murat\x00"}):
        answer = await client.post("/api/v1/sites", json={**MURAT, **changes}, headers=headers)
        assert answer.status == 422, changes
        assert set((await answer.json())["error"]["fields"]) == set(changes)
    assert await count(session, Site) == 0
    site = await client.post("/api/v1/sites", json={**MURAT, "name": "M" * 120}, headers=headers)
    assert site.status == 201, await site.text()
    stations = f"/api/v1/sites/{(await site.json())['id']}/stations"
    for name in ("\x00\x1b0", "C" * 121):
        answer = await client.post(stations, json={"name": name}, headers=headers)
        assert answer.status == 422
        assert set((await answer.json())["error"]["fields"]) == {"name"}
    search = await client.get("/api/v1/sites", params={"q": "Mu\x00"}, headers=headers)
    assert search.status == 422
    assert set((await search.json())["error"]["fields"]) == {"q"}
