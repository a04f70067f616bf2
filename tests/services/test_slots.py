"""Slot search, straight through `visio.services.slots`.

Promised: the desk is offered every free (start, agent) of its house for a motive, none
that a booking holds; an empty answer says why in terms the desk can act on; the first
free slot of each house comes soonest first; another house's slots do not exist for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import TUESDAY, House, add_permanence, book, paris
from visio.db.models import Site
from visio.services import slots
from visio.services.errors import NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.slots import SlotSearch

HALF_HOURS = [paris(9), paris(9, 30), paris(10), paris(10, 30), paris(11), paris(11, 30)]


async def search(
    session: AsyncSession,
    actor: Actor,
    house: House,
    clock: Clock,
    *,
    site: Site | None = None,
    first_day: date = TUESDAY,
    last_day: date = TUESDAY,
) -> SlotSearch:
    return await slots.search_slots(
        session, actor, site_id=(site or house.site).id, motive_id=house.motive.id,
        first_day=first_day, last_day=last_day, now=clock(),
    )  # fmt: skip


def starts(found: SlotSearch, agent_id: int) -> list[datetime]:
    return [slot.start for slot in found.slots if slot.agent_id == agent_id]


async def test_each_free_half_hour_of_each_agent_is_offered(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    found = await search(session, house.desk, house, clock)

    assert (found.site_id, found.site_name, found.timezone) == (
        house.site.id,
        "France Services Murat",
        "Europe/Paris",
    )
    assert (found.reason_code, found.reason) == (None, None)
    assert starts(found, house.agent.id) == HALF_HOURS
    assert starts(found, house.colleague.id) == HALF_HOURS
    assert all(slot.start.utcoffset() is not None for slot in found.slots)
    assert {slot.station_id for slot in found.slots} <= {s.id for s in house.stations}


async def test_a_booking_takes_its_time_and_buffer_out_of_the_offer(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, agent=house.agent)

    found = await search(session, house.desk, house, clock)

    # Isabelle Delmas is busy 10:00–10:40; 9:30 would keep her until 10:10, its own ten
    # minutes after: 9:30, 10:00 and 10:30 are gone for her, not for her colleague.
    assert starts(found, house.agent.id) == [paris(9), paris(11), paris(11, 30)]
    assert starts(found, house.colleague.id) == HALF_HOURS


async def test_nothing_within_the_notice(session: AsyncSession, house: House, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 17, 8, 30, tzinfo=UTC)  # 09:30 in Murat, an hour's notice

    found = await search(session, house.desk, house, clock)

    assert starts(found, house.agent.id) == [paris(10, 30), paris(11), paris(11, 30)]


async def test_an_empty_search_says_why(
    session: AsyncSession,
    house: House,
    clock: Clock,
    create_site: Callable[..., Awaitable[Site]],
) -> None:
    bare = await create_site("France Services Neussargues", stations=0)
    closed = await create_site("France Services Allanche", weekdays=())
    await add_permanence(
        session, house.agent, weekdays=[3], start=time(9), end=time(12), sites=[bare, closed]
    )

    reasons = [
        (await search(session, house.admin, house, clock, site=site)).reason_code
        for site in (bare, house.elsewhere, closed)
    ]
    monday = date(2026, 3, 16)
    quiet = await search(session, house.desk, house, clock, first_day=monday, last_day=monday)

    assert reasons == ["no_station", "no_agent", "no_opening_hours"]
    assert (quiet.slots, quiet.reason_code) == ([], "all_taken")
    assert quiet.reason is not None and str(quiet.reason)


async def test_another_house_slots_do_not_exist_for_a_desk(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    with pytest.raises(NotFound):
        await search(session, house.other_desk, house, clock)
    for refused in (house.agent_actor, house.coordinator):
        with pytest.raises(NotAllowed):
            await search(session, refused, house, clock)
    with pytest.raises(NotFound):
        await slots.search_slots(
            session, house.desk, site_id=house.site.id, motive_id=999_999,
            first_day=TUESDAY, last_day=TUESDAY, now=clock(),
        )  # fmt: skip


async def test_the_first_free_slot_of_each_house(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    murat = await slots.first_slots(session, house.desk, motive_id=house.motive.id, now=clock())
    every = await slots.first_slots(session, house.admin, motive_id=house.motive.id, now=clock())

    assert [(found.site_id, [s.start for s in found.slots]) for found in murat] == [
        (house.site.id, [paris(9)])
    ]
    # Massiac, with nobody serving it, comes last and says so.
    assert [(found.site_id, found.reason_code) for found in every] == [
        (house.site.id, None),
        (house.elsewhere.id, "no_agent"),
    ]
    with pytest.raises(NotFound):
        await slots.first_slots(
            session, house.desk, motive_id=house.motive.id, now=clock(),
            site_id=house.elsewhere.id,
        )  # fmt: skip
