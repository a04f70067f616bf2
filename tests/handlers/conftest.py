"""Fixtures of the handler tests: a house, an agent with a Monday permanence, a desk."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from visio.db.models import AvailabilityRule, Motive, Role

# Friday 13 March 2026, 09:00 in Paris; bookings below are for Monday 16 March (UTC+1).
NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)
MONDAY_10 = "2026-03-16T10:00:00+01:00"


@pytest.fixture
def make_world(
    session: AsyncSession,
    clock: Clock,
    create_site: Any,
    create_agent: Any,
    create_user: Any,
    bearer: Any,
) -> Any:
    """`await make_world(stations=…, buffer_after=…)`: Murat with its stations, Isabelle
    Delmas of the CAF holding Monday mornings there, a 30-minute motive, a desk agent."""

    async def make(*, stations: int = 2, buffer_after: int = 10) -> dict[str, Any]:
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
        return {
            "site": site,
            "agent": agent,
            "motive": motive,
            "desk": desk,
            "headers": await bearer(desk),
            "agent_headers": await bearer(agent_user),
        }

    return make


@pytest.fixture
async def world(make_world: Any) -> dict[str, Any]:
    """Two stations, ten minutes of buffer after each appointment."""
    return dict(await make_world())


def booking(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
        "site_id": world["site"].id,
        "motive_id": world["motive"].id,
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


async def book(client: Any, world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/appointments", json=booking(world, **changes), headers=world["headers"]
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())
