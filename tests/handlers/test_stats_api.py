"""The statistics API: visio sessions counted by status and desk requests counted, grouped,
within scope, as JSON or CSV; the desk's tally recorded and taken back; its themes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.handlers.conftest import World, book
from visio.db.models import Role
from visio.domain import AppointmentStatus
from visio.services import counters

STATS = "/api/v1/stats/sessions"


async def stats(client: Any, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
    response = await client.get(STATS, params=params, headers=headers)
    assert response.status == 200, await response.text()
    rows = list((await response.json())["rows"])
    for row in rows:
        assert row.pop("minutes") == 30 * (row["held"] + row["booked"] + row["no_show"])
    return rows


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
    assert await stats(client, world.headers, **{"from": "2027-01-01", "to": "2027-12-31"}) == [
        zero
    ]
    assert await stats(client, world.headers, group_by="month", **{"from": "2027-01-01"}) == []


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
    assert await stats(client, await bearer(theirs)) == [
        {"held": 0, "no_show": 0, "agent_absent": 0, "cancelled": 0, "booked": 0}
    ]
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
    status = AppointmentStatus.BOOKED
    assert counters._key(1, 2, 3, 4, moment, "Indian/Reunion", status).day.isoformat() == (
        "2026-03-17"
    )
    assert counters._key(1, 2, 3, 4, moment, "Europe/Paris", status).day.isoformat() == (
        "2026-03-16"
    )


async def test_sessions_as_csv_for_excel_in_french(client: Any, world: World, clock: Any) -> None:
    await three_appointments(client, world, clock)
    response = await client.get(
        STATS, params={"group_by": "month,site", "format": "csv", "sep": "semicolon"},
        headers={**world.headers, "Accept-Language": "fr"},
    )  # fmt: skip
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs
    lines = body.decode("utf-8-sig").splitlines()
    assert lines == [
        "month;site_id;site_name;held;no_show;agent_absent;cancelled;booked;minutes",
        f"2026-03;{world.site.id};France Services Murat;1;0;0;1;1;60",
    ]


# ---------------------------------------------------------------- the desk's tally

TALLY = "/api/v1/desk-requests"
DESK_STATS = "/api/v1/stats/desk-requests"


async def theme_ids(client: Any, headers: dict[str, str]) -> dict[str, int]:
    response = await client.get("/api/v1/request-themes", headers=headers)
    assert response.status == 200
    return {theme["code"]: theme["id"] for theme in await response.json()}


async def test_the_desk_counts_requests_and_reads_them_grouped(
    client: Any, world: World, clock: Any
) -> None:
    themes = await theme_ids(client, world.headers)
    assert list(themes) == ["employment", "justice", "health", "budget", "family", "housing"]
    clock.now = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)  # a Tuesday
    entries = [
        {"partner_id": world.agent.partner_id, "theme_id": themes["family"],
         "channel": "in_person", "accompanied": True, "new_person": True},
        {"partner_id": world.agent.partner_id, "theme_id": themes["family"], "channel": "phone"},
        {"theme_id": themes["budget"], "channel": "email", "accompanied": True},
    ]  # fmt: skip
    for entry in entries:
        response = await client.post(
            TALLY, json={"site_id": world.site.id, **entry}, headers=world.headers
        )
        assert response.status == 201, await response.text()
    recorded = await response.json()
    assert recorded["channel"] == "email" and recorded["day"] == "2026-03-17"
    assert "citizen" not in recorded and "name" not in recorded
    response = await client.get(
        DESK_STATS, params={"group_by": "partner,channel", "from": "2026-03-16",
                            "to": "2026-03-20"},
        headers=world.headers,
    )  # fmt: skip
    rows = (await response.json())["rows"]
    # Murat opens Monday to Friday: five opening days that week.
    assert [(row.get("partner_id"), row["channel"], row["count"]) for row in rows] == [
        (None, "email", 1), (world.agent.partner_id, "in_person", 1),
        (world.agent.partner_id, "phone", 1),
    ]  # fmt: skip
    everything = (await (await client.get(
        DESK_STATS, params={"from": "2026-03-16", "to": "2026-03-20"}, headers=world.headers
    )).json())["rows"]  # fmt: skip
    assert everything == [
        {"count": 3, "accompanied": 2, "new_people": 1, "people_accompanied": 1,
         "opening_days": 5, "per_opening_day": 0.6},
    ]  # fmt: skip
    by_theme = (await (await client.get(
        DESK_STATS, params={"group_by": "theme", "from": "2026-03-16"},
        headers={**world.headers, "Accept-Language": "en"},
    )).json())["rows"]  # fmt: skip
    assert [(row["theme_name"], row["count"]) for row in by_theme] == [
        ("Budget, taxes", 1),
        ("Civil status, family", 2),
    ]
    # Taken back the same day: the counts go down with it.
    taken = await client.delete(f"{TALLY}/{recorded['id']}", headers=world.headers)
    assert taken.status == 204
    again = (await (await client.get(DESK_STATS, headers=world.headers)).json())["rows"]
    assert again[0]["count"] == 2


async def test_the_tally_refuses_bad_entries_by_field_and_other_houses(
    client: Any, world: World, create_site: Any, create_user: Any, bearer: Any
) -> None:
    themes = await theme_ids(client, world.headers)
    for body, fields in (
        ({"site_id": world.site.id, "theme_id": 999_999, "partner_id": 999_999,
          "channel": "phone"}, {"theme_id", "partner_id"}),
        ({"site_id": world.site.id, "theme_id": themes["health"], "channel": "fax"},
         {"channel"}),
        ({"site_id": world.site.id, "channel": "phone"}, {"theme_id"}),
        ({"site_id": world.site.id, "theme_id": themes["health"], "channel": "phone",
          "name": "Monique Vidal"}, {"name"}),
    ):  # fmt: skip
        response = await client.post(TALLY, json=body, headers=world.headers)
        assert response.status == 422, await response.text()
        assert set((await response.json())["error"]["fields"]) == fields
    elsewhere = await create_site("France Services Massiac")
    response = await client.post(
        TALLY, json={"site_id": elsewhere.id, "theme_id": themes["health"], "channel": "phone"},
        headers=world.headers,
    )  # fmt: skip
    assert response.status == 404
    coordinator = await create_user(Role.COORDINATOR, site_ids=[world.site.id])
    response = await client.post(
        TALLY, json={"site_id": world.site.id, "theme_id": themes["health"], "channel": "phone"},
        headers=await bearer(coordinator),
    )  # fmt: skip
    assert response.status == 403
    # Nothing was counted.
    rows = (await (await client.get(DESK_STATS, headers=world.headers)).json())["rows"]
    assert [row["count"] for row in rows] == [0]
    assert (await client.get(DESK_STATS, params={"group_by": "motive"},
                             headers=world.headers)).status == 422  # fmt: skip
    assert (await client.get(DESK_STATS, headers=world.agent_headers)).status == 403


async def test_admins_add_and_retire_themes(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    admin = await bearer(await create_user(Role.ADMIN))
    response = await client.post(
        "/api/v1/request-themes",
        json={"code": "digital", "name": "Numérique", "name_en": "Digital"}, headers=admin,
    )  # fmt: skip
    assert response.status == 201
    theme = await response.json()
    assert (theme["position"], theme["active"]) == (7, True)
    again = await client.post(
        "/api/v1/request-themes", json={"code": "digital", "name": "X", "name_en": "X"},
        headers=admin,
    )  # fmt: skip
    assert again.status == 422
    retired = await client.patch(
        f"/api/v1/request-themes/{theme['id']}", json={"active": False}, headers=admin
    )
    assert (await retired.json())["active"] is False
    refused = await client.patch(
        f"/api/v1/request-themes/{theme['id']}", json={"active": True}, headers=world.headers
    )
    assert refused.status == 403


async def test_the_network_cross_tab_one_row_per_house(
    client: Any, world: World, clock: Any, create_user: Any, bearer: Any
) -> None:
    await three_appointments(client, world, clock)
    admin = await bearer(await create_user(Role.ADMIN))
    crosstab = "/api/v1/stats/sessions/crosstab"
    response = await client.get(crosstab, params={"year": "2026"}, headers=admin)
    assert response.status == 200, await response.text()
    document = await response.json()
    assert document == {
        "year": 2026, "status": "held",
        "rows": [{"site_id": world.site.id, "site_name": "France Services Murat",
                  "months": [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0], "total": 1}],
    }  # fmt: skip
    # the same from the daily counters (a house's desk, a partner), and as CSV
    booked = await client.get(
        crosstab, params={"year": "2026", "status": "booked",
                          "partner_id": str(world.agent.partner_id)},
        headers=world.headers,
    )  # fmt: skip
    assert (await booked.json())["rows"][0]["months"][2] == 1
    csv = await client.get(
        crosstab, params={"year": "2026", "format": "csv", "sep": "semicolon"}, headers=admin
    )
    lines = (await csv.read()).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("site_id;site_name;2026-01;2026-02;2026-03;")
    assert lines[1] == f"{world.site.id};France Services Murat;0;0;1;0;0;0;0;0;0;0;0;0;1"
    for params, field in (({"year": "1999"}, "year"), ({"year": "2026", "status": "x"}, "status"),
                          ({}, "year")):  # fmt: skip
        refused = await client.get(crosstab, params=params, headers=admin)
        assert refused.status == 422
        assert field in (await refused.json())["error"]["fields"]
    assert (await client.get(crosstab, params={"year": "2026"},
                             headers=world.agent_headers)).status == 403  # fmt: skip


async def test_a_request_kind_longer_than_its_column_is_refused(client: Any, world: World) -> None:
    """A kind is kept in 80 characters: a longer one is refused with its field (PostgreSQL
    answered 500 for 81 to 120), and one of 80 is recorded."""
    body = {"site_id": world.site.id, "channel": "email"}
    refused = await client.post(TALLY, json={**body, "kind": "x" * 81}, headers=world.headers)
    assert refused.status == 422
    assert set((await refused.json())["error"]["fields"]) == {"kind"}
    kept = await client.post(TALLY, json={**body, "kind": "x" * 80}, headers=world.headers)
    assert kept.status == 201, await kept.text()
