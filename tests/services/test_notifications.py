"""What gets queued when an appointment changes, read back as the facts each message
reports (`MessageFacts.from_json` on the outbox row's payload).

Promised: each message goes to the right person, in their language and their zone (the
agent's own, the house's for the citizen), with the appointment's times and names; its
calendar invitation keeps one UID per appointment and its moves, a SEQUENCE growing with
each change, REQUEST or CANCEL; a move that changes the agent tells the first agent the
appointment is cancelled and the second that it is booked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import (
    LINKS,
    MONIQUE,
    House,
    add_permanence,
    book,
    messages,
    paris,
)
from visio.db.models import Agent, OutboxMessage, OutboxStatus, Partner
from visio.notify.facts import MessageFacts
from visio.services import booking, notifications, transitions
from visio.services.citizens import CitizenDetails
from visio.services.errors import NotAllowed, NotFound
from visio.services.records import AppointmentView

START = datetime(2026, 3, 17, 9, 0, tzinfo=UTC)  # Tuesday 10:00 in Murat
END = datetime(2026, 3, 17, 9, 30, tzinfo=UTC)
ELEVEN = datetime(2026, 3, 17, 10, 0, tzinfo=UTC)  # Tuesday 11:00 in Murat
MURAT_ADDRESS = "2 place de l'Hôtel de ville, 15300 Murat"


def facts(message: OutboxMessage) -> MessageFacts:
    return MessageFacts.from_json(message.payload)


async def queued(session: AsyncSession, *appointment_ids: int) -> dict[str, MessageFacts]:
    """The messages of these appointments still to send, other than reminders, by kind."""
    return {
        message.kind: facts(message)
        for message in await messages(session, *appointment_ids)
        if message.status is OutboxStatus.PENDING and not message.kind.startswith("reminder.")
    }


def uid(appointment_id: int) -> str:
    return f"appointment-{appointment_id}@visio.example"


async def move(
    session: AsyncSession,
    house: House,
    clock: Clock,
    view: AppointmentView,
    *,
    agent_id: int | None = None,
) -> AppointmentView:
    """Move the appointment to 11:00 on the same day, by Murat's desk."""
    return await booking.reschedule(
        session, house.desk, view.id, start=paris(11), agent_id=agent_id, station_id=None,
        now=clock(), links=LINKS,
    )  # fmt: skip


async def test_the_agent_confirmation_says_all_in_the_agent_terms(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    message = (await queued(session, view.id))["booked.agent"]

    assert message.template == "booked"
    context = message.context
    assert (context.for_agent, context.recipient_name, context.locale, context.zone) == (
        True,
        "Isabelle Delmas",
        "fr",
        "Europe/Paris",
    )
    assert (context.start, context.end) == (START, END)
    assert (context.site.name, context.site.address, context.site.timezone) == (
        "France Services Murat",
        MURAT_ADDRESS,
        "Europe/Paris",
    )
    assert context.partner.name == "Caisse d'allocations familiales"
    assert context.motive.name == "Prime d'activité"
    assert context.documents == ["Numéro d'allocataire", "Relevé d'identité bancaire"]
    assert context.instructions == "Présentez-vous 10 minutes avant."
    assert context.reference == view.reference
    join = f"https://visio.example/appointments/{view.id}/join/agent"
    assert context.join_url == join
    assert context.citizen_name == "Monique Chassang"  # whom they will see
    assert (context.reason, context.previous_start) == ("", None)
    invitation = message.invitation
    assert invitation is not None
    assert (invitation.uid, invitation.sequence, invitation.method) == (uid(view.id), 0, "REQUEST")
    assert invitation.summary == "Visio – France Services Murat – Prime d'activité"
    assert (invitation.location, invitation.url) == (join, join)
    assert (invitation.organizer.name, invitation.organizer.email) == (
        "France Services Murat",
        "murat@fs.example",
    )
    assert invitation.stamp == clock()


async def test_the_citizen_confirmation_speaks_of_the_house_not_of_others(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    english = CitizenDetails(
        first_name="Mary", last_name="Sheldon", email="mary.sheldon@mail.example", locale="en"
    )
    view = await book(session, house, clock, agent=house.agent, citizen=english)

    rows = [m for m in await messages(session, view.id) if m.kind == "booked.citizen"]
    assert [(m.recipient_email, m.recipient_name, m.locale) for m in rows] == [
        ("mary.sheldon@mail.example", "Mary Sheldon", "en")
    ]
    context = facts(rows[0]).context
    assert (context.for_agent, context.locale, context.zone) == (False, "en", "Europe/Paris")
    assert (context.start, context.end) == (START, END)
    # Only the agent is told whom they will see; the citizen comes to the house's station.
    assert context.citizen_name == ""
    invitation = facts(rows[0]).invitation
    assert invitation is not None
    assert (invitation.uid, invitation.sequence, invitation.method) == (uid(view.id), 0, "REQUEST")
    assert invitation.summary == "Visio – Caisse d'allocations familiales – Prime d'activité"
    assert (invitation.location, invitation.url) == (
        f"France Services Murat, {MURAT_ADDRESS}",
        None,
    )


async def test_an_agent_far_away_reads_their_own_zone_and_language(
    session: AsyncSession,
    house: House,
    clock: Clock,
    create_agent: Callable[..., Awaitable[Agent]],
) -> None:
    """Sarah Hoarau works from La Réunion, in English: her Tuesday 12:00–15:00 is Murat's
    9:00–12:00."""
    partner = await session.get_one(Partner, house.partner.id)
    sarah = await create_agent(
        partner, name="Sarah Hoarau", email="sarah.hoarau@caf.example",
        timezone="Indian/Reunion", locale="en",
    )  # fmt: skip
    await add_permanence(
        session, sarah, weekdays=[2], start=time(12), end=time(15), sites=[house.site]
    )

    view = await book(session, house, clock, agent=sarah)

    agent_side = await queued(session, view.id)
    context = agent_side["booked.agent"].context
    assert (context.recipient_name, context.locale, context.zone) == (
        "Sarah Hoarau",
        "en",
        "Indian/Reunion",
    )
    assert (context.start, context.end) == (START, END)
    assert agent_side["booked.citizen"].context.zone == "Europe/Paris"
    rows = [m for m in await messages(session, view.id) if m.kind == "booked.agent"]
    assert [(m.recipient_email, m.locale) for m in rows] == [("sarah.hoarau@caf.example", "en")]


async def test_reminders_carry_no_invitation_and_wait_for_their_time(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    reminders = [m for m in await messages(session, view.id) if m.kind.startswith("reminder.")]

    assert len(reminders) == 4
    for message in reminders:
        reminder = facts(message)
        assert (reminder.template, reminder.invitation) == ("reminder", None)
        assert (reminder.context.start, reminder.context.end) == (START, END)
        assert reminder.context.for_agent is (message.kind == "reminder.agent")
        assert START - message.next_attempt_at in {timedelta(minutes=60), timedelta(days=1)}


async def test_a_cancellation_is_the_same_event_cancelled(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    await transitions.cancel(
        session, house.agent_actor, view.id, reason="Formation", now=clock(), links=LINKS
    )

    told = await queued(session, view.id)
    assert set(told) == {"cancelled.agent", "cancelled.citizen"}
    for kind, message in told.items():
        assert message.template == "cancelled"
        assert message.context.reason == "Formation"
        assert (message.context.start, message.context.end) == (START, END)
        assert message.invitation is not None, kind
        assert (message.invitation.uid, message.invitation.sequence) == (uid(view.id), 1)
        assert message.invitation.method == "CANCEL"


async def test_a_move_is_a_new_version_of_the_same_event(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)

    new = await move(session, house, clock, old)

    # Nothing is left to send about the old time.
    assert await queued(session, old.id) == {}
    told = await queued(session, new.id)
    assert set(told) == {"rescheduled.agent", "rescheduled.citizen"}
    for message in told.values():
        assert message.template == "rescheduled"
        assert (message.context.start, message.context.previous_start) == (ELEVEN, START)
        assert message.context.reference == new.reference
        assert message.invitation is not None
        assert (message.invitation.uid, message.invitation.sequence) == (uid(old.id), 1)
        assert message.invitation.method == "REQUEST"
    assert told["rescheduled.agent"].context.recipient_name == "Isabelle Delmas"
    assert told["rescheduled.citizen"].context.recipient_name == "Monique Chassang"


async def test_a_second_move_keeps_the_first_uid(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock, agent=house.agent)
    second = await move(session, house, clock, first)
    third = await booking.reschedule(
        session, house.desk, second.id, start=paris(11, 30), agent_id=None, station_id=None,
        now=clock(), links=LINKS,
    )  # fmt: skip

    invitation = (await queued(session, third.id))["rescheduled.agent"].invitation

    assert invitation is not None
    assert (invitation.uid, invitation.sequence) == (uid(first.id), 2)


async def test_a_move_to_another_agent_tells_each_agent_their_part(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    old = await book(session, house, clock, agent=house.agent)

    new = await move(session, house, clock, old, agent_id=house.colleague.id)

    told = await queued(session, old.id, new.id)
    assert set(told) == {"cancelled.agent", "booked.agent", "rescheduled.citizen"}
    first, second, citizen = (
        told["cancelled.agent"],
        told["booked.agent"],
        told["rescheduled.citizen"],
    )
    # Isabelle Delmas: her appointment at 10:00 is cancelled, nothing about 11:00.
    assert first.context.recipient_name == "Isabelle Delmas"
    assert (first.context.start, first.context.reason) == (START, "rescheduled")
    assert first.invitation is not None and first.invitation.method == "CANCEL"
    # Thomas Bonnet: a new appointment at 11:00, never a move of something he did not have.
    assert second.context.recipient_name == "Thomas Bonnet"
    assert (second.context.start, second.context.previous_start) == (ELEVEN, None)
    assert second.invitation is not None and second.invitation.method == "REQUEST"
    # The citizen: moved from 10:00 to 11:00.
    assert (citizen.context.start, citizen.context.previous_start) == (ELEVEN, START)
    # One event in everybody's calendar, one version further.
    assert citizen.invitation is not None
    assert {first.invitation.uid, second.invitation.uid, citizen.invitation.uid} == {uid(old.id)}
    assert {first.invitation.sequence, second.invitation.sequence} == {1}
    recipients = {
        m.kind: m.recipient_email
        for m in await messages(session, old.id, new.id)
        if m.status is OutboxStatus.PENDING and not m.kind.startswith("reminder.")
    }
    assert recipients == {
        "cancelled.agent": "isabelle.delmas@caf.example",
        "booked.agent": "thomas.bonnet@caf.example",
        "rescheduled.citizen": MONIQUE.email,
    }
    reminded = {
        m.recipient_email for m in await messages(session, new.id) if m.kind == "reminder.agent"
    }
    assert reminded == {"thomas.bonnet@caf.example"}


async def test_without_a_house_address_the_invitations_come_from_visio(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    house.site.email = None
    await session.flush()

    view = await book(session, house, clock, agent=house.agent)

    invitation = (await queued(session, view.id))["booked.agent"].invitation
    assert invitation is not None
    assert invitation.organizer.email == "visio@visio.example"


# ---------------------------------------------------------------- the outbox


async def test_administrators_read_the_outbox(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    entries = await notifications.outbox(session, house.admin, status=OutboxStatus.PENDING)
    assert [entry.kind for entry in entries][:2] == ["reminder.citizen", "reminder.agent"]
    assert {entry.recipient_email for entry in entries} == {
        "isabelle.delmas@caf.example",
        MONIQUE.email,
    }
    confirmation = next(entry for entry in entries if entry.kind == "booked.agent")
    entry, words = await notifications.outbox_message(session, house.admin, confirmation.id)
    assert entry == confirmation
    assert words.subject == entry.subject and entry.subject
    assert words.ics_method == "REQUEST" and words.ics is not None
    assert f"UID:{uid(view.id)}" in words.ics.replace("\r\n ", "")

    with pytest.raises(NotFound):
        await notifications.outbox_message(session, house.admin, confirmation.id + 1000)
    for actor in (house.desk, house.agent_actor, house.coordinator):
        with pytest.raises(NotAllowed):
            await notifications.outbox(session, actor, status=None)
        with pytest.raises(NotAllowed):
            await notifications.outbox_message(session, actor, confirmation.id)
