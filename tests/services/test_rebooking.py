"""Set-up changes that take booked appointments' agent or station away: shown first and
refused until confirmed (nothing written), then set aside to rebook, their citizens and
agents told, listed for their houses' desks until moved (`visio.services.rebooking`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import JEAN, LINKS, House, book, paris, use_case
from visio.db.models import Appointment, AuditEntry, AvailabilityRule, OutboxMessage
from visio.domain import OutboxStatus, RebookReason
from visio.notify.compose import compose
from visio.notify.facts import MessageFacts
from visio.services import absences, booking, rebooking, setup
from visio.services.errors import InvalidInput, NotAllowed
from visio.services.rebooking import WouldStrand
from visio.services.setup import RuleSettings


async def rule_of(session: AsyncSession, house: House) -> AvailabilityRule:
    """Isabelle's Tuesday-morning permanence at Murat."""
    found = await session.scalar(
        select(AvailabilityRule).where(AvailabilityRule.agent_id == house.agent.id)
    )
    assert found is not None
    return found


async def pending_kinds(session: AsyncSession, appointment_id: int) -> list[str]:
    rows = await session.scalars(
        select(OutboxMessage.kind)
        .where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .order_by(OutboxMessage.kind)
    )
    return list(rows)


async def marked(session: AsyncSession, appointment_id: int) -> RebookReason | None:
    await session.flush()
    appointment = await session.get(Appointment, appointment_id, populate_existing=True)
    assert appointment is not None
    return appointment.to_rebook_reason


async def audit_count(session: AsyncSession) -> int:
    await session.flush()
    return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def last_audit_id(session: AsyncSession) -> int:
    await session.flush()
    return int(await session.scalar(select(func.max(AuditEntry.id))) or 0)


async def test_a_permanence_cut_short_asks_then_sets_its_bookings_aside(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Isabelle's Tuesday permanence ending at 10:00 leaves her 10:00 appointment with
    nobody: refused with it listed, nothing written; confirmed, it is set aside, Monique
    and Isabelle told, her reminders withdrawn, and Murat's desk sees it to rebook."""
    held = await book(session, house, clock, agent=house.agent)
    early = await book(session, house, clock, agent=house.agent, start=paris(9), citizen=JEAN)
    rule = await rule_of(session, house)
    before, last_id = await audit_count(session), await last_audit_id(session)
    assert "reminder.agent" in await pending_kinds(session, held.id)

    with pytest.raises(WouldStrand) as refused:
        async with use_case(session):
            await setup.change_rule(
                session, house.admin, house.agent.id, rule.id, changes={"end": time(10)},
                links=LINKS, now=clock(),
            )  # fmt: skip
    assert [view.id for view in refused.value.stranded] == [held.id]
    listed = refused.value.extra["appointments"]
    assert listed == [{
        "id": held.id, "reference": held.reference, "start": "2026-03-17T10:00:00+01:00",
        "site_id": house.site.id, "site_name": house.site.name, "agent_id": house.agent.id,
        "agent_name": house.agent.name,
    }]  # fmt: skip
    assert refused.value.extra["appointments_count"] == 1
    assert await marked(session, held.id) is None
    assert (await session.get(AvailabilityRule, rule.id, populate_existing=True)).end == time(12)  # type: ignore[union-attr]
    assert await audit_count(session) == before

    changed = await setup.change_rule(
        session, house.admin, house.agent.id, rule.id, changes={"end": time(10)},
        confirm=True, links=LINKS, now=clock(),
    )  # fmt: skip

    assert changed.end == "10:00"
    assert await marked(session, held.id) is RebookReason.PERMANENCE_CHANGED
    assert await marked(session, early.id) is None  # 9:00-9:30 is still held
    # The confirmations not sent yet and the reminders are withdrawn: they would mislead.
    assert await pending_kinds(session, held.id) == ["to_rebook.agent", "to_rebook.citizen"]
    to_rebook = await rebooking.to_rebook(session, house.desk, now=clock())
    assert [(view.id, view.to_rebook_reason) for view in to_rebook] == [
        (held.id, RebookReason.PERMANENCE_CHANGED)
    ]
    assert to_rebook[0].to_rebook_since == clock().astimezone(to_rebook[0].start.tzinfo)
    assert await rebooking.to_rebook(session, house.other_desk, now=clock()) == []
    with pytest.raises(NotAllowed):
        await rebooking.to_rebook(session, house.coordinator, now=clock())
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.id > last_id).order_by(AuditEntry.id)
    )
    assert list(actions) == ["appointment.to_rebook", "rule.change"]


async def test_the_desk_moves_it_and_it_leaves_the_list(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    await setup.create_absence(
        session, house.admin, agent_id=house.agent.id, start=paris(10), end=paris(11),
        reason="Formation", confirm=True, links=LINKS, now=clock(),
    )  # fmt: skip
    assert await marked(session, held.id) is RebookReason.AGENT_ABSENT

    moved = await booking.reschedule(
        session, house.desk, held.id, start=paris(11), agent_id=house.colleague.id,
        station_id=None, now=clock(), links=LINKS,
    )  # fmt: skip

    assert moved.to_rebook_reason is None
    assert await rebooking.to_rebook(session, house.desk, now=clock()) == []


async def test_a_change_that_keeps_every_booking_needs_no_confirmation(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    rule = await rule_of(session, house)

    longer = await setup.change_rule(
        session, house.admin, house.agent.id, rule.id,
        changes={"end": time(13), "weekdays": [2, 4]}, links=LINKS, now=clock(),
    )  # fmt: skip
    assert (longer.end, longer.weekdays) == ("13:00", [2, 4])
    # An absence, a closure of the other station, elsewhere: nobody loses anything.
    other_station = next(s for s in house.stations if s.id != held.station_id)
    await setup.create_closure(
        session, house.admin, site_id=house.site.id, start=paris(9), end=paris(12),
        reason="", station_id=other_station.id, links=LINKS, now=clock(),
    )  # fmt: skip
    await setup.create_absence(
        session, house.admin, agent_id=house.colleague.id, start=paris(9), end=paris(12),
        reason="", links=LINKS, now=clock(),
    )  # fmt: skip
    assert await marked(session, held.id) is None


async def test_removing_the_only_permanence_that_held_it(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    rule = await rule_of(session, house)

    with pytest.raises(WouldStrand):
        async with use_case(session):
            await setup.delete_rule(
                session, house.admin, house.agent.id, rule.id, links=LINKS, now=clock()
            )
    assert await session.get(AvailabilityRule, rule.id) is not None

    await setup.delete_rule(
        session, house.admin, house.agent.id, rule.id, confirm=True, links=LINKS, now=clock()
    )
    assert await setup.list_rules(session, house.admin, house.agent.id) == []
    assert await marked(session, held.id) is RebookReason.PERMANENCE_CHANGED


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("house_closure", RebookReason.HOUSE_CLOSED),
        ("station_closure", RebookReason.STATION_CLOSED),
        ("station_out_of_service", RebookReason.STATION_OUT_OF_SERVICE),
        ("agent_left", RebookReason.AGENT_LEFT),
        ("absence", RebookReason.AGENT_ABSENT),
    ],
)
async def test_each_change_asks_first_then_says_why(
    session: AsyncSession, house: House, clock: Clock, change: str, reason: RebookReason
) -> None:
    held = await book(session, house, clock, agent=house.agent)

    async def make(confirm: bool) -> None:
        admin, moment = house.admin, clock()
        if change == "house_closure" or change == "station_closure":
            await setup.create_closure(
                session, admin, site_id=house.site.id, start=paris(8), end=paris(18),
                reason="Travaux",
                station_id=held.station_id if change == "station_closure" else None,
                confirm=confirm, links=LINKS, now=moment,
            )  # fmt: skip
        elif change == "station_out_of_service":
            await setup.change_station(
                session, admin, house.site.id, held.station_id, active=False,
                confirm=confirm, links=LINKS, now=moment,
            )  # fmt: skip
        elif change == "agent_left":
            await setup.change_agent(
                session, admin, house.agent.id, active=False, confirm=confirm, links=LINKS,
                now=moment,
            )  # fmt: skip
        else:
            await setup.create_absence(
                session, admin, agent_id=house.agent.id, start=paris(10, 15),
                end=paris(10, 20), reason="", confirm=confirm, links=LINKS, now=moment,
            )  # fmt: skip

    before = await audit_count(session)
    with pytest.raises(WouldStrand) as refused:
        async with use_case(session):
            await make(confirm=False)
    assert [view.id for view in refused.value.stranded] == [held.id]
    assert await audit_count(session) == before
    assert await marked(session, held.id) is None

    await make(confirm=True)
    assert await marked(session, held.id) is reason
    assert "to_rebook.citizen" in await pending_kinds(session, held.id)


async def test_an_appointment_over_or_cancelled_is_not_asked_about(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    later = Clock(paris(11))  # the 10:00 appointment is over
    await setup.change_agent(
        session, house.admin, house.agent.id, active=False, links=LINKS, now=later()
    )
    assert await marked(session, held.id) is None


async def test_the_agent_own_absence_confirmed_sets_aside_too(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    await absences.add_own_absence(
        session, house.agent_actor, start=paris(9), end=paris(12), reason="Formation",
        confirm=True, links=LINKS, now=clock(),
    )  # fmt: skip
    assert await marked(session, held.id) is RebookReason.AGENT_ABSENT


async def test_the_message_says_why_in_the_reader_language(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    held = await book(session, house, clock, agent=house.agent)
    await setup.create_closure(
        session, house.admin, site_id=house.site.id, start=paris(8), end=paris(18),
        reason="Travaux", station_id=None, confirm=True, links=LINKS, now=clock(),
    )  # fmt: skip
    rows = {
        message.kind: message
        for message in await session.scalars(
            select(OutboxMessage).where(OutboxMessage.appointment_id == held.id)
        )
    }
    citizen = rows["to_rebook.citizen"]
    words = compose(
        MessageFacts.from_json(citizen.payload),
        to_name=citizen.recipient_name, to_email=citizen.recipient_email,
    )  # fmt: skip
    assert words.ics is None  # the calendar keeps the event until the move
    assert "ne peut plus avoir lieu" in words.text
    assert "La maison sera fermée" in words.text
    assert "vous contactera" in words.text
    assert "Venez" not in words.text  # no "come early" for a time that no longer holds
    agent = rows["to_rebook.agent"]
    facts = MessageFacts.from_json(agent.payload)
    english = facts.model_copy(
        update={"context": facts.context.model_copy(update={"locale": "en"})}
    )
    worded = compose(english, to_name=agent.recipient_name, to_email=agent.recipient_email)
    assert "can no longer take place as planned" in worded.text
    assert "The house will be closed at that time." in worded.text
    assert "Monique Chassang" in worded.text
    reminders = await session.scalars(
        select(OutboxMessage.status).where(
            OutboxMessage.appointment_id == held.id, OutboxMessage.kind.like("reminder.%")
        )
    )
    assert set(reminders) == {OutboxStatus.CANCELLED}


# ---------------------------------------------------------------- permanences' own checks


async def test_two_permanences_of_one_agent_at_once_are_refused(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    overlapping = RuleSettings(
        weekdays=[2], start=time(11), end=time(14), every_weeks=1, anchor_date=None,
        valid_from=None, valid_until=None, site_ids=[house.elsewhere.id], motive_ids=None,
    )  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        await setup.create_rule(
            session, house.admin, agent_id=house.agent.id, rule=overlapping, now=clock()
        )
    assert set(refused.value.fields) == {"start"}
    assert "09:00-12:00" in str(refused.value.fields["start"])
    # From noon it is fine; a later correction into the morning is refused the same way.
    afternoon = await setup.create_rule(
        session, house.admin, agent_id=house.agent.id,
        rule=replace(overlapping, start=time(12)), now=clock(),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as again:
        await setup.change_rule(
            session, house.admin, house.agent.id, afternoon.id,
            changes={"start": time(11, 30)}, links=LINKS, now=clock(),
        )  # fmt: skip
    assert set(again.value.fields) == {"start"}


async def test_a_correction_is_checked_as_at_creation(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    rule = await rule_of(session, house)
    for changes, field in (
        ({"end": time(8)}, "end"),
        ({"valid_from": paris(9).date(), "valid_until": paris(9).date() - timedelta(days=1)},
         "valid_until"),
        ({"site_ids": [999_999]}, "site_ids"),
        ({"motive_ids": [999_999]}, "motive_ids"),
    ):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            await setup.change_rule(
                session, house.admin, house.agent.id, rule.id, changes=changes, links=LINKS,
                now=clock(),
            )  # fmt: skip
        assert field in refused.value.fields
    with pytest.raises(NotAllowed):
        await setup.change_rule(
            session, house.desk, house.agent.id, rule.id, changes={}, links=LINKS, now=clock()
        )
