"""Two bookings of different agents at the same time, each leaving the station to visio:
when the station both picked is taken by the first, the second gets another free station,
not a 409 for a slot that is still free.

PostgreSQL only: there bookings read without locks and lock the agent and the station they
chose (SQLite's writers take turns, each reads what the previous one wrote).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from tests.test_concurrency import SECRET, next_monday_10, seed
from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import Appointment, AppointmentStatus, Partner
from visio.db.statements.appointments import lock_agent_and_station
from visio.settings import Settings

pytestmark = pytest.mark.postgres


async def test_a_booking_that_loses_its_station_takes_another_free_one(
    aiohttp_server: Any, scratch_url: str
) -> None:
    engine = make_engine(scratch_url)
    try:
        world = await seed(engine, stations=2, agents=2)
        first_agent, second_agent = world["agent_ids"]
        first_station = world["station_id"]
        start = next_monday_10()
        server = await aiohttp_server(
            create_app(Settings(database_url=scratch_url, secret_key=SECRET, run_worker=False))
        )
        async with engine.connect() as holder, aiohttp.ClientSession() as client:
            # A booking of the first agent in progress: it holds the first station (the one
            # of smallest id, which every booking picks first) and has not committed yet.
            transaction = await holder.begin()
            await lock_agent_and_station(holder, agent_id=first_agent, station_id=first_station)
            session = make_sessionmaker(engine)(bind=holder)
            partner_id = await session.scalar(select(Partner.id))
            session.add(
                Appointment(
                    site_id=world["site_id"],
                    station_id=first_station,
                    partner_id=partner_id,
                    motive_id=world["motive_id"],
                    agent_id=first_agent,
                    start_at=start,
                    end_at=start + timedelta(minutes=30),
                    busy_from=start,
                    busy_until=start + timedelta(minutes=30),
                    status=AppointmentStatus.BOOKED,
                    room="visio-" + "h" * 26,
                    created_at=datetime.now(UTC),
                )
            )
            await session.flush()
            # The second agent's booking reads the first station free and waits for its lock.
            answer = asyncio.create_task(
                client.post(
                    server.make_url("/api/v1/appointments"),
                    headers={"Authorization": f"Bearer {world['token']}"},
                    json={
                        "site_id": world["site_id"],
                        "motive_id": world["motive_id"],
                        "agent_id": second_agent,
                        "start": start.isoformat(),
                        "citizen": {"first_name": "Jeanne", "last_name": "Seconde"},
                    },
                )
            )
            async with engine.connect() as observer:
                for _ in range(600):
                    waiting = await observer.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                            "'Lock' AND datname = current_database()"
                        )
                    )
                    await observer.commit()
                    if waiting or answer.done():
                        break
                    await asyncio.sleep(0.05)
            await transaction.commit()
            response = await answer
            payload = await response.json()
        assert response.status == 201, payload
        assert payload["agent_id"] == second_agent
        assert payload["station_id"] != first_station
        async with engine.connect() as connection:
            booked = await connection.scalar(
                text("SELECT count(*) FROM appointments WHERE status = 'booked'")
            )
        assert booked == 2
    finally:
        await engine.dispose()
