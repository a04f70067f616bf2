"""No double booking under load: many simultaneous requests for one slot, in one process and
across two processes sharing one PostgreSQL database; and the database's own wall. The
statistics count the winners only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.test_cli import environment, listening_port
from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentStatus,
    AvailabilityRule,
    Motive,
    OpeningHour,
    Partner,
    Role,
    SessionCount,
    SessionRollup,
    Site,
    Station,
)
from visio.db.statements import appointments as statements
from visio.db.statements.appointments import NewAppointment, Recorded
from visio.services import accounts, counters
from visio.settings import Settings

SECRET = "concurrency-secret-" + "z" * 30
REQUESTS = 50


def next_monday_10() -> datetime:
    """Monday 10:00 in Paris, two weeks ahead of today: the servers run on the real clock."""
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Paris")).date()
    monday = today + timedelta(days=14 - today.weekday())
    return datetime.combine(monday, time(10), ZoneInfo("Europe/Paris"))


START = next_monday_10().isoformat()


async def seed(engine: AsyncEngine, *, stations: int = 1, agents: int = 1) -> dict[str, Any]:
    """One house with its stations, agents holding Monday mornings, a desk with a token."""
    await upgrade_engine(engine)
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as session, session.begin():
        site = Site(name="France Services Murat", commune="Murat", timezone="Europe/Paris",
                    created_at=now)  # fmt: skip
        site.opening_hours = [OpeningHour(weekday=1, start=time(9), end=time(12))]
        site.stations = [Station(name=f"Cabine {n}", created_at=now) for n in range(stations)]
        partner = Partner(code="CAF", name="CAF du Cantal", created_at=now)
        session.add_all([site, partner])
        await session.flush()
        motive = Motive(partner_id=partner.id, name="Prime d'activité", duration_minutes=30,
                        min_notice_minutes=0, horizon_days=730, documents=[],
                        reminder_offsets=[60])  # fmt: skip
        people = [
            Agent(
                partner_id=partner.id,
                name=f"Agent {n}",
                email=f"agent{n}@caf.example",
                timezone="Europe/Paris",
                created_at=now,
            )
            for n in range(agents)
        ]
        session.add_all([motive, *people])
        await session.flush()
        for person in people:
            rule = AvailabilityRule(agent_id=person.id, weekdays=[1], start=time(9),
                                    end=time(12), every_weeks=1, created_at=now)  # fmt: skip
            rule.sites, rule.motives = [], []
            session.add(rule)
        agent = people[0]
        desk = await accounts.create_user(
            session, None, email="desk@visio.example", name="Desk", role=Role.DESK,
            site_ids=[site.id], now=now,
        )  # fmt: skip
        token = (
            await accounts.create_token(session, None, user_id=desk.id, label="load", now=now)
        ).token
        return {"site_id": site.id, "motive_id": motive.id, "agent_id": agent.id,
                "agent_ids": [person.id for person in people],
                "station_id": site.stations[0].id, "token": token}  # fmt: skip


def body(world: dict[str, Any], number: int) -> dict[str, Any]:
    request = {
        "site_id": world["site_id"],
        "motive_id": world["motive_id"],
        "start": START,
        "citizen": {"first_name": f"Usager {number}", "last_name": "Concurrent"},
    }
    if world.get("spread_agents"):
        request["agent_id"] = world["agent_ids"][number % len(world["agent_ids"])]
    elif world.get("name_the_agent", True):
        request["agent_id"] = world["agent_id"]
    if world.get("name_the_station"):
        request["station_id"] = world["station_id"]
    return request


async def fire(base_urls: list[str], world: dict[str, Any]) -> Counter[int]:
    """REQUESTS bookings of the same slot at once, spread over the servers."""
    headers = {"Authorization": f"Bearer {world['token']}"}
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as client:
        gate = asyncio.Event()

        async def one(number: int) -> int:
            await gate.wait()
            url = f"{base_urls[number % len(base_urls)]}/api/v1/appointments"
            async with client.post(url, json=body(world, number), headers=headers) as response:
                payload = await response.json()
                if response.status == 409:
                    assert payload["error"]["code"] == "slot_unavailable"
                    assert "next_slots" in payload["error"]
                return response.status

        tasks = [asyncio.create_task(one(n)) for n in range(REQUESTS)]
        await asyncio.sleep(0.05)
        gate.set()
        return Counter(await asyncio.gather(*tasks))


async def active_at_start(engine: AsyncEngine) -> int:
    async with make_sessionmaker(engine)() as session:
        return int(
            await session.scalar(
                select(func.count()).where(Appointment.status != AppointmentStatus.CANCELLED)
            )
            or 0
        )


async def counted_booked(engine: AsyncEngine) -> tuple[int, int]:
    """The appointments booked as the statistics' daily counters and their roll-up per
    house and month have them."""
    async with make_sessionmaker(engine)() as session:
        daily = await session.scalar(
            select(func.sum(SessionCount.count)).where(
                SessionCount.status == AppointmentStatus.BOOKED
            )
        )
        monthly = await session.scalar(
            select(func.sum(SessionRollup.booked)).where(SessionRollup.grain == "site_month")
        )
        return int(daily or 0), int(monthly or 0)


@pytest.fixture
async def seeded(scratch_url: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    engine = make_engine(scratch_url)
    try:
        yield scratch_url, await seed(engine)
    finally:
        await engine.dispose()


# What the fifty requests name, how many agents are free, and how many requests win:
# the agent (the booking picks the station); the agent and the station (nothing left to
# pick: on PostgreSQL both are locked with the site and motive read); three agents
# taking turns on one station (the station is contended); nothing (three agents free,
# two stations: exactly two win, whoever retries which agent, and nobody gets a 500).
WAYS = {
    "agent": ({"name_the_agent": True}, 1, 1),
    "agent and station": ({"name_the_agent": True, "name_the_station": True}, 1, 1),
    "agents sharing a station": ({"spread_agents": True, "name_the_station": True}, 3, 1),
    "neither": ({"name_the_agent": False}, 3, 2),
}


@pytest.mark.parametrize("way", list(WAYS))
async def test_fifty_simultaneous_bookings_of_one_slot(
    aiohttp_server: Any, scratch_url: str, way: str
) -> None:
    naming, agents, winners = WAYS[way]
    engine = make_engine(scratch_url)
    try:
        world = {**await seed(engine, stations=2, agents=agents), **naming}
        # Fifty requests for thirty pooled connections: on a loaded machine the last ones
        # may wait longer for a connection than the 5 s a server gives up after (a 503,
        # right for a server, beside the point here): this test waits as long as it takes.
        settings = Settings(
            database_url=scratch_url, secret_key=SECRET, db_connect_timeout=120,
            db_statement_timeout=120,
        )  # fmt: skip
        server = await aiohttp_server(create_app(settings))
        outcome = await fire([str(server.make_url("")).rstrip("/")], world)
        assert outcome == Counter({201: winners, 409: REQUESTS - winners})
        assert await active_at_start(engine) == winners
        # A refused booking left no count behind, even one the database itself refused.
        assert await counted_booked(engine) == (winners, winners)
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("name_the_station", [False, True])
async def test_two_processes_on_one_postgresql(
    seeded: tuple[str, dict[str, Any]], name_the_station: bool
) -> None:
    url, seeded_world = seeded
    world = {**seeded_world, "name_the_station": name_the_station}
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=url)
    # Popen only starts the servers; nothing here waits on them while the loop runs. Port 0:
    # each takes the port the system gives it and names it once it listens.
    servers = [
        subprocess.Popen(  # noqa: ASYNC220
            [sys.executable, "-m", "visio", "serve", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs: list[str] = []
    try:
        ports = [(await asyncio.to_thread(listening_port, server))[0] for server in servers]
        outcome = await fire([f"http://127.0.0.1:{port}" for port in ports], world)
    finally:
        for server in servers:
            server.terminate()
            logs.append(server.communicate(timeout=20)[1])
    # What the servers said goes with a failure: a 500 is explained in their logs.
    assert outcome == Counter({201: 1, 409: REQUESTS - 1}), "\n".join(logs)[-6000:]
    engine = make_engine(url)
    try:
        assert await active_at_start(engine) == 1
        assert await counted_booked(engine) == (1, 1)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_the_database_itself_refuses_overlapping_busy_time(
    seeded: tuple[str, dict[str, Any]],
) -> None:
    """Even a write that skips the booking service cannot double-book on PostgreSQL."""
    url, world = seeded
    engine = make_engine(url)
    start = next_monday_10() - timedelta(hours=1)
    try:
        async with make_sessionmaker(engine)() as session:
            station_id = await session.scalar(select(Station.id))
            partner_id = await session.scalar(select(Partner.id))

            def appointment(offset: int, room: str, status: str = "booked") -> Appointment:
                begin = start + timedelta(minutes=offset)
                return Appointment(
                    site_id=world["site_id"], station_id=station_id, partner_id=partner_id,
                    motive_id=world["motive_id"], agent_id=world["agent_id"], start_at=begin,
                    end_at=begin + timedelta(minutes=30), busy_from=begin,
                    busy_until=begin + timedelta(minutes=40), status=status,
                    room="visio-" + room * 26,
                )  # fmt: skip

            session.add(appointment(0, "a"))
            await session.commit()
            session.add(appointment(35, "b"))  # inside the first one's buffer
            with pytest.raises(IntegrityError, match="ex_appointments_"):
                await session.commit()
            await session.rollback()
            # A cancelled appointment holds nothing; back to back is fine.
            session.add(appointment(15, "c", status="cancelled"))
            session.add(appointment(40, "d"))
            await session.commit()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_an_appointment_the_database_refuses_is_not_counted(
    seeded: tuple[str, dict[str, Any]],
) -> None:
    """The booking's statement refused by the exclusion constraints adds nothing to the
    statistics either: the counter is written by that same statement."""
    url, world = seeded
    engine = make_engine(url)
    begin, now = next_monday_10(), datetime.now(UTC)
    try:
        async with engine.connect() as connection:
            partner_id = await connection.scalar(select(Partner.id))
            assert partner_id is not None
            await connection.commit()
            values = NewAppointment(
                citizen_id=None, site_id=world["site_id"], station_id=world["station_id"],
                partner_id=partner_id, motive_id=world["motive_id"], agent_id=world["agent_id"],
                start_at=begin, end_at=begin + timedelta(minutes=30), busy_from=begin,
                busy_until=begin + timedelta(minutes=30), status=AppointmentStatus.BOOKED,
                room="visio-" + "a" * 26, booked_by_id=None, rescheduled_from_id=None,
                sequence=0, arrived_at=None, agent_joined_at=None, cancel_reason="",
                outcome_note="", to_rebook_since=None, to_rebook_reason=None, created_at=now,
                updated_at=now,
            )  # fmt: skip
            record = Recorded(record_action="appointment.book", record_note="",
                              record_details={})  # fmt: skip
            change = counters.booked(
                site_id=world["site_id"], partner_id=partner_id, motive_id=world["motive_id"],
                agent_id=world["agent_id"], start=values["start_at"], end=values["end_at"],
                timezone="Europe/Paris",
            )  # fmt: skip
            async with connection.begin():
                await statements.insert_appointment(connection, values, record, change)
            with pytest.raises(IntegrityError, match="ex_appointments_"):
                async with connection.begin():
                    await statements.insert_appointment(
                        connection, {**values, "room": "visio-" + "b" * 26}, record, change
                    )
        assert await counted_booked(engine) == (1, 1)
    finally:
        await engine.dispose()
