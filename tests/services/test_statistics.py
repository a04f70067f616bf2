"""The statistics' counters, straight through `visio.services.statistics`.

Promised: after any sequence of bookings, moves, cancellations and outcomes the counters
equal a count of the appointments themselves (and the sum of their minutes), per house,
partner, motive, agent, day of the house's calendar and status; `rebuild` counts the same;
a refused change moves no counter.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import LINKS, TUESDAY, House, book, paris, use_case
from visio.db.models import Appointment, Citizen, SessionCount, Site
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone
from visio.services import booking, statistics, transitions
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
        await example.rollback()


async def test_rebuild_counts_what_the_changes_counted(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    await book(session, house, clock, start=paris(11), citizen=CitizenDetails("Jean", "Rigal"))
    await transitions.cancel(session, house.desk, first.id, reason="", now=clock(), links=LINKS)
    kept = await counters(session)
    assert kept == await raw_counts(session)
    assert await statistics.rebuild(session) == 2
    assert await counters(session) == kept


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
