"""Fixtures of the handler tests: a house, an agent with a Monday permanence, a desk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from visio.db.models import Agent, AvailabilityRule, Motive, Role, Site, User

# Friday 13 March 2026, 09:00 in Paris; bookings below are for Monday 16 March (UTC+1).
NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)
MONDAY_10 = "2026-03-16T10:00:00+01:00"


@dataclass(frozen=True)
class World:
    """What `make_world` created; `headers` and `agent_headers` carry the desk's and the
    agent's API tokens."""

    site: Site
    agent: Agent
    motive: Motive
    desk: User
    headers: dict[str, str]
    agent_headers: dict[str, str]


class MakeWorld(Protocol):
    async def __call__(self, *, stations: int = ..., buffer_after: int = ...) -> World: ...


@pytest.fixture
def make_world(
    session: AsyncSession,
    clock: Clock,
    create_site: Callable[..., Awaitable[Site]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_user: Callable[..., Awaitable[User]],
    bearer: Callable[..., Awaitable[dict[str, str]]],
) -> MakeWorld:
    """`await make_world(stations=…, buffer_after=…)`: Murat with its stations, Isabelle
    Delmas of the CAF holding Monday mornings there, a 30-minute motive, a desk agent."""

    async def make(*, stations: int = 2, buffer_after: int = 10) -> World:
        clock.now = NOW
        site = await create_site("France Services Murat", stations=stations)
        agent = await create_agent(name="Isabelle Delmas", email="isabelle.delmas@caf.example")
        motive = Motive(
            partner_id=agent.partner_id,
            name="Prime d'activité",
            duration_minutes=30,
            buffer_after_minutes=buffer_after,
            min_notice_minutes=60,
            horizon_days=60,
            documents=["Numéro d'allocataire"],
            reminder_offsets=[60],
        )
        session.add(motive)
        rule = AvailabilityRule(
            agent_id=agent.id, weekdays=[1], start=time(9), end=time(12), every_weeks=1
        )
        rule.sites, rule.motives = [site], []
        session.add(rule)
        await session.flush()
        desk = await create_user(Role.DESK, site_ids=[site.id], name="Agnès Chastel")
        agent_user = await create_user(Role.AGENT, agent_id=agent.id, name="Isabelle Delmas")
        return World(
            site=site,
            agent=agent,
            motive=motive,
            desk=desk,
            headers=await bearer(desk),
            agent_headers=await bearer(agent_user),
        )

    return make


@pytest.fixture
async def world(make_world: MakeWorld) -> World:
    """Two stations, ten minutes of buffer after each appointment."""
    return await make_world()


def booking(world: World, **changes: Any) -> dict[str, Any]:
    body = {
        "site_id": world.site.id,
        "motive_id": world.motive.id,
        "start": MONDAY_10,
        "citizen": {
            "first_name": "Monique",
            "last_name": "Chassang",
            "email": "monique.chassang@courriel.example",
            "phone": "06 12 34 56 78",
        },
    }
    body.update(changes)
    return body


async def book(client: Any, world: World, **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/appointments", json=booking(world, **changes), headers=world.headers
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())
