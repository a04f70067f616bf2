"""The desk's day, the agent's agenda and the printed confirmation, straight through
`visio.services.agenda`.

Promised: a desk sees today's appointments of each of its houses, each house on its own
calendar day (a house overseas may already be on tomorrow), cancelled ones included; a
partner agent sees their own appointments over whole days of their own zone; the
printed confirmation is for the booking house's desk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
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
from visio.db.models import Agent, Partner, Role, Site, User
from visio.domain import AppointmentStatus
from visio.services import accounts, agenda, transitions
from visio.services.errors import NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.records import AppointmentView

REUNION = ZoneInfo("Indian/Reunion")
MONDAY = date(2026, 3, 16)
WEDNESDAY = date(2026, 3, 18)

CreateSite = Callable[..., Awaitable[Site]]
CreateAgent = Callable[..., Awaitable[Agent]]
CreateUser = Callable[..., Awaitable[User]]


def ids(views: tuple[AppointmentView, ...]) -> list[int]:
    return [view.id for view in views]


# ---------------------------------------------------------------- the desk's day


async def test_each_house_is_on_its_own_calendar_day(
    session: AsyncSession,
    house: House,
    clock: Clock,
    create_site: CreateSite,
    create_agent: CreateAgent,
    create_user: CreateUser,
) -> None:
    """At 21:00 UTC on Tuesday, Murat is still on Tuesday evening and Saint-Denis de La
    Réunion already on Wednesday, one o'clock in the morning."""
    saint_denis = await create_site(
        "France Services Saint-Denis", timezone="Indian/Reunion", holiday_calendar="974"
    )
    partner = await session.get_one(Partner, house.partner.id)
    local = await create_agent(partner, name="Sarah Hoarau", timezone="Indian/Reunion")
    await add_permanence(
        session, local, weekdays=[2, 3], start=time(8), end=time(12), sites=[saint_denis]
    )
    desk = accounts.actor_of(await create_user(Role.DESK, site_ids=[house.site.id, saint_denis.id]))
    murat = await book(session, house, clock, agent=house.agent, actor=desk)
    tuesday_there = await book(
        session, house, clock, site=saint_denis, actor=desk, citizen=JEAN,
        start=datetime.combine(TUESDAY, time(9), REUNION),
    )  # fmt: skip
    wednesday_there = await book(
        session, house, clock, site=saint_denis, actor=desk,
        start=datetime.combine(WEDNESDAY, time(9), REUNION),
    )  # fmt: skip

    clock.now = datetime(2026, 3, 17, 21, 0, tzinfo=UTC)
    days = await agenda.desk_day(session, desk, now=clock())

    assert [(day.site_name, day.timezone, day.day, ids(day.appointments)) for day in days] == [
        ("France Services Murat", "Europe/Paris", TUESDAY, [murat.id]),
        ("France Services Saint-Denis", "Indian/Reunion", WEDNESDAY, [wednesday_there.id]),
    ]
    clock.now = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    days = await agenda.desk_day(session, desk, now=clock())
    assert [(day.day, ids(day.appointments)) for day in days] == [
        (TUESDAY, [murat.id]),
        (TUESDAY, [tuesday_there.id]),
    ]


async def test_a_desk_sees_each_of_its_houses_even_a_quiet_one(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    other = await book(session, house, clock, agent=house.colleague, citizen=JEAN)
    await transitions.cancel(session, house.desk, other.id, reason="", now=clock(), links=LINKS)
    clock.now = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)

    murat = await agenda.desk_day(session, house.desk, now=clock())
    massiac = await agenda.desk_day(session, house.other_desk, now=clock())
    admin = await agenda.desk_day(session, house.admin, now=clock())

    assert [(day.site_id, ids(day.appointments)) for day in murat] == [
        (house.site.id, [view.id, other.id])
    ]
    # The cancelled one stays listed, with its status.
    assert [a.status for a in murat[0].appointments] == [
        AppointmentStatus.BOOKED,
        AppointmentStatus.CANCELLED,
    ]
    assert [(day.site_id, day.day, day.appointments) for day in massiac] == [
        (house.elsewhere.id, TUESDAY, ())
    ]
    # Administrators are shown the houses that have something today.
    assert [day.site_id for day in admin] == [house.site.id]


async def test_yesterday_and_tomorrow_are_not_today(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, agent=house.agent)

    for now in (
        datetime(2026, 3, 16, 22, 59, tzinfo=UTC),
        datetime(2026, 3, 17, 23, 0, tzinfo=UTC),
    ):
        clock.now = now
        (day,) = await agenda.desk_day(session, house.desk, now=clock())
        assert day.appointments == (), now


@pytest.mark.parametrize("who", ["agent_actor", "coordinator"])
async def test_the_desk_day_is_for_desks(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    with pytest.raises(NotAllowed):
        await agenda.desk_day(session, getattr(house, who), now=clock())


# ---------------------------------------------------------------- the agent's agenda


async def test_an_agent_agenda_is_in_whole_days_of_their_own_zone(
    session: AsyncSession,
    house: House,
    clock: Clock,
    create_agent: CreateAgent,
    create_user: CreateUser,
) -> None:
    """Sarah Hoarau serves Murat from La Réunion (her 12:00–18:00 is Murat's 9:00–15:00).
    At 21:30 UTC on Monday it is already Tuesday for her: Monday's appointment is behind
    her agenda, while Isabelle Delmas, in Paris, still sees her Monday."""
    partner = await session.get_one(Partner, house.partner.id)
    sarah = await create_agent(partner, name="Sarah Hoarau", timezone="Indian/Reunion")
    await add_permanence(
        session, sarah, weekdays=[1, 2], start=time(12), end=time(18), sites=[house.site]
    )
    sarah_actor = accounts.actor_of(await create_user(Role.AGENT, agent_id=sarah.id))
    await add_permanence(
        session, house.agent, weekdays=[1], start=time(14), end=time(16), sites=[house.site]
    )
    monday = await book(session, house, clock, agent=sarah, start=paris(14, day=MONDAY))
    tuesday = await book(session, house, clock, agent=sarah, citizen=JEAN)
    isabelle = await book(session, house, clock, agent=house.agent, start=paris(14, day=MONDAY),
                          citizen=JEAN)  # fmt: skip

    clock.now = datetime(2026, 3, 16, 21, 30, tzinfo=UTC)
    hers = await agenda.agent_agenda(session, sarah_actor, now=clock())
    paris_agenda = await agenda.agent_agenda(session, house.agent_actor, now=clock())

    assert (hers.agent_id, hers.timezone, hers.first_day, hers.last_day) == (
        sarah.id,
        "Indian/Reunion",
        TUESDAY,
        date(2026, 3, 24),
    )
    assert ids(hers.appointments) == [tuesday.id]
    assert monday.id not in ids(hers.appointments)
    assert (paris_agenda.first_day, ids(paris_agenda.appointments)) == (MONDAY, [isabelle.id])


async def test_an_agent_agenda_stops_after_its_days(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    tuesday = await book(session, house, clock, agent=house.agent)
    next_week = await book(
        session, house, clock, agent=house.agent, start=paris(10, day=date(2026, 3, 24)),
        citizen=JEAN,
    )  # fmt: skip

    one_day = await agenda.agent_agenda(session, house.agent_actor, now=clock(), days=1)
    week = await agenda.agent_agenda(session, house.agent_actor, now=clock(), days=8)

    assert (one_day.last_day, ids(one_day.appointments)) == (TUESDAY, [tuesday.id])
    assert ids(week.appointments) == [tuesday.id, next_week.id]


async def test_an_agent_agenda_shows_any_week_past_or_to_come(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """A week is Monday to Sunday of the agent's calendar, whatever day names it; the
    week before keeps what was held (a session held last Tuesday)."""
    held = await book(session, house, clock, agent=house.agent)
    next_week = await book(
        session, house, clock, agent=house.agent, start=paris(10, day=date(2026, 3, 24)),
        citizen=JEAN,
    )  # fmt: skip
    clock.now = datetime(2026, 3, 25, 8, tzinfo=UTC)

    this_week = await agenda.agent_agenda(
        session, house.agent_actor, now=clock(), week_of=date(2026, 3, 29)
    )
    last_week = await agenda.agent_agenda(
        session, house.agent_actor, now=clock(), week_of=WEDNESDAY
    )

    assert (this_week.first_day, this_week.last_day) == (date(2026, 3, 23), date(2026, 3, 29))
    assert ids(this_week.appointments) == [next_week.id]
    assert (last_week.first_day, last_week.last_day) == (MONDAY, date(2026, 3, 22))
    assert ids(last_week.appointments) == [held.id]


async def test_the_agenda_is_each_agent_own(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, agent=house.agent)

    assert (
        await agenda.agent_agenda(session, house.colleague_actor, now=clock())
    ).appointments == ()
    orphan = Actor(user_id=house.agent_actor.user_id, email="x@caf.example", name="X",
                   role=Role.AGENT, locale="fr")  # fmt: skip
    for actor in (house.desk, house.admin, orphan):
        with pytest.raises(NotAllowed):
            await agenda.agent_agenda(session, actor, now=clock())


# ---------------------------------------------------------------- the printed confirmation


async def test_the_confirmation_tells_the_citizen_what_to_bring(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    printed = await agenda.confirmation(session, house.desk, view.id, now=clock())

    assert printed.appointment == view
    assert printed.site_address == "2 place de l'Hôtel de ville, 15300 Murat"
    assert printed.documents == ("Numéro d'allocataire", "Relevé d'identité bancaire")
    assert printed.instructions == "Présentez-vous 10 minutes avant."
    assert not printed.cancelled
    await transitions.cancel(session, house.desk, view.id, reason="", now=clock(), links=LINKS)
    assert (await agenda.confirmation(session, house.admin, view.id, now=clock())).cancelled


@pytest.mark.parametrize("who", ["other_desk", "agent_actor", "coordinator"])
async def test_the_confirmation_is_for_the_booking_house_desk(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    with pytest.raises(NotFound):
        await agenda.confirmation(session, getattr(house, who), view.id, now=clock())
