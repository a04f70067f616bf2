"""Booking and moving an appointment, straight through `visio.services.booking`.

Promised: a free slot becomes an appointment written with its history, its audit entry
and its messages, all at once, and answered in the house's own time with the names its
pages show; a slot not free is refused with the next free ones, and a refused booking or
move leaves nothing behind; only the desk of the house (or an admin) books and moves.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import (
    JEAN,
    LINKS,
    MONIQUE,
    House,
    book,
    messages,
    paris,
    row_counts,
    stored,
    use_case,
)
from visio.db.models import AppointmentEvent, AuditEntry, Motive, OutboxStatus
from visio.domain import AppointmentStatus
from visio.services import booking, transitions
from visio.services.booking import BookingRequest
from visio.services.citizens import CitizenDetails
from visio.services.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    SlotUnavailable,
)
from visio.services.permissions import Actor
from visio.services.records import AppointmentView


async def history(session: AsyncSession, appointment_id: int) -> list[tuple[object, ...]]:
    rows = await session.execute(
        select(
            AppointmentEvent.from_status,
            AppointmentEvent.to_status,
            AppointmentEvent.by_user_id,
            AppointmentEvent.at,
            AppointmentEvent.note,
        )
        .where(AppointmentEvent.appointment_id == appointment_id)
        .order_by(AppointmentEvent.id)
    )
    return [tuple(row) for row in rows]


async def audited(session: AsyncSession, appointment_id: int) -> list[tuple[object, ...]]:
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.user_id, AuditEntry.details)
        .where(AuditEntry.entity == "appointment", AuditEntry.entity_id == appointment_id)
        .order_by(AuditEntry.id)
    )
    return [tuple(row) for row in rows]


def offered_instead(refused: SlotUnavailable) -> list[dict[str, object]]:
    """The free slots a refused booking proposes instead."""
    next_slots = refused.extra["next_slots"]
    assert isinstance(next_slots, list)
    return next_slots


async def move(
    session: AsyncSession,
    house: House,
    clock: Clock,
    appointment_id: int,
    start: datetime,
    *,
    agent_id: int | None = None,
    actor: Actor | None = None,
) -> AppointmentView:
    return await booking.reschedule(
        session, actor or house.desk, appointment_id, start=start, agent_id=agent_id,
        station_id=None, now=clock(), links=LINKS,
    )  # fmt: skip


# ---------------------------------------------------------------- booking


async def test_a_free_slot_is_booked_in_the_house_time_with_its_names(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    assert view.status is AppointmentStatus.BOOKED
    assert view.reference == f"V-{view.id:06d}"
    # Tuesday 17 March, 10:00 in Murat: UTC+1, as the desk reads it.
    assert view.start == datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    assert (view.start.isoformat(), view.end.isoformat()) == (
        "2026-03-17T10:00:00+01:00",
        "2026-03-17T10:30:00+01:00",
    )
    assert view.timezone == "Europe/Paris"
    assert (view.site_id, view.site_name) == (house.site.id, "France Services Murat")
    assert (view.partner_id, view.partner_name) == (
        house.partner.id,
        "Caisse d'allocations familiales",
    )
    assert (view.motive_id, view.motive_name) == (house.motive.id, "Prime d'activité")
    assert (view.agent_id, view.agent_name) == (house.agent.id, "Isabelle Delmas")
    assert view.station_id in {station.id for station in house.stations}
    assert view.citizen is not None and view.citizen_name == "Monique Chassang"
    assert view.citizen.email == MONIQUE.email
    assert view.room.startswith("visio-") and "chassang" not in view.room.lower()
    assert view.rescheduled_from_id is None
    assert (view.arrived_at, view.agent_joined_at, view.agent_presence) == (None, None, "")


async def test_a_booking_writes_its_appointment_history_audit_and_messages(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    row = await stored(session, view.id)
    assert (row.start_at, row.end_at) == (
        datetime(2026, 3, 17, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 17, 9, 30, tzinfo=UTC),
    )
    # The motive's ten minutes after keep the agent and the station busy too.
    assert (row.busy_from, row.busy_until) == (row.start_at, row.end_at + timedelta(minutes=10))
    assert view.citizen is not None
    assert (row.booked_by_id, row.sequence, row.citizen_id) == (
        house.desk.user_id,
        0,
        view.citizen.id,
    )
    assert await history(session, view.id) == [
        (None, AppointmentStatus.BOOKED, house.desk.user_id, clock(), "")
    ]
    assert await audited(session, view.id) == [
        (
            "appointment.book",
            house.desk.user_id,
            {"site_id": house.site.id, "motive_id": house.motive.id, "agent_id": house.agent.id,
             "station_id": view.station_id, "start": "2026-03-17T09:00:00+00:00"},
        )
    ]  # fmt: skip
    queued = [
        (message.kind, message.recipient_email, message.next_attempt_at, message.status)
        for message in await messages(session, view.id)
    ]
    agent, citizen = "isabelle.delmas@caf.example", "monique.chassang@courriel.example"
    day_before = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    hour_before = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    pending = OutboxStatus.PENDING
    assert sorted(queued) == sorted(
        [
            ("booked.agent", agent, clock(), pending),
            ("booked.citizen", citizen, clock(), pending),
            ("reminder.agent", agent, day_before, pending),
            ("reminder.citizen", citizen, day_before, pending),
            ("reminder.agent", agent, hour_before, pending),
            ("reminder.citizen", citizen, hour_before, pending),
        ]
    )


async def test_a_citizen_without_email_gets_no_message_the_agent_does(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, citizen=JEAN)

    assert sorted(message.kind for message in await messages(session, view.id)) == [
        "booked.agent",
        "reminder.agent",
        "reminder.agent",
    ]


async def test_a_reminder_whose_time_has_passed_is_not_queued(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)  # 23 hours before: the day-before is past

    view = await book(session, house, clock, citizen=JEAN)

    assert [
        (message.kind, message.next_attempt_at)
        for message in await messages(session, view.id)
        if message.kind.startswith("reminder.")
    ] == [("reminder.agent", datetime(2026, 3, 17, 8, 0, tzinfo=UTC))]


async def test_the_first_free_agent_is_chosen_when_none_is_named(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    second = await book(session, house, clock, citizen=JEAN)

    # Both hold the morning: the first booking takes the first agent by id, the second the
    # other one, at the other station.
    assert (first.agent_id, second.agent_id) == (house.agent.id, house.colleague.id)
    assert second.agent_name == "Thomas Bonnet"
    assert {first.station_id, second.station_id} == {station.id for station in house.stations}
    assert first.start == second.start == paris(10)


async def test_a_taken_slot_is_refused_with_the_next_free_ones_and_writes_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, agent=house.agent)
    before = await row_counts(session)

    with pytest.raises(SlotUnavailable) as refused:
        async with use_case(session):
            await book(session, house, clock, agent=house.agent, citizen=JEAN)

    assert await row_counts(session) == before
    next_slots = offered_instead(refused.value)
    assert len(next_slots) == booking.NEXT_SLOTS
    # Isabelle Delmas is busy until 10:40 (ten minutes after): her next half-hour is 11:00.
    assert next_slots[0] == {
        "start": "2026-03-17T11:00:00+01:00",
        "end": "2026-03-17T11:30:00+01:00",
        "agent_id": house.agent.id,
        "station_id": next_slots[0]["station_id"],
    }
    assert all(slot["agent_id"] == house.agent.id for slot in next_slots)
    starts = [datetime.fromisoformat(str(slot["start"])) for slot in next_slots]
    assert starts == sorted(starts) and paris(10) not in starts


async def test_when_every_agent_and_station_is_taken_nothing_is_left_to_choose(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock)
    await book(session, house, clock, citizen=JEAN)
    before = await row_counts(session)
    late = CitizenDetails(first_name="Rose", last_name="Vermenouze")

    with pytest.raises(SlotUnavailable) as refused:
        async with use_case(session):
            await book(session, house, clock, citizen=late)

    assert await row_counts(session) == before
    assert offered_instead(refused.value)[0]["start"] == "2026-03-17T11:00:00+01:00"


@pytest.mark.parametrize(
    ("start", "why"),
    [
        (paris(12), "after the permanence"),
        (paris(10, 10), "not on the half-hour grid"),
        (paris(10, day=date(2026, 3, 16)), "Monday: no permanence"),
        (paris(8, 30), "before the house opens"),
        (datetime(2026, 3, 16, 8, 30, tzinfo=UTC), "within the hour of notice"),
    ],
)
async def test_a_time_that_is_no_slot_is_refused(
    session: AsyncSession, house: House, clock: Clock, start: datetime, why: str
) -> None:
    before = await row_counts(session)

    with pytest.raises(SlotUnavailable):
        async with use_case(session):
            await book(session, house, clock, start=start)

    assert await row_counts(session) == before, why


async def test_an_unknown_or_retired_motive_is_not_found(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    retired = Motive(
        partner_id=house.partner.id, name="Ancien motif", duration_minutes=30, active=False
    )
    session.add(retired)
    await session.flush()
    before = await row_counts(session)
    for motive_id in (retired.id, retired.id + 1000):
        request = BookingRequest(
            site_id=house.site.id, motive_id=motive_id, start=paris(10), citizen=MONIQUE
        )
        with pytest.raises(NotFound):
            async with use_case(session):
                await booking.book(session, house.desk, request, now=clock(), links=LINKS)
    assert await row_counts(session) == before


async def test_a_desk_of_another_house_is_told_it_does_not_exist(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    before = await row_counts(session)

    with pytest.raises(NotFound):
        async with use_case(session):
            await book(session, house, clock, actor=house.other_desk)

    assert await row_counts(session) == before


@pytest.mark.parametrize("who", ["agent_actor", "coordinator"])
async def test_agents_and_coordinators_do_not_book(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    actor: Actor = getattr(house, who)
    before = await row_counts(session)

    with pytest.raises(NotAllowed):
        async with use_case(session):
            await book(session, house, clock, actor=actor)

    assert await row_counts(session) == before


async def test_an_admin_books_anywhere(session: AsyncSession, house: House, clock: Clock) -> None:
    view = await book(session, house, clock, actor=house.admin)

    assert view.site_id == house.site.id
    assert (await stored(session, view.id)).booked_by_id == house.admin.user_id


async def test_the_same_citizen_is_not_booked_twice_at_once(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    before = await row_counts(session)
    # The same person typed again (another case, no accent care): the desk's mistake.
    again = CitizenDetails(
        first_name="MONIQUE", last_name="chassang", birth_date=MONIQUE.birth_date
    )

    with pytest.raises(Conflict) as refused:
        async with use_case(session):
            await book(session, house, clock, citizen=again)

    assert type(refused.value) is Conflict
    assert first.reference in str(refused.value)
    assert set(refused.value.fields) == {"start"}
    assert await row_counts(session) == before


async def test_the_same_citizen_may_come_back_later_the_same_day(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock)
    later = await book(session, house, clock, start=paris(11))

    assert later.citizen is not None and first.citizen is not None
    assert later.citizen.id == first.citizen.id


# ---------------------------------------------------------------- moving


async def test_a_move_cancels_the_old_and_books_the_new_linked(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)

    new = await move(session, house, clock, old.id, paris(11))

    assert new.id != old.id
    assert new.rescheduled_from_id == old.id
    assert new.start.isoformat() == "2026-03-17T11:00:00+01:00"
    assert new.status is AppointmentStatus.BOOKED
    assert (new.agent_id, new.motive_id, new.site_id) == (old.agent_id, old.motive_id, old.site_id)
    assert new.citizen == old.citizen
    assert new.room != old.room
    previous = await stored(session, old.id)
    assert previous.status is AppointmentStatus.CANCELLED
    assert previous.cancel_reason == "rescheduled"
    # One calendar event, one more version: the new appointment carries the sequence on.
    assert previous.sequence == 1
    assert (await stored(session, new.id)).sequence == 1
    assert (await history(session, old.id))[-1] == (
        AppointmentStatus.BOOKED,
        AppointmentStatus.CANCELLED,
        house.desk.user_id,
        clock(),
        "rescheduled",
    )
    assert await history(session, new.id) == [
        (None, AppointmentStatus.BOOKED, house.desk.user_id, clock(), f"rescheduled from {old.id}")
    ]
    assert await audited(session, new.id) == [
        (
            "appointment.reschedule",
            house.desk.user_id,
            {"from_appointment": old.id, "agent_id": house.agent.id,
             "station_id": new.station_id, "start": "2026-03-17T10:00:00+00:00"},
        )
    ]  # fmt: skip


async def test_a_move_says_rescheduled_and_withdraws_the_old_messages(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)

    new = await move(session, house, clock, old.id, paris(11))

    assert {(message.kind, message.status) for message in await messages(session, old.id)} == {
        ("booked.agent", OutboxStatus.CANCELLED),
        ("booked.citizen", OutboxStatus.CANCELLED),
        ("reminder.agent", OutboxStatus.CANCELLED),
        ("reminder.citizen", OutboxStatus.CANCELLED),
    }
    assert sorted(
        (message.kind, message.status) for message in await messages(session, new.id)
    ) == sorted(
        [("rescheduled.agent", OutboxStatus.PENDING), ("rescheduled.citizen", OutboxStatus.PENDING)]
        + [("reminder.agent", OutboxStatus.PENDING), ("reminder.citizen", OutboxStatus.PENDING)] * 2
    )


async def test_a_move_may_overlap_its_own_old_time(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent, station=house.stations[0])

    new = await booking.reschedule(
        session, house.desk, old.id, start=paris(10, 30), agent_id=house.agent.id,
        station_id=house.stations[0].id, now=clock(), links=LINKS,
    )  # fmt: skip

    assert (new.start, new.agent_id, new.station_id) == (
        paris(10, 30),
        house.agent.id,
        house.stations[0].id,
    )


async def test_a_move_to_a_taken_time_changes_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)
    await book(session, house, clock, agent=house.agent, start=paris(11), citizen=JEAN)
    before = await row_counts(session)

    with pytest.raises(SlotUnavailable) as refused:
        async with use_case(session):
            await move(session, house, clock, old.id, paris(11), agent_id=house.agent.id)

    assert offered_instead(refused.value)
    assert await row_counts(session) == before
    kept = await stored(session, old.id)
    assert (kept.status, kept.cancel_reason, kept.sequence) == (AppointmentStatus.BOOKED, "", 0)
    assert {message.status for message in await messages(session, old.id)} == {OutboxStatus.PENDING}


async def test_a_move_to_another_agent(session: AsyncSession, house: House, clock: Clock) -> None:
    old = await book(session, house, clock, agent=house.agent)

    new = await move(session, house, clock, old.id, paris(11), agent_id=house.colleague.id)

    assert (new.agent_id, new.agent_name) == (house.colleague.id, "Thomas Bonnet")


async def test_a_move_onto_another_appointment_of_the_same_citizen_is_refused(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """One person, one place at a time, whether booked or moved there: Monique has 10:00
    with Isabelle Delmas; moving her 11:00 with Thomas Bonnet onto 10:00 books her twice."""
    await book(session, house, clock, agent=house.agent)
    later = await book(session, house, clock, agent=house.colleague, start=paris(11))
    before = await row_counts(session)

    with pytest.raises(Conflict):
        async with use_case(session):
            await move(session, house, clock, later.id, paris(10), agent_id=house.colleague.id)

    assert await row_counts(session) == before


async def test_a_cancelled_or_started_appointment_does_not_move(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    started = await book(session, house, clock, agent=house.agent)
    cancelled = await book(session, house, clock, start=paris(11), citizen=JEAN)
    await transitions.cancel(session, house.desk, cancelled.id, reason="", now=clock(), links=LINKS)
    with pytest.raises(InvalidTransition):
        async with use_case(session):
            await move(session, house, clock, cancelled.id, paris(11, 30))

    clock.now = datetime(2026, 3, 17, 9, 5, tzinfo=UTC)  # 10:05 in Murat: it has started
    before = await row_counts(session)
    with pytest.raises(InvalidTransition):
        async with use_case(session):
            await move(session, house, clock, started.id, paris(11, 30))

    assert await row_counts(session) == before
    assert (await stored(session, started.id)).status is AppointmentStatus.BOOKED


async def test_only_the_house_desk_or_an_admin_moves(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    before = await row_counts(session)

    for actor, refusal in (
        (house.other_desk, NotFound),
        (house.agent_actor, NotAllowed),
        (house.coordinator, NotAllowed),
    ):
        with pytest.raises(refusal):
            async with use_case(session):
                await move(session, house, clock, view.id, paris(11), actor=actor)
    assert await row_counts(session) == before

    moved = await move(session, house, clock, view.id, paris(11), actor=house.admin)
    assert moved.rescheduled_from_id == view.id
