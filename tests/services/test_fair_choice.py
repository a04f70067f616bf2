"""The agent a booking chooses when the desk names none: among those free at that time,
the one with the fewest appointments in the house's calendar week, then the smallest id.

Promised: a booking without an agent never goes to a busier agent when a less loaded one is
free; over a thousand bookings among equal agents each gets a fair share (within 10 % of
even); the agent named by the desk is always the one booked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import (
    JEAN,
    LINKS,
    TUESDAY,
    House,
    add_permanence,
    book,
    paris,
)
from visio.db.models import Agent, Motive, Partner, Role, Site, User
from visio.services import accounts, booking
from visio.services.booking import BookingRequest
from visio.services.citizens import CitizenDetails
from visio.services.errors import SlotUnavailable

PARIS = ZoneInfo("Europe/Paris")


async def test_the_least_loaded_agent_that_week_is_chosen(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Isabelle Delmas (the smaller id) already holds Tuesday 9:00; at 10:00 both are free:
    Thomas Bonnet gets it. At 11:00 they hold one each: the smaller id, Isabelle."""
    await book(session, house, clock, agent=house.agent, start=paris(9))
    chosen = await book(session, house, clock, start=paris(10), citizen=JEAN)
    assert chosen.agent_id == house.colleague.id
    third = await book(
        session, house, clock, start=paris(11),
        citizen=CitizenDetails(first_name="Paul", last_name="Ternes"),
    )  # fmt: skip
    assert third.agent_id == house.agent.id


async def test_a_week_later_the_count_starts_again(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Loads are counted in the week of the start: last week's appointments do not weigh on
    this week's choice."""
    await book(session, house, clock, agent=house.agent, start=paris(9))
    await book(session, house, clock, agent=house.agent, start=paris(10), citizen=JEAN)
    next_tuesday = TUESDAY + timedelta(days=7)
    chosen = await book(
        session, house, clock, start=paris(10, day=next_tuesday),
        citizen=CitizenDetails(first_name="Paul", last_name="Ternes"),
    )  # fmt: skip
    assert chosen.agent_id == house.agent.id  # equal this week: the smaller id


async def test_the_agent_named_is_the_one_booked(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, agent=house.agent, start=paris(9))
    named = await book(session, house, clock, agent=house.agent, start=paris(10), citizen=JEAN)
    assert named.agent_id == house.agent.id


async def test_a_thousand_bookings_share_equal_agents_evenly(
    session: AsyncSession,
    clock: Clock,
    create_site: Callable[..., Awaitable[Site]],
    create_partner: Callable[..., Awaitable[Partner]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_user: Callable[..., Awaitable[User]],
) -> None:
    """Four agents with the same hours, a house open 8:00-20:00 six days a week with two
    stations; the desk books two citizens at each half hour, never naming an agent, until a
    thousand are booked (across the change to summer time and Easter Monday, when the house
    is closed). Each agent gets 250 within 10 %."""
    site = await create_site(
        "France Services Allanche", stations=2, hours=((time(8), time(20)),),
        weekdays=(1, 2, 3, 4, 5, 6),
    )  # fmt: skip
    partner = await create_partner()
    motive = Motive(
        partner_id=partner.id, name="Prime d'activité", duration_minutes=30,
        min_notice_minutes=0, horizon_days=365, documents=[], reminder_offsets=[],
    )  # fmt: skip
    session.add(motive)
    agents = [
        await create_agent(partner, name=f"Agent {number}", email=f"agent{number}@caf.example")
        for number in range(4)
    ]
    for agent in agents:
        await add_permanence(
            session, agent, weekdays=[1, 2, 3, 4, 5, 6], start=time(8), end=time(20),
            sites=[site],
        )  # fmt: skip
    desk = accounts.actor_of(await create_user(Role.DESK, name="Desk", site_ids=[site.id]))
    await session.flush()

    booked: Counter[int] = Counter()
    day = date(2026, 3, 23)  # the Monday after the clock's
    number = 0
    while sum(booked.values()) < 1000:
        if day.isoweekday() <= 6:
            for half_hours in range(24):
                start = datetime.combine(day, time(8), PARIS) + timedelta(minutes=30 * half_hours)
                for _twice in range(2):
                    number += 1
                    citizen = CitizenDetails(first_name="Usager", last_name=f"N{number}")
                    try:
                        view = await booking.book(
                            session, desk,
                            BookingRequest(site_id=site.id, motive_id=motive.id, start=start,
                                           citizen=citizen),
                            now=clock(), links=LINKS,
                        )  # fmt: skip
                    except SlotUnavailable:
                        continue  # a holiday
                    booked[view.agent_id] += 1
                    if sum(booked.values()) == 1000:
                        break
                if sum(booked.values()) == 1000:
                    break
        day += timedelta(days=1)

    assert set(booked) == {agent.id for agent in agents}
    for agent in agents:
        assert 225 <= booked[agent.id] <= 275, booked
