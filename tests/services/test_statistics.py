"""The statistics' counters, straight through `visio.services.statistics`.

Promised: after any sequence of bookings, moves, cancellations and outcomes the counters
equal a count of the appointments themselves (and the sum of their minutes), per house,
partner, motive, agent, day of the house's calendar and status; `rebuild` counts the same;
a refused change moves no counter.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import LINKS, TUESDAY, House, book, paris, use_case
from visio.db.models import (
    Appointment,
    Citizen,
    DeskRequestCount,
    DeskRollup,
    RequestTheme,
    Role,
    SessionCount,
    SessionRollup,
    Site,
)
from visio.domain import AppointmentStatus, RequestChannel
from visio.scheduling.calendars import time_zone
from visio.services import accounts, booking, desk_tally, statistics, transitions
from visio.services import counters as counting
from visio.services.citizens import CitizenDetails
from visio.services.errors import DomainError

# Per counter: how many appointments, and their booked minutes.
Counts = dict[tuple[int, int, int, int, object, str], tuple[int, int]]


async def counters(session: AsyncSession) -> Counts:
    await session.flush()
    rows = await session.execute(
        select(
            SessionCount.site_id, SessionCount.partner_id, SessionCount.motive_id,
            SessionCount.agent_id, SessionCount.day, SessionCount.status, SessionCount.count,
            SessionCount.minutes,
        ).where(SessionCount.count > 0)
    )  # fmt: skip
    return {(s, p, m, a, d, str(status)): (n, mn) for s, p, m, a, d, status, n, mn in rows}


async def raw_counts(session: AsyncSession) -> Counts:
    """The appointments counted the slow, obvious way."""
    zones = dict((await session.execute(select(Site.id, Site.timezone))).all())
    counts: Counts = {}
    for appointment in await session.scalars(select(Appointment)):
        day = appointment.start_at.astimezone(time_zone(zones[appointment.site_id])).date()
        key = (
            appointment.site_id, appointment.partner_id, appointment.motive_id,
            appointment.agent_id, day, str(appointment.status),
        )  # fmt: skip
        count, minutes = counts.get(key, (0, 0))
        length = (appointment.end_at - appointment.start_at).total_seconds() / 60
        counts[key] = (count + 1, minutes + round(length))
    return counts


# The operations: book at one of the Tuesday morning half hours, move the n-th booked
# appointment to another half hour, cancel it, or record an outcome.
HALF_HOURS = [paris(9) + timedelta(minutes=30 * step) for step in range(6)]
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 5), st.sampled_from([0, 7])),
        st.tuples(st.just("move"), st.integers(0, 9), st.integers(0, 5)),
        st.tuples(st.just("cancel"), st.integers(0, 9), st.just(0)),
        st.tuples(
            st.just("outcome"), st.integers(0, 9),
            st.sampled_from([AppointmentStatus.HELD, AppointmentStatus.NO_SHOW,
                             AppointmentStatus.AGENT_ABSENT]),
        ),
    ),
    max_size=14,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
async def test_the_counters_equal_a_count_of_the_appointments(
    session: AsyncSession, house: House, clock: Clock, operations: list[tuple[str, int, object]]
) -> None:
    async with session.begin_nested() as example:  # each example starts from the same house
        for number, (kind, first, second) in enumerate(operations):
            booked = (
                await session.scalars(
                    select(Appointment.id)
                    .where(Appointment.status == AppointmentStatus.BOOKED)
                    .order_by(Appointment.id)
                )
            ).all()
            try:
                async with use_case(session):
                    if kind == "book":
                        assert isinstance(second, int)
                        await booking.book(
                            session, house.desk,
                            booking.BookingRequest(
                                site_id=house.site.id, motive_id=house.motive.id,
                                start=HALF_HOURS[first] + timedelta(days=second),
                                citizen=CitizenDetails(first_name="Usager", last_name=f"N{number}"),
                            ),
                            now=clock(), links=LINKS,
                        )  # fmt: skip
                    elif booked and kind == "move":
                        assert isinstance(second, int)
                        await booking.reschedule(
                            session, house.desk, booked[first % len(booked)],
                            start=HALF_HOURS[second], agent_id=None, station_id=None,
                            now=clock(), links=LINKS,
                        )  # fmt: skip
                    elif booked and kind == "cancel":
                        await transitions.cancel(
                            session, house.desk, booked[first % len(booked)], reason="",
                            now=clock(), links=LINKS,
                        )  # fmt: skip
                    elif booked and kind == "outcome":
                        assert isinstance(second, AppointmentStatus)
                        # After the start, as the desk records it.
                        clock.now = paris(13, day=TUESDAY + timedelta(days=7))
                        try:
                            await transitions.record_outcome(
                                session, house.desk, booked[first % len(booked)],
                                status=second, note="", now=clock(),
                            )  # fmt: skip
                        finally:
                            clock.now = paris(8, day=TUESDAY - timedelta(days=1))
            except DomainError:
                pass  # refused (a slot taken, too late…): nothing written, no counter moved
            assert await counters(session) == await raw_counts(session)
        await assert_rollups_agree(session)
        await example.rollback()


async def test_rebuild_counts_what_the_changes_counted(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    await book(session, house, clock, start=paris(11), citizen=CitizenDetails("Jean", "Rigal"))
    await transitions.cancel(session, house.desk, first.id, reason="", now=clock(), links=LINKS)
    kept = await counters(session)
    assert kept == await raw_counts(session)
    assert await counting.rebuild(session) == 2
    assert await counters(session) == kept
    await assert_rollups_agree(session)


async def test_a_refused_cancellation_moves_no_counter(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    await transitions.cancel(session, house.desk, first.id, reason="", now=clock(), links=LINKS)
    before = await counters(session)
    with pytest.raises(DomainError):
        async with use_case(session):
            await transitions.cancel(
                session, house.desk, first.id, reason="", now=clock(), links=LINKS
            )
    assert await counters(session) == before


async def test_the_counts_outlive_the_citizens(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Statistics never read a citizen: once the people are erased (the retention period),
    every figure stays."""
    await book(session, house, clock)
    await book(session, house, clock, start=paris(11), citizen=CitizenDetails("Jean", "Rigal"))
    ask = {"group_by": ["month", "site", "partner"], "first_day": None, "last_day": None}
    before = await statistics.session_counts(session, house.coordinator, **ask)
    await session.execute(update(Appointment).values(citizen_id=None))
    await session.execute(delete(Citizen))
    assert await statistics.session_counts(session, house.coordinator, **ask) == before
    assert before[0].booked == 2


# ---------------------------------------------------------------- roll-ups

SESSION_GRAINS = {
    "site_month": (("site_id",), True),
    "site_year": (("site_id",), False),
    "partner_motive_month": (("partner_id", "motive_id"), True),
    "partner_site_year": (("partner_id", "site_id"), False),
}
DESK_GRAINS = {
    "site_month": (("site_id",), True),
    "site_year": (("site_id",), False),
    "partner_theme_channel_month": (("partner_id", "theme_id", "channel"), True),
    "partner_site_year": (("partner_id", "site_id"), False),
}


async def assert_rollups_agree(session: AsyncSession) -> None:
    """Every roll-up holds the sums of the daily counters, the slow, obvious way (zero
    roll-ups, of counters moved away, aside)."""
    await session.flush()
    for model, rollup, grains, measures, dimensions in (
        (SessionCount, SessionRollup, SESSION_GRAINS,
         ("held", "no_show", "agent_absent", "cancelled", "booked", "minutes"),
         ("partner_id", "site_id", "motive_id")),
        (DeskRequestCount, DeskRollup, DESK_GRAINS,
         ("requests", "accompanied", "new_people", "people_accompanied"),
         ("partner_id", "site_id", "theme_id", "channel")),
    ):  # fmt: skip
        expected: dict[tuple[object, ...], list[int]] = {}
        for counter in await session.scalars(select(model)):
            if model is SessionCount:
                status = str(counter.status)
                values = [counter.count if status == name else 0 for name in measures[:-1]]
                values.append(counter.minutes if status != "cancelled" else 0)
            else:
                values = [getattr(counter, name) for name in measures]
            for grain, (kept, monthly) in grains.items():
                key = (
                    grain, *(_kept(counter, name, kept) for name in dimensions),
                    counter.year, counter.month if monthly else 0,
                )  # fmt: skip
                sums = expected.setdefault(key, [0] * len(measures))
                for position, value in enumerate(values):
                    sums[position] += value
        found = {}
        for row in await session.scalars(select(rollup)):
            values = [getattr(row, name) for name in measures]
            if any(values):
                key = (row.grain, *(getattr(row, name) for name in dimensions), row.year, row.month)
                found[key] = values
        assert found == {key: sums for key, sums in expected.items() if any(sums)}


def _kept(counter: object, name: str, kept: tuple[str, ...]) -> object:
    """A daily counter's dimension as a roll-up keeps it: itself, or 0 ('' for the
    channel) when the roll-up drops it."""
    if name not in kept:
        return "" if name == "channel" else 0
    value = getattr(counter, name)
    return str(value) if name == "channel" else value


GROUPINGS = (
    [], ["year"], ["month"], ["site"], ["partner"], ["motive"], ["month", "partner"],
    ["year", "site"], ["partner", "site"], ["site", "month"], ["partner", "motive", "month"],
    ["month", "site"], ["site", "partner", "year"], ["motive", "partner"],
)  # fmt: skip
DESK_GROUPINGS = (
    [], ["month"], ["site"], ["partner"], ["theme"], ["channel"], ["partner", "theme", "channel"],
    ["site", "month"], ["partner", "site"], ["year", "site"],
    ["month", "channel", "theme", "partner"], ["site", "partner", "year"],
)  # fmt: skip


async def _two_houses_counted(
    session: AsyncSession, house: House, clock: Clock, create_user: Any
) -> accounts.Actor:
    """Sessions and desk requests in both houses; a coordinator of both (who reads the daily
    counters where an admin reads the roll-ups)."""
    first = await book(session, house, clock)
    await book(session, house, clock, start=paris(11), citizen=CitizenDetails("Jean", "Rigal"))
    await transitions.cancel(session, house.desk, first.id, reason="", now=clock(), links=LINKS)
    themes = (await session.scalars(select(RequestTheme.id).order_by(RequestTheme.id))).all()
    for site, partner, theme, channel in (
        (house.site.id, house.partner.id, themes[0], RequestChannel.PHONE),
        (house.site.id, None, themes[1], RequestChannel.EMAIL),
        (house.elsewhere.id, house.partner.id, themes[0], RequestChannel.IN_PERSON),
    ):  # fmt: skip
        await desk_tally.record(
            session, house.admin, site_id=site, partner_id=partner, theme_id=theme,
            channel=channel, accompanied=True, new_person=site == house.site.id, now=paris(10),
        )  # fmt: skip
    return accounts.actor_of(
        await create_user(Role.COORDINATOR, site_ids=[house.site.id, house.elsewhere.id])
    )


PERIODS = (
    (date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 3, 1), date(2026, 3, 31)),
    (date(2025, 1, 1), date(2026, 12, 31)), (date(2026, 4, 1), date(2026, 5, 31)),
)  # fmt: skip


async def test_the_roll_ups_answer_as_the_daily_counters(
    session: AsyncSession, house: House, clock: Clock, create_user: Any
) -> None:
    """The whole network's views read the roll-ups; a coordinator of every house reads the
    daily counters: the same answers, grouping by grouping, period by period."""
    everyone = await _two_houses_counted(session, house, clock, create_user)
    for first_day, last_day in PERIODS:
        for partner_id in (None, house.partner.id):
            span = {"first_day": first_day, "last_day": last_day, "partner_id": partner_id}
            for group_by in GROUPINGS:
                assert await statistics.session_counts(
                    session, house.admin, group_by=group_by, **span
                ) == await statistics.session_counts(
                    session, everyone, group_by=group_by, **span
                ), (group_by, span)
            for group_by in DESK_GROUPINGS:
                assert await statistics.desk_counts(
                    session, house.admin, group_by=group_by, today=TUESDAY, **span
                ) == await statistics.desk_counts(
                    session, everyone, group_by=group_by, today=TUESDAY, **span
                ), (group_by, span)
    # and the roll-ups were read
    filters = statistics.Filters(("site",), date(2026, 1, 1), date(2026, 12, 31))
    assert statistics._grain(house.admin, filters, statistics.SESSION_GRAINS) == (
        statistics.Grain("site_year", unique=True)
    )
    two_years = statistics.Filters(("site",), date(2025, 1, 1), date(2026, 12, 31))
    assert statistics._grain(house.admin, two_years, statistics.SESSION_GRAINS) == (
        statistics.Grain("site_year", unique=False)
    )
    assert statistics._grain(everyone, filters, statistics.SESSION_GRAINS) is None


async def test_the_largest_houses_are_the_first_of_every_house(
    session: AsyncSession, house: House, clock: Clock, create_user: Any
) -> None:
    """A page's table of the houses with the most sessions (requests) is the start of the
    whole table sorted the same way, with the count of all its rows: read from the
    roll-ups (an admin, the database sorting and cutting) or from the daily counters."""
    everyone = await _two_houses_counted(session, house, clock, create_user)
    for first_day, last_day in PERIODS:
        for partner_id in (None, house.partner.id):
            span = {"first_day": first_day, "last_day": last_day, "partner_id": partner_id}
            for actor in (house.admin, everyone):
                every = await statistics.session_counts(session, actor, group_by=["site"], **span)
                every.sort(key=lambda row: (-row.held, str(row.keys["site_name"])))
                for limit in (None, 1):
                    largest = await statistics.houses_by_sessions(
                        session, actor, limit=limit, **span
                    )
                    assert largest.count == len(every)
                    assert largest.rows == every[:limit], (span, limit)
                requests = await statistics.desk_counts(
                    session, actor, group_by=["site"], today=TUESDAY, **span
                )
                requests.sort(key=lambda row: (-row.requests, str(row.keys["site_name"])))
                for limit in (None, 1):
                    found = await statistics.houses_by_requests(
                        session, actor, limit=limit, today=TUESDAY, **span
                    )
                    assert found.count == len(requests)
                    assert found.rows == requests[:limit], (span, limit)
    # the year's desk requests: one house ahead of the other, both counted
    year = {"first_day": date(2026, 1, 1), "last_day": date(2026, 12, 31)}
    found = await statistics.houses_by_requests(
        session, house.admin, limit=1, today=TUESDAY, **year
    )
    assert found.count == 2
    assert [row.keys["site_id"] for row in found.rows] == [house.site.id]
    assert found.rows[0].requests == 2 and found.rows[0].opening_days > 200
