"""Slot search: when can the citizen at the desk see a partner agent?

The desk searches a house's free slots for a motive over some days, or the first free slot
at each of its houses; an empty answer says why, in words the desk can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from babel.support import LazyProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Agent, Motive, Site
from visio.i18n import lazy_gettext as _l
from visio.scheduling import FreeTime, Slot, find_free_times, find_slots
from visio.scheduling.calendars import time_zone
from visio.services.availability import SearchInputs, load_head, load_inputs, load_schedules
from visio.services.errors import NotFound
from visio.services.permissions import Action, Actor, require, require_site, site_scope

# "First available": look this many days at a time until the motive's horizon.
FIRST_SLOT_WINDOW_DAYS = 14


@dataclass(frozen=True, slots=True)
class SlotSearch:
    """The answer to a search: the slots, and why there are none when there are none."""

    site_id: int
    site_name: str
    timezone: str
    slots: list[Slot]
    # When there is no slot: why, as a code for programs and a message for the desk agent.
    reason_code: str | None = None
    reason: LazyProxy | None = None
    # What the desk's booking pages show beside the slots.
    partner_name: str = ""
    motive_name: str = ""
    documents: tuple[str, ...] = ()
    agent_names: Mapping[int, str] = field(default_factory=dict)
    # The site-local days searched.
    first_day: date | None = None
    last_day: date | None = None
    # Searched for any agent: one row per start time at which someone is free (and no
    # per-agent `slots`).
    free_times: list[FreeTime] = field(default_factory=list)


REASONS = {
    "no_station": _l("This site has no visio station: add one before booking."),
    "no_agent": _l("No partner agent holds a permanence for this motive at this site."),
    "no_opening_hours": _l("This site has no opening hours."),
    "all_taken": _l("No free slot in this period: try later dates."),
}


def _why_empty(inputs: SearchInputs) -> str:
    """The code of a reason the desk can act on when a search finds nothing."""
    if not inputs.stations:
        return "no_station"
    site_id, motive_id = inputs.site.site_id, inputs.motive.motive_id
    serving = [
        rule
        for agent in inputs.agents
        for rule in agent.rules
        if (rule.site_ids is None or site_id in rule.site_ids)
        and (rule.motive_ids is None or motive_id in rule.motive_ids)
    ]
    if not serving:
        return "no_agent"
    if not inputs.site.opening_hours:
        return "no_opening_hours"
    return "all_taken"


async def search_slots(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    motive_id: int,
    first_day: date,
    last_day: date,
    now: datetime,
    agent_id: int | None = None,
    any_agent: bool = False,
) -> SlotSearch:
    """Every bookable slot at a site for a motive, on site-local days `first_day`…`last_day`
    (with `any_agent`: every start time at which some agent is free, with how many).

    `NotFound` for a site outside the actor's scope, an unknown site or motive.
    """
    require_site(actor, Action.SEARCH_SLOTS, site_id)
    inputs = await load_inputs(
        session, site_id=site_id, motive_id=motive_id, first_day=first_day, last_day=last_day,
        agent_id=agent_id,
    )  # fmt: skip
    return _answer(inputs, now, any_agent=any_agent)


async def days_of_slots(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    motive_id: int,
    first_day: date | None,
    days: int,
    now: datetime,
) -> SlotSearch:
    """The times anyone is free on `days` site-local days from `first_day` (None: the site's
    today), for the desk's booking pages: one per start, with how many agents are free (the
    booking then chooses one fairly)."""
    require_site(actor, Action.SEARCH_SLOTS, site_id)
    head = await load_head(session, site_id=site_id, motive_id=motive_id)
    first = first_day or now.astimezone(time_zone(head.timezone)).date()
    inputs = await load_schedules(
        session, head, first_day=first, last_day=first + timedelta(days=days - 1)
    )
    return _answer(inputs, now, any_agent=True)


def _answer(inputs: SearchInputs, now: datetime, *, any_agent: bool = False) -> SlotSearch:
    """The slots the engine finds in what was loaded (or the free times, for any agent),
    or why there are none."""
    arguments = (
        inputs.site, inputs.stations, inputs.motive, inputs.agents, inputs.first_day,
        inputs.last_day, now,
    )  # fmt: skip
    slots = [] if any_agent else find_slots(*arguments)
    free_times = find_free_times(*arguments) if any_agent else []
    code = None if slots or free_times else _why_empty(inputs)
    head = inputs.head
    return SlotSearch(
        site_id=head.site_id,
        site_name=head.site_name,
        timezone=inputs.site.timezone,
        slots=slots,
        reason_code=code,
        reason=REASONS[code] if code else None,
        partner_name=head.partner_name,
        motive_name=head.motive_name,
        documents=tuple(head.documents),
        agent_names={agent_id: contact.name for agent_id, contact in inputs.agent_details.items()},
        first_day=inputs.first_day,
        last_day=inputs.last_day,
        free_times=free_times,
    )


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What the booking's summary shows: the house, the partner and motive with the
    documents to bring, and the agent when one is chosen."""

    site_name: str
    timezone: str
    partner_name: str
    motive_name: str
    documents: tuple[str, ...]
    agent_name: str | None


async def booking_facts(
    session: AsyncSession, actor: Actor, *, site_id: int, motive_id: int, agent_id: int | None
) -> BookingFacts:
    """The facts of a booking about to be made at one of the actor's houses (two small
    statements: the house and motive, the agent's name)."""
    require_site(actor, Action.SEARCH_SLOTS, site_id)
    head = await load_head(session, site_id=site_id, motive_id=motive_id)
    agent_name = None
    if agent_id is not None:
        agent_name = await session.scalar(
            select(Agent.name).where(Agent.id == agent_id, Agent.partner_id == head.partner_id)
        )
    return BookingFacts(
        head.site_name, head.timezone, head.partner_name, head.motive_name,
        tuple(head.documents), agent_name,
    )  # fmt: skip


async def first_slots(
    session: AsyncSession,
    actor: Actor,
    *,
    motive_id: int,
    now: datetime,
    site_id: int | None = None,
) -> list[SlotSearch]:
    """The earliest free slot for a motive at each site of the actor's scope (or one site).

    Looks two weeks at a time up to the motive's horizon; sorted by the slot's start, sites
    with nothing free last (with their reason).
    """
    require(actor, Action.SEARCH_SLOTS)
    if site_id is not None:
        require_site(actor, Action.SEARCH_SLOTS, site_id)
        site_ids = [site_id]
    else:
        query = select(Site.id).order_by(Site.name)
        scope = site_scope(actor)
        if not scope.every:
            query = query.where(Site.id.in_(scope.site_ids))
        site_ids = list((await session.scalars(query)).all())
    horizon = await session.scalar(select(Motive.horizon_days).where(Motive.id == motive_id))
    if horizon is None:
        raise NotFound()
    results: list[SlotSearch] = []
    for site in site_ids:
        timezone = await session.scalar(select(Site.timezone).where(Site.id == site))
        if timezone is None:
            raise NotFound()
        today = now.astimezone(time_zone(timezone)).date()
        last_possible = today + timedelta(days=horizon)
        first_day = today
        found: SlotSearch | None = None
        while first_day <= last_possible:
            last_day = min(first_day + timedelta(days=FIRST_SLOT_WINDOW_DAYS - 1), last_possible)
            # The times anyone is free, in one sweep (no row per agent built for two weeks).
            found = await search_slots(
                session, actor, site_id=site, motive_id=motive_id, first_day=first_day,
                last_day=last_day, now=now, any_agent=True,
            )  # fmt: skip
            if found.reason_code != "all_taken":
                break  # found one, or nothing will ever be free here: say why
            first_day = last_day + timedelta(days=1)
        assert found is not None
        if found.free_times:
            # The first time's day, per agent: its first slot (the agent of smallest id).
            first = found.free_times[0]
            day = first.start.astimezone(time_zone(found.timezone)).date()
            one_day = await load_inputs(
                session, site_id=site, motive_id=motive_id, first_day=day, last_day=day
            )
            slots = find_slots(
                one_day.site, one_day.stations, one_day.motive, one_day.agents, day, day, now,
                limit=1,
            )  # fmt: skip
            found = replace(found, slots=slots)
        results.append(found)
    return sorted(
        results,
        key=lambda result: (not result.slots, result.slots[0].start if result.slots else now),
    )
