"""Loading a slot search: a fixed number of queries, and the engine's answer from the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from visio.db.models import (
    Absence,
    Agent,
    AvailabilityRule,
    Motive,
    Partner,
    Role,
    Site,
)
from visio.services import accounts, slots
from visio.services.permissions import Actor

NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)  # Friday 13 March 2026, 09:00 in Paris
MONDAY = date(2026, 3, 16)


class StatementCounter:
    def __init__(self, connection: AsyncConnection) -> None:
        self.count = 0
        self._target = connection.sync_connection
        event.listen(self._target, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self._target, "before_cursor_execute", self._seen)


@dataclass(frozen=True)
class Permanences:
    """Murat with two stations, a 30-minute motive, `agents` agents of one partner holding
    Monday and Wednesday mornings there (all away on Wednesday 18 March), and its desk."""

    site: Site
    motive: Motive
    agents: tuple[Agent, ...]
    desk: Actor


async def permanences(
    session: AsyncSession,
    create_site: Callable[..., Awaitable[Site]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_partner: Callable[..., Awaitable[Partner]],
    agents: int,
) -> Permanences:
    site = await create_site("Murat", stations=2)
    partner = await create_partner()
    motive = Motive(
        partner_id=partner.id,
        name="Prime d'activité",
        duration_minutes=30,
        documents=[],
        reminder_offsets=[60],
        min_notice_minutes=60,
        horizon_days=60,
    )
    session.add(motive)
    people = []
    for index in range(agents):
        agent = await create_agent(partner, name=f"Agent {index}")
        rule = AvailabilityRule(
            agent_id=agent.id, weekdays=[1, 3], start=time(9), end=time(12), every_weeks=1
        )
        rule.sites = [site]
        rule.motives = []
        session.add(rule)
        session.add(
            Absence(
                agent_id=agent.id,
                start_at=datetime(2026, 3, 18, 0, tzinfo=UTC),
                end_at=datetime(2026, 3, 19, 0, tzinfo=UTC),
            )
        )
        people.append(agent)
    await session.flush()
    desk = await accounts.create_user(
        session,
        None,
        email="desk@visio.example",
        name="Desk",
        role=Role.DESK,
        site_ids=[site.id],
        now=NOW,
    )
    return Permanences(
        site=site,
        motive=motive,
        agents=tuple(people),
        desk=Actor(
            user_id=desk.id,
            email=desk.email,
            name=desk.name,
            role=desk.role,
            locale=desk.locale,
            site_ids=frozenset(desk.site_ids),
        ),
    )


async def test_one_search_runs_three_statements_whatever_the_days(
    session: AsyncSession,
    connection: AsyncConnection,
    create_site: Callable[..., Awaitable[Site]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_partner: Callable[..., Awaitable[Partner]],
) -> None:
    setup = await permanences(session, create_site, create_agent, create_partner, agents=3)
    counts = []
    for days in (1, 28, 62):
        counter = StatementCounter(connection)
        try:
            await slots.search_slots(
                session,
                setup.desk,
                site_id=setup.site.id,
                motive_id=setup.motive.id,
                first_day=MONDAY,
                last_day=MONDAY + timedelta(days=days - 1),
                now=NOW,
            )
        finally:
            counter.close()
        counts.append(counter.count)
    assert counts == [3, 3, 3]


async def test_more_agents_same_statements(
    session: AsyncSession,
    connection: AsyncConnection,
    create_site: Callable[..., Awaitable[Site]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_partner: Callable[..., Awaitable[Partner]],
) -> None:
    counts = []
    for agents in (1, 12):
        await session.rollback()
        setup = await permanences(session, create_site, create_agent, create_partner, agents=agents)
        counter = StatementCounter(connection)
        try:
            found = await slots.search_slots(
                session,
                setup.desk,
                site_id=setup.site.id,
                motive_id=setup.motive.id,
                first_day=MONDAY,
                last_day=MONDAY + timedelta(days=27),
                now=NOW,
            )
        finally:
            counter.close()
        counts.append(counter.count)
        # Mondays 16, 23, 30 March (6 April is Easter Monday) and Wednesdays 25 March,
        # 1 and 8 April (18 March is an absence): 6 mornings × 6 half-hours × every agent.
        assert len(found.slots) == 6 * 6 * agents
    assert counts[0] == counts[1]
