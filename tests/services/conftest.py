"""Fixtures of the service tests: one house set up as the desk finds it, and the people
who act on it, as the services see them (`Actor`s).

The services are called directly with the test's `AsyncSession` (its commits are
savepoints of a rolled-back transaction) and an `Actor`, as the handlers call them.
The default clock is Monday 16 March 2026, 08:00 UTC (09:00 in Paris); bookings are for
Tuesday 17 March, when both agents of the house hold their permanence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from visio.db.base import Base
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentEvent,
    AuditEntry,
    AvailabilityRule,
    Citizen,
    Motive,
    OutboxMessage,
    Partner,
    Role,
    Site,
    Station,
    User,
)
from visio.services import accounts, booking
from visio.services.booking import BookingRequest
from visio.services.citizens import CitizenDetails
from visio.services.notifications import Links
from visio.services.permissions import Actor
from visio.services.records import AppointmentView

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2026, 3, 17)
LINKS = Links(base_url="https://visio.example", mail_from="visio@visio.example")

MONIQUE = CitizenDetails(
    first_name="Monique",
    last_name="Chassang",
    birth_date=date(1956, 4, 2),
    email="monique.chassang@courriel.example",
    phone="0612345678",
)
JEAN = CitizenDetails(first_name="Jean", last_name="Rigal", birth_date=date(1961, 9, 30))


def paris(hour: int, minute: int = 0, *, day: date = TUESDAY) -> datetime:
    """A wall-clock time in Paris (UTC+1 until 29 March 2026)."""
    return datetime.combine(day, time(hour, minute), PARIS)


@dataclass(frozen=True)
class House:
    """France Services Murat, set up for visio, and everyone who acts on it.

    Two stations; Isabelle Delmas and Thomas Bonnet of the CAF both hold Tuesday mornings
    (9:00–12:00) there for every CAF motive; the motive lasts 30 minutes, keeps the agent
    and the station 10 more minutes, and sends reminders 24 h and 1 h before. Massiac,
    another house, has its own desk.
    """

    site: Site
    stations: tuple[Station, ...]
    partner: Partner
    motive: Motive
    agent: Agent
    colleague: Agent
    elsewhere: Site
    desk: Actor
    other_desk: Actor
    agent_actor: Actor
    colleague_actor: Actor
    coordinator: Actor
    admin: Actor


async def add_permanence(
    session: AsyncSession,
    agent: Agent,
    *,
    weekdays: list[int],
    start: time,
    end: time,
    sites: list[Site] | None = None,
    motives: list[Motive] | None = None,
) -> AvailabilityRule:
    """A weekly permanence of `agent`, in the agent's wall-clock time (no sites or
    motives named: every site, every motive of the partner)."""
    rule = AvailabilityRule(
        agent_id=agent.id, weekdays=weekdays, start=start, end=end, every_weeks=1
    )
    rule.sites, rule.motives = sites or [], motives or []
    session.add(rule)
    await session.flush()
    return rule


async def add_motive(
    session: AsyncSession, partner: Partner, name: str = "Prime d'activité"
) -> Motive:
    motive = Motive(
        partner_id=partner.id,
        name=name,
        duration_minutes=30,
        buffer_after_minutes=10,
        min_notice_minutes=60,
        horizon_days=60,
        documents=["Numéro d'allocataire", "Relevé d'identité bancaire"],
        instructions="Présentez-vous 10 minutes avant.",
        reminder_offsets=[1440, 60],
    )
    session.add(motive)
    await session.flush()
    return motive


@pytest.fixture
async def house(
    session: AsyncSession,
    create_site: Callable[..., Awaitable[Site]],
    create_partner: Callable[..., Awaitable[Partner]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_user: Callable[..., Awaitable[User]],
) -> House:
    site = await create_site("France Services Murat", stations=2)
    site.address, site.email = "2 place de l'Hôtel de ville, 15300 Murat", "murat@fs.example"
    elsewhere = await create_site("France Services Massiac", stations=1)
    partner = await create_partner()
    motive = await add_motive(session, partner)
    agent = await create_agent(partner, name="Isabelle Delmas", email="isabelle.delmas@caf.example")
    colleague = await create_agent(partner, name="Thomas Bonnet", email="thomas.bonnet@caf.example")
    for someone in (agent, colleague):
        await add_permanence(
            session, someone, weekdays=[2], start=time(9), end=time(12), sites=[site]
        )
    stations = tuple(
        (
            await session.scalars(
                select(Station).where(Station.site_id == site.id).order_by(Station.id)
            )
        ).all()
    )
    desk = await create_user(Role.DESK, name="Agnès Chastel", site_ids=[site.id])
    other_desk = await create_user(Role.DESK, name="Paul Ternes", site_ids=[elsewhere.id])
    agent_user = await create_user(Role.AGENT, name=agent.name, agent_id=agent.id)
    colleague_user = await create_user(Role.AGENT, name=colleague.name, agent_id=colleague.id)
    coordinator = await create_user(Role.COORDINATOR, name="Lucie Aubert", site_ids=[site.id])
    admin = await create_user(Role.ADMIN, name="Marc Admin")
    await session.flush()
    return House(
        site=site,
        stations=stations,
        partner=partner,
        motive=motive,
        agent=agent,
        colleague=colleague,
        elsewhere=elsewhere,
        desk=accounts.actor_of(desk),
        other_desk=accounts.actor_of(other_desk),
        agent_actor=accounts.actor_of(agent_user),
        colleague_actor=accounts.actor_of(colleague_user),
        coordinator=accounts.actor_of(coordinator),
        admin=accounts.actor_of(admin),
    )


async def book(
    session: AsyncSession,
    house: House,
    clock: Clock,
    *,
    start: datetime | None = None,
    citizen: CitizenDetails = MONIQUE,
    agent: Agent | None = None,
    station: Station | None = None,
    actor: Actor | None = None,
    site: Site | None = None,
) -> AppointmentView:
    """Book the house's motive at Murat (or `site`), by Murat's desk unless told, on
    Tuesday at 10:00 unless told."""
    request = BookingRequest(
        site_id=(site or house.site).id,
        motive_id=house.motive.id,
        start=start or paris(10),
        citizen=citizen,
        agent_id=agent.id if agent else None,
        station_id=station.id if station else None,
    )
    return await booking.book(session, actor or house.desk, request, now=clock(), links=LINKS)


@asynccontextmanager
async def use_case(session: AsyncSession) -> AsyncIterator[None]:
    """One use case in its own transaction, as the request middleware runs it: kept when
    it succeeds, rolled back as a whole when it raises."""
    async with session.begin_nested():
        yield


COUNTED: tuple[type[Base], ...] = (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    OutboxMessage,
    Citizen,
)


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """How many appointments, history events, audit entries, messages and citizens there
    are: equal before and after a refused use case."""
    await session.flush()
    counts = {}
    for model in COUNTED:
        found = await session.scalar(select(func.count()).select_from(model))
        counts[model.__tablename__] = int(found or 0)
    return counts


async def stored(session: AsyncSession, appointment_id: int) -> Appointment:
    """The appointment's row as the database holds it now (once what the session holds is
    written, as the request's commit would)."""
    await session.flush()
    found = await session.scalar(
        select(Appointment)
        .where(Appointment.id == appointment_id)
        .execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def messages(session: AsyncSession, *appointment_ids: int) -> list[OutboxMessage]:
    """The outbox rows of these appointments, in the order they were queued (once what
    the session holds is written, as the request's commit would)."""
    await session.flush()
    return list(
        (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.appointment_id.in_(appointment_ids))
                .order_by(OutboxMessage.id)
                .execution_options(populate_existing=True)
            )
        ).all()
    )
