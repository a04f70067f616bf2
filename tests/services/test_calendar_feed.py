"""Agents' private calendar feeds, straight through `visio.services.calendar_feed`.

Promised: an agent makes a secret for their own feed (a new one revokes the old, and they
can revoke it outright); the feed holds their appointments only, each under the UID of its
email invitations, a moved one once, a cancelled one marked so; an unknown secret is
`NotFound`.
"""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import JEAN, LINKS, House, book, paris
from visio.services import booking, calendar_feed, transitions
from visio.services.errors import NotAllowed, NotFound


def events(feed: str) -> dict[str, Any]:
    """The feed's events by UID."""
    return {str(event["uid"]): event for event in Calendar.from_ical(feed).walk("VEVENT")}


def uid(appointment_id: int) -> str:
    return f"appointment-{appointment_id}@visio.example"


async def test_the_feed_holds_the_agent_own_appointments(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    own = await book(session, house, clock, agent=house.agent)
    cancelled = await book(session, house, clock, agent=house.agent, start=paris(11), citizen=JEAN)
    await book(session, house, clock, agent=house.colleague, citizen=JEAN, start=paris(9))
    await transitions.cancel(session, house.desk, cancelled.id, reason="", now=clock(), links=LINKS)
    secret = await calendar_feed.new_feed_token(session, house.agent_actor, now=clock())

    feed = await calendar_feed.feed(session, secret, links=LINKS, now=clock())

    found = events(feed)
    assert set(found) == {uid(own.id), uid(cancelled.id)}
    assert str(found[uid(own.id)]["status"]) == "CONFIRMED"
    assert found[uid(own.id)].decoded("dtstart") == own.start
    assert str(found[uid(cancelled.id)]["status"]) == "CANCELLED"
    assert int(found[uid(cancelled.id)]["sequence"]) == 1
    assert "Chassang" not in feed and "Rigal" not in feed  # no citizen in anybody's calendar


async def test_a_moved_appointment_shows_once_under_its_first_uid(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)
    new = await booking.reschedule(
        session, house.desk, old.id, start=paris(11), agent_id=None, station_id=None,
        now=clock(), links=LINKS,
    )  # fmt: skip
    secret = await calendar_feed.new_feed_token(session, house.agent_actor, now=clock())

    found = events(await calendar_feed.feed(session, secret, links=LINKS, now=clock()))

    assert list(found) == [uid(old.id)]
    event = found[uid(old.id)]
    assert (event.decoded("dtstart"), int(event["sequence"])) == (new.start, 1)
    assert str(event["status"]) == "CONFIRMED"


async def test_a_new_secret_revokes_the_old_and_revoking_closes_the_feed(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await calendar_feed.new_feed_token(session, house.agent_actor, now=clock())
    second = await calendar_feed.new_feed_token(session, house.agent_actor, now=clock())

    assert first.startswith("visio_cal_") and first != second
    with pytest.raises(NotFound):
        await calendar_feed.feed(session, first, links=LINKS, now=clock())
    assert "BEGIN:VCALENDAR" in await calendar_feed.feed(session, second, links=LINKS, now=clock())

    await calendar_feed.revoke_feed(session, house.agent_actor, now=clock())
    for secret in (second, "visio_cal_unknown", "not-a-feed-secret"):
        with pytest.raises(NotFound):
            await calendar_feed.feed(session, secret, links=LINKS, now=clock())


@pytest.mark.parametrize("who", ["desk", "coordinator", "admin"])
async def test_feeds_are_for_agents_themselves(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    with pytest.raises(NotAllowed):
        await calendar_feed.new_feed_token(session, getattr(house, who), now=clock())
    with pytest.raises(NotAllowed):
        await calendar_feed.revoke_feed(session, getattr(house, who), now=clock())
