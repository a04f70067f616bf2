"""The agent's private calendar feed: a secret URL, revocable, one event per appointment."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import World, book
from visio.db.models import Agent


async def test_subscribe_read_and_revoke(client: Any, session: AsyncSession, world: World) -> None:
    booked = await book(client, world)
    moved = await (
        await client.post(
            f"/api/v1/appointments/{booked['id']}/reschedule",
            json={"start": "2026-03-16T11:00:00+01:00"},
            headers=world.headers,
        )
    ).json()
    created = await client.post("/api/v1/me/calendar-feed", headers=world.agent_headers)
    assert created.status == 201
    body = await created.json()
    assert body["url"].startswith("webcal://") and body["https_url"].startswith("http")
    path = "/" + body["https_url"].split("/", 3)[3]
    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    stored = await session.scalar(
        select(Agent.calendar_token_hash).where(Agent.id == world.agent.id)
    )
    assert stored is not None and token not in stored  # only the hash is kept

    feed = await client.get(path)  # no sign-in: the secret is the credential
    assert feed.status == 200
    assert feed.content_type == "text/calendar"
    calendar = Calendar.from_ical(await feed.text())
    assert calendar["method"] == "PUBLISH"
    events = calendar.walk("VEVENT")
    # The move shows once, under the invitations' UID, at its new time.
    assert len(events) == 1
    assert str(events[0]["uid"]).startswith(f"appointment-{booked['id']}@")
    assert int(events[0]["sequence"]) == 1
    assert f"/appointments/{moved['id']}/join/agent" in str(events[0]["url"])

    # A new URL revokes the old one; revoking stops them all.
    again = await (
        await client.post("/api/v1/me/calendar-feed", headers=world.agent_headers)
    ).json()
    assert (await client.get(path)).status == 404
    newer = "/" + again["https_url"].split("/", 3)[3]
    assert (await client.get(newer)).status == 200
    revoked = await client.delete("/api/v1/me/calendar-feed", headers=world.agent_headers)
    assert revoked.status == 204
    assert (await client.get(newer)).status == 404
    assert (await client.get("/calendar/visio_cal_guess.ics")).status == 404


async def test_only_agents_have_a_feed(client: Any, world: World) -> None:
    response = await client.post("/api/v1/me/calendar-feed", headers=world.headers)
    assert response.status == 403
