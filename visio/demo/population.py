"""Filling an empty database with the demo: houses, partners, agents, accounts, history."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    Agent,
    AvailabilityRule,
    Motive,
    OpeningHour,
    Partner,
    Role,
    Site,
    Station,
)
from visio.demo.history import History
from visio.demo.houses import AFTERNOON, MORNING, PARIS, SITES
from visio.demo.partners import PARTNERS, MotiveSpec
from visio.demo.people import DEMO_USERS, email_address
from visio.demo.records import House, PartnerTeam, Permanence
from visio.demo.storage import store_history
from visio.services import accounts, counters, desk_tally


async def populate(session: AsyncSession, *, now: datetime, rng: random.Random) -> None:
    """Insert the whole demo data set in the current transaction.

    The same `now` and a generator seeded alike give the same rows, ids included, in an
    empty database.
    """
    houses = _add_houses(session, now)
    teams = await _add_partners(session, now)
    permanences = await _add_permanences(session, houses, teams, now)
    desk_user_id = await _add_accounts(session, houses, teams, now)
    history = History(houses, teams, permanences, now=now, rng=rng)
    appointments = history.appointments()
    desk_requests = history.desk_requests()
    await store_history(session, appointments, desk_requests, booked_by=desk_user_id)
    # The history went in by bulk inserts: its statistics' counters are counted once.
    await counters.rebuild(session)
    await desk_tally.rebuild(session)


def _add_houses(session: AsyncSession, now: datetime) -> list[House]:
    """The houses, their stations and opening hours (stored at the next flush)."""
    houses = []
    for spec in SITES:
        site = Site(
            name=spec.name,
            commune=spec.commune,
            address=spec.address,
            timezone=PARIS,
            holiday_calendar=None,
            created_at=now,
        )
        site.opening_hours = [
            OpeningHour(weekday=weekday, start=start, end=end)
            for weekday in spec.weekdays
            for start, end in (MORNING, AFTERNOON)
        ]
        stations = tuple(Station(name=name, site=site, created_at=now) for name in spec.stations)
        session.add_all([site, *stations])
        houses.append(House(spec, site, stations))
    return houses


def _motive(partner: Partner, spec: MotiveSpec) -> Motive:
    return Motive(
        partner=partner,
        name=spec.name,
        duration_minutes=spec.minutes,
        # A 45-minute motive may start on any quarter hour; the others step by their length.
        slot_step_minutes=15 if spec.minutes == 45 else None,
        buffer_after_minutes=10 if spec.minutes >= 30 else 5,
        min_notice_minutes=120,
        horizon_days=60,
        documents=list(spec.documents),
        instructions="Prévoir une adresse électronique et son téléphone portable.",
        reminder_offsets=[1440, 60],
    )


async def _add_partners(session: AsyncSession, now: datetime) -> list[PartnerTeam]:
    """The partners, their motives and their agents, stored with their ids."""
    stored = []
    for spec in PARTNERS:
        partner = Partner(code=spec.code, name=spec.name, created_at=now)
        motives = tuple(_motive(partner, motive) for motive in spec.motives)
        session.add_all([partner, *motives])
        stored.append((spec, partner, motives))
    await session.flush()
    teams = []
    for spec, partner, motives in stored:
        agents = tuple(
            Agent(
                partner_id=partner.id,
                name=name,
                email=email_address(name, spec.email_domain),
                timezone=PARIS,
                locale="fr",
                created_at=now,
            )
            for name in spec.agents
        )
        session.add_all(agents)
        teams.append(PartnerTeam(spec, partner, motives, agents))
    await session.flush()
    return teams


async def _add_permanences(
    session: AsyncSession, houses: Sequence[House], teams: Sequence[PartnerTeam], now: datetime
) -> dict[int, tuple[Permanence, ...]]:
    """Two half-day permanences a week for each agent, each for three houses in turn.

    Returns them by agent id.
    """
    site_ids = [house.site.id for house in houses]
    agents = [agent for team in teams for agent in team.agents]
    permanences: dict[int, tuple[Permanence, ...]] = {}
    for index, agent in enumerate(agents):
        held = []
        for half in range(2):
            # Spread over the week, mornings and afternoons alternating, houses in turn.
            weekday = 1 + (index * 2 + half * 3) % 5
            hours = MORNING if (index + half) % 2 == 0 else AFTERNOON
            served = tuple(site_ids[(index + half + k) % len(site_ids)] for k in range(3))
            rule = AvailabilityRule(
                agent_id=agent.id,
                weekdays=[weekday],
                start=hours[0],
                end=hours[1],
                every_weeks=1,
                valid_from=date(2019, 1, 1),
                created_at=now,
            )
            rule.sites = [house.site for house in houses if house.site.id in served]
            rule.motives = []
            session.add(rule)
            held.append(Permanence(weekday, hours, served))
        permanences[agent.id] = tuple(held)
    await session.flush()
    return permanences


async def _add_accounts(
    session: AsyncSession, houses: Sequence[House], teams: Sequence[PartnerTeam], now: datetime
) -> int | None:
    """One account per role (no password yet); returns the desk account's id."""
    site_ids = {house.spec.commune: house.site.id for house in houses}
    agent_ids = {agent.name: agent.id for team in teams for agent in team.agents}
    desk_user_id = None
    for demo_user in DEMO_USERS:
        user = await accounts.create_user(
            session,
            None,
            email=demo_user.email,
            name=demo_user.name,
            role=demo_user.role,
            site_ids=[site_ids[commune] for commune in demo_user.communes],
            agent_id=agent_ids[demo_user.name] if demo_user.role is Role.AGENT else None,
            password=None,
            now=now,
        )
        if demo_user.role is Role.DESK:
            desk_user_id = user.id
    return desk_user_id
