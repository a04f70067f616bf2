"""An appointment's changes of state, straight through `visio.services.transitions`.

Promised: a cancellation keeps its reason, frees the time at once, tells the agent and
the citizen and withdraws what was still to be sent; an outcome is recorded once the
appointment has started, and only once; arrival is marked once, at its first time; the
partner agent cancels and records outcomes of their own appointments but neither marks
arrivals nor moves; every refusal leaves the appointment as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import (
    JEAN,
    LINKS,
    TUESDAY,
    House,
    book,
    messages,
    paris,
    row_counts,
    stored,
    use_case,
)
from visio.db.models import AppointmentEvent, AuditEntry, OutboxStatus
from visio.domain import AppointmentStatus
from visio.services import booking, slots, transitions
from visio.services.errors import InvalidTransition, NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.records import AppointmentView

STARTED = datetime(2026, 3, 17, 9, 5, tzinfo=UTC)  # 10:05 in Murat
OVER = datetime(2026, 3, 17, 9, 30, tzinfo=UTC)  # 10:30 in Murat: the end


async def cancel(
    session: AsyncSession, actor: Actor, appointment_id: int, clock: Clock, reason: str = ""
) -> AppointmentView:
    return await transitions.cancel(
        session, actor, appointment_id, reason=reason, now=clock(), links=LINKS
    )


async def outcome(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    clock: Clock,
    status: AppointmentStatus = AppointmentStatus.HELD,
    note: str = "",
) -> AppointmentView:
    return await transitions.record_outcome(
        session, actor, appointment_id, status=status, note=note, now=clock()
    )


async def offered(session: AsyncSession, house: House, clock: Clock) -> list[datetime]:
    """The starts the desk is offered with Isabelle Delmas on Tuesday."""
    found = await slots.search_slots(
        session, house.desk, site_id=house.site.id, motive_id=house.motive.id,
        first_day=TUESDAY, last_day=TUESDAY, now=clock(), agent_id=house.agent.id,
    )  # fmt: skip
    return sorted({slot.start for slot in found.slots})


# ---------------------------------------------------------------- cancelling


async def test_a_cancellation_keeps_its_reason_and_frees_the_time(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    assert paris(10) not in await offered(session, house, clock)

    cancelled = await cancel(session, house.desk, view.id, clock, reason="Empêchement")

    assert cancelled.status is AppointmentStatus.CANCELLED
    assert cancelled.cancel_reason == "Empêchement"
    assert cancelled.start == view.start and cancelled.citizen == view.citizen
    row = await stored(session, view.id)
    assert (row.status, row.cancel_reason, row.sequence) == (
        AppointmentStatus.CANCELLED,
        "Empêchement",
        1,
    )
    assert paris(10) in await offered(session, house, clock)
    events = (
        await session.execute(
            select(AppointmentEvent.from_status, AppointmentEvent.to_status, AppointmentEvent.note)
            .where(AppointmentEvent.appointment_id == view.id)
            .order_by(AppointmentEvent.id)
        )
    ).all()  # fmt: skip
    assert [tuple(event) for event in events] == [
        (None, AppointmentStatus.BOOKED, ""),
        (AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED, "Empêchement"),
    ]
    actions = (
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "appointment", AuditEntry.entity_id == view.id)
            .order_by(AuditEntry.id)
        )
    ).all()
    assert actions == ["appointment.book", "appointment.cancelled"]
    # The freed time is booked again at once, by someone else.
    again = await book(session, house, clock, agent=house.agent, citizen=JEAN)
    assert again.start == paris(10)


async def test_a_cancellation_is_told_and_withdraws_what_was_waiting(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    await cancel(session, house.desk, view.id, clock, reason="Empêchement")

    queued = [(message.kind, message.status) for message in await messages(session, view.id)]
    assert sorted(queued) == sorted(
        [
            ("booked.agent", OutboxStatus.CANCELLED),
            ("booked.citizen", OutboxStatus.CANCELLED),
            ("reminder.agent", OutboxStatus.CANCELLED),
            ("reminder.agent", OutboxStatus.CANCELLED),
            ("reminder.citizen", OutboxStatus.CANCELLED),
            ("reminder.citizen", OutboxStatus.CANCELLED),
            ("cancelled.agent", OutboxStatus.PENDING),
            ("cancelled.citizen", OutboxStatus.PENDING),
        ]
    )
    assert queued[-2:] == [
        ("cancelled.agent", OutboxStatus.PENDING),
        ("cancelled.citizen", OutboxStatus.PENDING),
    ]


async def test_a_confirmation_already_sent_stays_sent(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    for message in await messages(session, view.id):
        if message.kind.startswith("booked."):
            message.status = OutboxStatus.SENT
    await session.flush()

    await cancel(session, house.desk, view.id, clock)

    confirmations = [m for m in await messages(session, view.id) if m.kind.startswith("booked.")]
    assert {message.status for message in confirmations} == {OutboxStatus.SENT}


async def test_a_cancellation_after_the_end_is_refused(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = OVER
    before = await row_counts(session)

    with pytest.raises(InvalidTransition):
        async with use_case(session):
            await cancel(session, house.desk, view.id, clock)

    assert await row_counts(session) == before
    assert (await stored(session, view.id)).status is AppointmentStatus.BOOKED


async def test_a_started_appointment_may_still_be_cancelled(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = STARTED

    cancelled = await cancel(session, house.agent_actor, view.id, clock, reason="Coupure réseau")

    assert cancelled.status is AppointmentStatus.CANCELLED


# ---------------------------------------------------------------- outcomes


async def test_an_outcome_before_the_start_is_refused(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = datetime(2026, 3, 17, 8, 59, tzinfo=UTC)  # 09:59 in Murat
    before = await row_counts(session)

    with pytest.raises(InvalidTransition):
        async with use_case(session):
            await outcome(session, house.agent_actor, view.id, clock)

    assert await row_counts(session) == before
    assert (await stored(session, view.id)).status is AppointmentStatus.BOOKED


@pytest.mark.parametrize(
    "status",
    [AppointmentStatus.HELD, AppointmentStatus.NO_SHOW, AppointmentStatus.AGENT_ABSENT],
)
async def test_each_outcome_is_recorded_with_its_note(
    session: AsyncSession, house: House, clock: Clock, status: AppointmentStatus
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = STARTED

    recorded = await outcome(session, house.desk, view.id, clock, status, note="Dossier vu")

    assert (recorded.status, recorded.outcome_note) == (status, "Dossier vu")
    row = await stored(session, view.id)
    assert (row.status, row.outcome_note, row.updated_at) == (status, "Dossier vu", STARTED)
    last = (
        await session.execute(
            select(AppointmentEvent.to_status, AppointmentEvent.by_user_id, AppointmentEvent.at)
            .where(AppointmentEvent.appointment_id == view.id)
            .order_by(AppointmentEvent.id.desc())
        )
    ).first()  # fmt: skip
    assert last is not None and tuple(last) == (status, house.desk.user_id, STARTED)


@pytest.mark.parametrize("status", [AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED])
async def test_an_outcome_is_held_or_missed_nothing_else(
    session: AsyncSession, house: House, clock: Clock, status: AppointmentStatus
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = STARTED

    with pytest.raises(InvalidTransition):
        async with use_case(session):
            await outcome(session, house.desk, view.id, clock, status)

    assert (await stored(session, view.id)).status is AppointmentStatus.BOOKED


async def test_a_settled_appointment_changes_no_more(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    cancelled = await book(session, house, clock, agent=house.colleague, citizen=JEAN)
    await cancel(session, house.desk, cancelled.id, clock)
    clock.now = STARTED
    await outcome(session, house.agent_actor, held.id, clock, note="Dossier complété")
    before = await row_counts(session)

    changes: list[Callable[[], Awaitable[AppointmentView]]] = [
        lambda: outcome(session, house.desk, held.id, clock, AppointmentStatus.NO_SHOW),
        lambda: cancel(session, house.desk, held.id, clock),
        lambda: transitions.mark_arrived(session, house.desk, held.id, now=clock()),
        lambda: cancel(session, house.desk, cancelled.id, clock),
        lambda: outcome(session, house.desk, cancelled.id, clock),
        lambda: transitions.mark_arrived(session, house.desk, cancelled.id, now=clock()),
    ]
    for change in changes:
        with pytest.raises(InvalidTransition):
            async with use_case(session):
                await change()

    assert await row_counts(session) == before
    row = await stored(session, held.id)
    assert (row.status, row.outcome_note) == (AppointmentStatus.HELD, "Dossier complété")
    assert (await stored(session, cancelled.id)).status is AppointmentStatus.CANCELLED


# ---------------------------------------------------------------- arrival


async def test_arrival_is_marked_once_at_its_first_time(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = datetime(2026, 3, 17, 8, 55, tzinfo=UTC)  # 09:55 in Murat

    first = await transitions.mark_arrived(session, house.desk, view.id, now=clock())
    clock.now = datetime(2026, 3, 17, 9, 2, tzinfo=UTC)
    second = await transitions.mark_arrived(session, house.desk, view.id, now=clock())

    assert first.arrived_at is not None
    assert first.arrived_at.isoformat() == "2026-03-17T09:55:00+01:00"
    assert second.arrived_at == first.arrived_at
    assert second.status is AppointmentStatus.BOOKED
    assert (await stored(session, view.id)).arrived_at == datetime(2026, 3, 17, 8, 55, tzinfo=UTC)
    arrivals = (
        await session.scalars(
            select(AuditEntry.at).where(
                AuditEntry.action == "appointment.arrived", AuditEntry.entity_id == view.id
            )
        )
    ).all()
    assert arrivals == [datetime(2026, 3, 17, 8, 55, tzinfo=UTC)]


# ---------------------------------------------------------------- who may


async def test_the_agent_cancels_and_records_outcomes_of_their_own(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock, agent=house.agent)
    second = await book(session, house, clock, agent=house.agent, start=paris(11), citizen=JEAN)

    cancelled = await cancel(session, house.agent_actor, second.id, clock, reason="Congé")
    clock.now = STARTED
    held = await outcome(session, house.agent_actor, first.id, clock)

    assert (cancelled.status, cancelled.cancel_reason) == (AppointmentStatus.CANCELLED, "Congé")
    assert held.status is AppointmentStatus.HELD


async def test_that_the_agent_never_came_is_for_the_desk_to_record(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = STARTED
    with pytest.raises(NotAllowed):
        async with use_case(session):
            await outcome(session, house.agent_actor, view.id, clock,
                          status=AppointmentStatus.AGENT_ABSENT)  # fmt: skip
    assert (await stored(session, view.id)).status is AppointmentStatus.BOOKED
    page = await transitions.detail(session, house.agent_actor, view.id, now=clock())
    assert page.outcomes == (AppointmentStatus.HELD, AppointmentStatus.NO_SHOW)
    desk = await transitions.detail(session, house.desk, view.id, now=clock())
    assert AppointmentStatus.AGENT_ABSENT in desk.outcomes
    missed = await outcome(session, house.desk, view.id, clock,
                           status=AppointmentStatus.AGENT_ABSENT)  # fmt: skip
    assert missed.status is AppointmentStatus.AGENT_ABSENT


async def test_the_agent_neither_marks_arrivals_nor_moves(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    before = await row_counts(session)

    with pytest.raises(NotAllowed):
        async with use_case(session):
            await transitions.mark_arrived(session, house.agent_actor, view.id, now=clock())
    with pytest.raises(NotAllowed):
        async with use_case(session):
            await booking.reschedule(
                session, house.agent_actor, view.id, start=paris(11), agent_id=None,
                station_id=None, now=clock(), links=LINKS,
            )  # fmt: skip

    assert await row_counts(session) == before
    assert (await stored(session, view.id)).arrived_at is None


async def test_others_cannot_touch_an_appointment(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Another agent and another house's desk are told it does not exist; a coordinator,
    who only counts, is refused."""
    view = await book(session, house, clock, agent=house.agent)
    clock.now = STARTED
    before = await row_counts(session)
    refusals: list[tuple[Actor, type[Exception]]] = [
        (house.colleague_actor, NotFound),
        (house.other_desk, NotFound),
        (house.coordinator, NotAllowed),
    ]

    for actor, refusal in refusals:
        with pytest.raises(refusal):
            async with use_case(session):
                await cancel(session, actor, view.id, clock)
        with pytest.raises(refusal):
            async with use_case(session):
                await outcome(session, actor, view.id, clock)
    # Marking an arrival is the desk's: a partner agent is refused before anything is read.
    arrivals: list[tuple[Actor, type[Exception]]] = [
        (house.colleague_actor, NotAllowed),
        (house.other_desk, NotFound),
        (house.coordinator, NotAllowed),
    ]
    for actor, refusal in arrivals:
        with pytest.raises(refusal):
            async with use_case(session):
                await transitions.mark_arrived(session, actor, view.id, now=clock())

    assert await row_counts(session) == before
    row = await stored(session, view.id)
    assert (row.status, row.arrived_at) == (AppointmentStatus.BOOKED, None)


async def test_an_unknown_appointment_is_not_found(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    with pytest.raises(NotFound):
        await cancel(session, house.admin, 999_999, clock)
