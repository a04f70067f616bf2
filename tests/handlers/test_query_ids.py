"""Ids in a query or a form that name nothing: a clear 404 or 422, never a 500.

An unknown id within the range of ids is not found (404), or filters down to nothing;
one no record can have (beyond 2³¹−1, which PostgreSQL refuses in a query) is an invalid
field in the API (422, the field named) and not found on the pages; text is malformed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, sign_in
from visio.db.models import Role

UNKNOWN = "999999"
BEYOND = str(2**31)  # one more than the largest id


async def _as_admin(create_user: Any, bearer: Any) -> dict[str, str]:
    return dict(await bearer(await create_user(Role.ADMIN)))


@pytest.mark.parametrize("who", ["desk", "admin"])
async def test_the_first_slots_of_an_unknown_house_are_not_found(
    client: Any, world: World, create_user: Any, bearer: Any, who: str
) -> None:
    """As the slots of an unknown house are (`/api/v1/slots`), in the error format."""
    headers = world.headers if who == "desk" else await _as_admin(create_user, bearer)
    motive = str(world.motive.id)
    days = {"from": "2026-03-16", "to": "2026-03-16"}
    for site_id in (UNKNOWN, "2147483647"):
        first = await client.get(
            "/api/v1/slots/first", params={"motive_id": motive, "site_id": site_id},
            headers=headers,
        )  # fmt: skip
        slots = await client.get(
            "/api/v1/slots", params={"motive_id": motive, "site_id": site_id, **days},
            headers=headers,
        )  # fmt: skip
        assert first.status == slots.status == 404
        assert (await first.json())["error"]["code"] == (await slots.json())["error"]["code"]
        assert (await first.json())["error"]["code"] == "not_found"
    beyond = await client.get(
        "/api/v1/slots/first", params={"motive_id": motive, "site_id": BEYOND}, headers=headers
    )
    assert beyond.status == 422
    assert set((await beyond.json())["error"]["fields"]) == {"site_id"}
    unknown_motive = await client.get(
        "/api/v1/slots/first", params={"motive_id": UNKNOWN, "site_id": str(world.site.id)},
        headers=headers,
    )  # fmt: skip
    assert unknown_motive.status == 404


# The API's GET endpoints filtering by ids: a query that works, then each id replaced.
FILTERS: dict[str, dict[str, str]] = {
    "/api/v1/slots": {
        "site_id": "{site}",
        "motive_id": "{motive}",
        "agent_id": "{agent}",
        "from": "2026-03-16",
        "to": "2026-03-16",
    },
    "/api/v1/slots/first": {"site_id": "{site}", "motive_id": "{motive}"},
    "/api/v1/appointments": {"site_id": "{site}", "agent_id": "{agent}"},
    "/api/v1/agents": {"site_id": "{site}", "partner_id": "{partner}"},
    "/api/v1/users": {"site_id": "{site}"},
    "/api/v1/audit": {"user_id": "{user}", "entity_id": "1"},
    "/api/v1/stats/sessions": {"site_id": "{site}", "partner_id": "{partner}"},
    "/api/v1/stats/sessions/crosstab": {"year": "2026", "partner_id": "{partner}"},
    "/api/v1/stats/desk-requests": {"site_id": "{site}", "partner_id": "{partner}"},
}


@pytest.mark.parametrize("path", FILTERS)
async def test_an_unknown_id_in_a_filter_is_answered_clearly(
    client: Any, world: World, create_user: Any, bearer: Any, path: str
) -> None:
    admin = await create_user(Role.ADMIN)
    headers = await bearer(admin)
    await book(client, world)
    known = {
        "site": world.site.id, "motive": world.motive.id, "agent": world.agent.id,
        "partner": world.agent.partner_id, "user": admin.id,
    }  # fmt: skip
    query = {name: value.format(**known) for name, value in FILTERS[path].items()}
    works = await client.get(path, params=query, headers=headers)
    assert works.status == 200, await works.text()
    for name in [name for name in query if name.endswith("_id")]:
        for value, expected in ((UNKNOWN, {200, 404}), (BEYOND, {422}), ("x", {422})):
            response = await client.get(path, params={**query, name: value}, headers=headers)
            assert response.status in expected, (name, value, await response.text())
            if response.status >= 400:
                error = (await response.json())["error"]
                assert error["message"]
                if response.status == 422:
                    assert set(error["fields"]) == {name}


async def test_the_booking_screens_refuse_ids_no_record_can_have(
    client: Any, world: World, create_user: Any
) -> None:
    """An id past the largest one is not found, as an unknown one is; text is malformed."""
    desk = await create_user(
        Role.DESK, email="accueil@visio.example", site_ids=[world.site.id], password=PASSWORD
    )
    assert (await sign_in(client, desk.email, PASSWORD)).status == 303
    ids = {"site_id": str(world.site.id), "motive_id": str(world.motive.id)}
    start = "2026-03-16T10:00:00+01:00"
    citizen = {"first_name": "Monique", "last_name": "Chassang"}

    async def status(path: str, query: dict[str, str]) -> int:
        response = await client.get(f"{path}?{urlencode(query)}")
        assert "text/html" in response.headers["Content-Type"]
        return int(response.status)

    summary = "/desk/book/summary"
    for value, expected in ((UNKNOWN, 404), (BEYOND, 404), ("x", 400)):
        for name in ids:
            assert await status("/desk/book/slots", {**ids, name: value}) == expected
            typed = {**ids, name: value, "slot": f"{start}||", **citizen}
            assert await status(summary, typed) == expected
        picked = {**ids, "slot": f"{start}||", "citizen_id": value}
        assert await status(summary, picked) == expected
    # An agent or a station no record has: the time cannot be booked with them.
    for name, slot in (("agent", f"{start}|{BEYOND}|"), ("station", f"{start}||{BEYOND}")):
        assert await status(summary, {**ids, "slot": slot, **citizen}) == 404, name
        assert await status(summary, {**ids, "slot": slot.replace(BEYOND, "x"), **citizen}) == 400
    assert await status(summary, {**ids, "slot": f"{start}||", **citizen}) == 200
