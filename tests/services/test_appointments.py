"""Reading appointments, straight through `visio.services.appointments`.

Promised: each person reads what their role and scope give them (a house's desk its
house's appointments, a partner agent their own, an admin all; anything else does not
exist for them, and a coordinator, who counts, reads none); a list of days takes each
day in the appointment's own house's zone and shows its times there; a citizen whose
data was erased shows as nobody.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
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
from visio.db.models import Agent, Citizen, Partner, Role, Site
from visio.domain import AppointmentStatus
from visio.services import appointments, transitions
from visio.services.citizens import CitizenDetails
from visio.services.errors import NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.records import AppointmentView

WEDNESDAY = date(2026, 3, 18)
ROSE = CitizenDetails(first_name="Rose", last_name="Vermenouze", birth_date=date(1970, 1, 8))


async def on_days(
    session: AsyncSession,
    actor: Actor,
    clock: Clock,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    site_id: int | None = None,
    agent_id: int | None = None,
    statuses: tuple[AppointmentStatus, ...] = (),
) -> list[AppointmentView]:
    found = await appointments.page_on_days(
        session, actor, site_id=site_id, agent_id=agent_id, first_day=first_day,
        last_day=last_day, statuses=statuses, now=clock(),
    )  # fmt: skip
    assert found.total == len(found.items)  # one page holds them all here
    return list(found.items)


def ids(views: list[AppointmentView]) -> list[int]:
    return [view.id for view in views]


async def book_at_massiac(session: AsyncSession, house: House, clock: Clock) -> AppointmentView:
    """Thomas Bonnet also holds Tuesday afternoons at Massiac; its desk books Jean there."""
    await add_permanence(
        session, house.colleague, weekdays=[2], start=time(14), end=time(16),
        sites=[house.elsewhere],
    )  # fmt: skip
    return await book(
        session, house, clock, site=house.elsewhere, start=paris(14), citizen=JEAN,
        actor=house.other_desk,
    )  # fmt: skip


async def test_a_desk_reads_its_house_and_nothing_of_another(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    murat = await book(session, house, clock, agent=house.agent)
    massiac = await book_at_massiac(session, house, clock)

    assert await appointments.read(session, house.desk, murat.id, now=clock()) == murat
    assert await appointments.read(session, house.other_desk, massiac.id, now=clock()) == massiac
    with pytest.raises(NotFound):
        await appointments.read(session, house.desk, massiac.id, now=clock())
    with pytest.raises(NotFound):
        await appointments.read(session, house.other_desk, murat.id, now=clock())

    assert ids(await on_days(session, house.desk, clock)) == [murat.id]
    assert ids(await on_days(session, house.other_desk, clock)) == [massiac.id]
    # Naming the other house does not widen the scope.
    assert await on_days(session, house.desk, clock, site_id=house.elsewhere.id) == []


async def test_an_agent_reads_their_own_only(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    own = await book(session, house, clock, agent=house.agent)
    colleagues = await book(session, house, clock, agent=house.colleague, citizen=JEAN)

    read = await appointments.read(session, house.agent_actor, own.id, now=clock())
    assert read.citizen_name == "Monique Chassang"  # whom they will see
    with pytest.raises(NotFound):
        await appointments.read(session, house.agent_actor, colleagues.id, now=clock())
    assert ids(await on_days(session, house.agent_actor, clock)) == [own.id]
    assert ids(await on_days(session, house.colleague_actor, clock)) == [colleagues.id]
    # Asking for a colleague's agenda gives nothing more.
    assert await on_days(session, house.agent_actor, clock, agent_id=house.colleague.id) == []


async def test_an_agent_account_without_its_agent_reads_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock)
    orphan = Actor(user_id=house.agent_actor.user_id, email="x@caf.example", name="X",
                   role=Role.AGENT, locale="fr")  # fmt: skip

    assert await on_days(session, orphan, clock) == []
    with pytest.raises(NotFound):
        await appointments.read(session, orphan, view.id, now=clock())


async def test_a_coordinator_reads_no_appointment(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock)

    with pytest.raises(NotAllowed):
        await appointments.read(session, house.coordinator, view.id, now=clock())
    with pytest.raises(NotAllowed):
        await on_days(session, house.coordinator, clock)


async def test_an_admin_reads_every_house(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    murat = await book(session, house, clock, agent=house.agent)
    massiac = await book_at_massiac(session, house, clock)

    assert ids(await on_days(session, house.admin, clock)) == [murat.id, massiac.id]
    assert ids(await on_days(session, house.admin, clock, site_id=house.elsewhere.id)) == [
        massiac.id
    ]
    assert (await appointments.read(session, house.admin, massiac.id, now=clock())) == massiac


async def test_lists_filter_by_status_agent_and_days(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock, agent=house.agent)
    second = await book(session, house, clock, agent=house.colleague, citizen=JEAN)
    later = await book(
        session, house, clock, agent=house.agent, start=paris(10, day=date(2026, 3, 24)),
        citizen=ROSE,
    )  # fmt: skip
    await transitions.cancel(session, house.desk, second.id, reason="", now=clock(), links=LINKS)
    desk = house.desk

    assert ids(await on_days(session, desk, clock)) == [first.id, second.id, later.id]
    booked = (AppointmentStatus.BOOKED,)
    assert ids(await on_days(session, desk, clock, statuses=booked)) == [first.id, later.id]
    cancelled = (AppointmentStatus.CANCELLED,)
    assert ids(await on_days(session, desk, clock, statuses=cancelled)) == [second.id]
    assert ids(await on_days(session, desk, clock, agent_id=house.colleague.id)) == [second.id]
    tuesday = await on_days(session, desk, clock, first_day=TUESDAY, last_day=TUESDAY)
    assert ids(tuesday) == [first.id, second.id]
    assert ids(await on_days(session, desk, clock, first_day=WEDNESDAY)) == [later.id]
    assert ids(await on_days(session, desk, clock, last_day=WEDNESDAY)) == [first.id, second.id]


async def test_days_are_read_in_each_house_own_zone(
    session: AsyncSession,
    house: House,
    clock: Clock,
    create_site: Callable[..., Awaitable[Site]],
    create_agent: Callable[..., Awaitable[Agent]],
) -> None:
    """Tuesday at Saint-Denis de La Réunion (UTC+4) starts at Monday 20:00 UTC; Tuesday at
    Papeete (UTC−10) ends at Wednesday 10:00 UTC. A booking on each house's Tuesday is
    listed on Tuesday, whatever its day in UTC or in Paris."""
    partner = await session.get_one(Partner, house.partner.id)
    places = {
        "Indian/Reunion": ("France Services Saint-Denis", "974", time(9)),
        "Pacific/Tahiti": ("France Services Papeete", "PF", time(15)),
    }
    booked: dict[str, AppointmentView] = {}
    for zone, (name, holidays, start) in places.items():
        site = await create_site(name, timezone=zone, holiday_calendar=holidays)
        agent = await create_agent(partner, name=f"Agent {zone}", timezone=zone)
        await add_permanence(
            session, agent, weekdays=[2], start=time(8), end=time(17), sites=[site]
        )
        booked[zone] = await book(
            session, house, clock, site=site, actor=house.admin,
            start=datetime.combine(TUESDAY, start, ZoneInfo(zone)),
        )  # fmt: skip
    murat = await book(session, house, clock, agent=house.agent)
    reunion, tahiti = booked["Indian/Reunion"], booked["Pacific/Tahiti"]

    # Papeete's Tuesday 15:00 is Wednesday 01:00 UTC; La Réunion shows its own +04:00.
    assert tahiti.start == datetime(2026, 3, 18, 1, 0, tzinfo=UTC)
    assert tahiti.start.isoformat() == "2026-03-17T15:00:00-10:00"
    assert reunion.start.isoformat() == "2026-03-17T09:00:00+04:00"
    assert reunion.timezone == "Indian/Reunion"
    tuesday = await on_days(session, house.admin, clock, first_day=TUESDAY, last_day=TUESDAY)
    assert ids(tuesday) == [reunion.id, murat.id, tahiti.id]
    assert [view.start.isoformat() for view in tuesday] == [
        "2026-03-17T09:00:00+04:00",
        "2026-03-17T10:00:00+01:00",
        "2026-03-17T15:00:00-10:00",
    ]
    assert await on_days(session, house.admin, clock, first_day=WEDNESDAY) == []
    monday = date(2026, 3, 16)
    assert await on_days(session, house.admin, clock, first_day=monday, last_day=monday) == []


async def test_an_erased_citizen_shows_as_nobody(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    assert view.citizen is not None
    await session.execute(
        update(Citizen)
        .where(Citizen.id == view.citizen.id)
        .values(first_name="", last_name="", first_name_key="", last_name_key="",
                birth_date=None, email=None, phone=None, erased_at=clock())
    )  # fmt: skip

    read = await appointments.read(session, house.desk, view.id, now=clock())

    assert (read.citizen, read.citizen_name) == (None, None)
    assert (read.status, read.start, read.agent_name) == (view.status, view.start, view.agent_name)
    listed = await on_days(session, house.agent_actor, clock)
    assert [(item.id, item.citizen) for item in listed] == [(view.id, None)]


async def test_the_agent_presence_follows_the_clock(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    presences = []
    for now in (
        datetime(2026, 3, 17, 8, 59, tzinfo=UTC),  # before the start: nothing to say
        datetime(2026, 3, 17, 9, 5, tzinfo=UTC),  # started, not come: late
        datetime(2026, 3, 17, 9, 30, tzinfo=UTC),  # over, never came: missed
    ):
        presences.append(
            (await appointments.read(session, house.desk, view.id, now=now)).agent_presence
        )

    assert presences == ["", "late", "missed"]
