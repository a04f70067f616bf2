"""The retention purge and the rights of access and erasure (`visio.services.retention`).

Monique Chassang is booked at Murat on Tuesday 17 March 2026, 10:00–10:30 in Paris
(09:00–09:30 UTC); with the default 90 days, her details go on 15 June 2026 at 09:30 UTC,
not a second before, while the appointment, its counts and its history stay.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
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
)
from visio.db.models import (
    AppointmentEvent,
    AuditEntry,
    Citizen,
    OutboxMessage,
    SessionCount,
    SessionRollup,
)
from visio.domain import AppointmentStatus, OutboxStatus
from visio.notify.compose import content
from visio.services import retention, transitions
from visio.services.errors import NotFound

DAYS = 90
AUDIT_DAYS = 365
# The end of Monique's appointment, and the instant her details are due to go.
END = datetime(2026, 3, 17, 9, 30, tzinfo=UTC)
DUE = END + timedelta(days=DAYS)
NOTE = "Mme Chassang a apporté son RIB, rappeler au 06 12 34 56 78"


async def purge(session: AsyncSession, now: datetime, **options: bool) -> retention.PurgeReport:
    report = await retention.purge(
        session, now=now, retention_days=DAYS, audit_retention_days=AUDIT_DAYS, **options
    )
    await session.flush()
    return report


async def citizen(session: AsyncSession, citizen_id: int) -> Citizen:
    await session.flush()
    found = await session.scalar(
        select(Citizen).where(Citizen.id == citizen_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


async def statistics(session: AsyncSession) -> list[tuple[object, ...]]:
    """Every daily counter and roll-up, as rows to compare."""
    await session.flush()
    rows: list[tuple[object, ...]] = []
    for model in (SessionCount, SessionRollup):
        columns = list(model.__table__.columns)
        found = await session.execute(select(*columns).order_by(*columns))
        rows += [(model.__tablename__, *row) for row in found]
    return rows


async def held_with_a_note(session: AsyncSession, house: House, clock: Clock) -> int:
    """Monique's appointment, held, with a note that names her; returns its id."""
    view = await book(session, house, clock, agent=house.agent)
    clock.now = paris(10, 35)
    await transitions.record_outcome(
        session, house.agent_actor, view.id, status=AppointmentStatus.HELD, note=NOTE,
        now=clock(),
    )  # fmt: skip
    return view.id


def everything_said(rows: list[OutboxMessage]) -> str:
    """Every column of these messages, as one text to search."""
    return " ".join(
        str(getattr(row, column.key)) for row in rows for column in OutboxMessage.__table__.columns
    )


# ---------------------------------------------------------------- the purge


async def test_a_citizen_goes_the_retention_period_after_the_end_of_their_appointment(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    appointment_id = await held_with_a_note(session, house, clock)
    first = await stored(session, appointment_id)
    citizen_id = first.citizen_id
    assert citizen_id is not None
    figures = await statistics(session)
    counts = await row_counts(session)

    # A second before: nothing goes.
    report = await purge(session, DUE - timedelta(seconds=1))
    assert (report.citizens, report.appointments) == (0, 0)
    kept = await citizen(session, citizen_id)
    assert (kept.last_name, kept.email, kept.erased_at) == ("Chassang", MONIQUE.email, None)

    # At the instant: her details go, the appointment stays.
    report = await purge(session, DUE)
    assert (report.citizens, report.appointments) == (1, 1)
    erased = await citizen(session, citizen_id)
    assert erased.erased_at == DUE
    personal = ("first_name", "last_name", "first_name_key", "last_name_key")
    assert [getattr(erased, name) for name in personal] == ["", "", "", ""]
    assert (erased.birth_date, erased.email, erased.phone) == (None, None, None)
    appointment = await stored(session, appointment_id)
    assert appointment.citizen_id == citizen_id
    assert (appointment.status, appointment.start_at) == (AppointmentStatus.HELD, first.start_at)
    assert appointment.outcome_note == ""
    notes = await session.scalars(
        select(AppointmentEvent.note).where(AppointmentEvent.appointment_id == appointment_id)
    )
    assert set(notes) == {""}
    # Counts and statistics as they were: rows, daily counters, roll-ups.
    assert await statistics(session) == figures
    after = await row_counts(session)
    assert after == {**counts, "audit_log": counts["audit_log"] + 2}  # one entry per run


async def test_the_messages_keep_nothing_of_the_person(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    appointment_id = await held_with_a_note(session, house, clock)
    sent = await messages(session, appointment_id)
    # The confirmations were sent, the reminders given up or still waiting.
    statuses = [OutboxStatus.SENT, OutboxStatus.DEAD, OutboxStatus.FAILED, OutboxStatus.PENDING]
    for index, message in enumerate(sent):
        message.status = statuses[index % len(statuses)]
        if message.kind.endswith(".citizen"):
            message.last_error = f"550 <{MONIQUE.email}> mailbox unavailable"
    kinds = {message.kind for message in sent}
    assert {"booked.citizen", "booked.agent", "reminder.citizen"} <= kinds
    assert "Chassang" in everything_said(sent)
    await session.flush()

    report = await purge(session, DUE)
    assert report.messages == len(sent)
    scrubbed = await messages(session, appointment_id)
    said = everything_said(scrubbed)
    for detail in ("Monique", "Chassang", "monique.chassang", "0612345678", "RIB"):
        assert detail not in said
    assert [message.kind for message in scrubbed] == [message.kind for message in sent]
    # What was waiting could reach no one now: withdrawn. The rest keeps its status.
    for before, after in zip(sent, scrubbed, strict=True):
        expected = OutboxStatus.CANCELLED if before.status is OutboxStatus.PENDING else None
        assert after.status == (expected or before.status)
    # The agent's messages still say who, where and when, to the agent.
    agent_message = next(m for m in scrubbed if m.kind == "booked.agent")
    assert agent_message.recipient_email == house.agent.email
    words = content(agent_message)
    assert "Prime d'activité" in words.text and "Chassang" not in words.text
    # The administrators' page can still show every message.
    for message in scrubbed:
        content(message)


async def test_the_latest_appointment_counts_whatever_its_status(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Held on 17 March, then a second one booked for 24 March and cancelled: her details
    stay until 90 days after the cancelled one's end."""
    appointment_id = await held_with_a_note(session, house, clock)
    later = await book(session, house, clock, start=paris(10, day=date(2026, 3, 24)))
    await transitions.cancel(session, house.desk, later.id, reason="", now=clock(), links=LINKS)
    citizen_id = (await stored(session, appointment_id)).citizen_id
    assert (await stored(session, later.id)).citizen_id == citizen_id
    assert (await purge(session, DUE)).citizens == 0
    assert (await purge(session, DUE + timedelta(days=7) - timedelta(seconds=1))).citizens == 0
    assert (await purge(session, DUE + timedelta(days=7))).citizens == 1


async def test_an_appointment_to_come_protects_the_citizen(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Monique's March appointment is long past in July, but she is booked again for
    August: nothing of hers goes."""
    first = await book(session, house, clock)
    clock.now = datetime(2026, 7, 20, 8, tzinfo=UTC)
    await book(session, house, clock, start=paris(10, day=date(2026, 8, 4)))
    citizen_id = (await stored(session, first.id)).citizen_id
    assert citizen_id is not None
    assert (await purge(session, clock())).citizens == 0
    assert (await citizen(session, citizen_id)).erased_at is None


async def test_a_citizen_without_appointment_goes_after_being_recorded(
    session: AsyncSession, clock: Clock
) -> None:
    recorded = datetime(2026, 1, 5, 14, tzinfo=UTC)
    person = Citizen(
        first_name="Jean", last_name="Rigal", first_name_key="jean", last_name_key="rigal",
        email="jean@courriel.example", created_at=recorded,
    )  # fmt: skip
    session.add(person)
    await session.flush()
    due = recorded + timedelta(days=DAYS)
    assert (await purge(session, due - timedelta(days=1))).citizens == 0
    assert (await citizen(session, person.id)).erased_at is None
    assert (await purge(session, due + timedelta(days=1))).citizens == 1
    erased = await citizen(session, person.id)
    assert (erased.last_name, erased.email) == ("", None)


async def test_each_run_is_audited_with_counts_only_and_a_second_run_erases_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await book(session, house, clock, start=paris(11), citizen=JEAN)
    await held_with_a_note(session, house, clock)
    start = await session.scalar(select(func.max(AuditEntry.id)))
    first = await purge(session, DUE + timedelta(hours=2))
    second = await purge(session, DUE + timedelta(hours=3))
    assert (first.citizens, second.citizens, second.messages) == (2, 0, 0)
    entries = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.id > start).order_by(AuditEntry.id)
        )
    ).all()
    assert [(entry.action, entry.user_id, entry.entity_id) for entry in entries] == [
        ("citizen.purge", None, None),
        ("citizen.purge", None, None),
    ]
    assert entries[0].details["citizens"] == 2
    assert entries[1].details["citizens"] == 0
    # No name anywhere in the audit log, before or after.
    for entry in (await session.scalars(select(AuditEntry))).all():
        assert "Chassang" not in str(entry.details) and "Rigal" not in str(entry.details)


async def test_a_dry_run_counts_and_changes_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    appointment_id = await held_with_a_note(session, house, clock)
    counts = await row_counts(session)
    dry = await purge(session, DUE, dry_run=True)
    assert (dry.citizens, dry.appointments, dry.dry_run) == (1, 1, True)
    assert dry.messages == len(await messages(session, appointment_id))
    assert await row_counts(session) == counts
    citizen_id = (await stored(session, appointment_id)).citizen_id
    assert citizen_id is not None
    assert (await citizen(session, citizen_id)).last_name == "Chassang"
    real = await purge(session, DUE)
    assert (real.citizens, real.appointments, real.messages) == (1, 1, dry.messages)


async def test_audit_entries_go_after_their_own_retention_period(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    now = datetime(2027, 6, 1, 8, tzinfo=UTC)
    limit = now - timedelta(days=AUDIT_DAYS)
    for moment, action in (
        (limit - timedelta(days=30), "site.change"),
        (limit - timedelta(seconds=1), "site.change"),
        (limit, "agent.change"),
        (limit + timedelta(days=1), "agent.change"),
    ):
        session.add(AuditEntry(at=moment, user_id=house.admin.user_id, action=action,
                               entity="site", entity_id=house.site.id, details={}))  # fmt: skip
    await session.flush()
    older = await session.scalar(select(func.count()).where(AuditEntry.at < limit))
    assert older is not None and older >= 2
    report = await purge(session, now)
    assert report.audit_entries == older
    left = await session.scalars(
        select(AuditEntry.at).where(AuditEntry.at < limit + timedelta(days=2))
    )
    assert sorted(left) == [limit, limit + timedelta(days=1)]
    # The run itself is recorded, after the purge.
    assert (
        await session.scalar(
            select(func.count()).where(AuditEntry.action == "citizen.purge", AuditEntry.at == now)
        )
        == 1
    )


async def test_the_daily_purge_runs_once_a_day(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await held_with_a_note(session, house, clock)

    async def daily(now: datetime) -> retention.PurgeReport | None:
        return await retention.daily_purge(
            session, now=now, retention_days=DAYS, audit_retention_days=AUDIT_DAYS
        )

    morning = datetime(2026, 6, 15, 1, tzinfo=UTC)
    assert (await daily(morning)) is not None  # the day's run: Monique not due yet
    assert (await daily(morning + timedelta(hours=9))) is None  # due now, but done today
    next_day = await daily(morning + timedelta(days=1))
    assert next_day is not None and next_day.citizens == 1
    assert (await daily(morning + timedelta(days=1, hours=5))) is None


# ---------------------------------------------------------------- the right of erasure


async def test_a_citizen_is_erased_on_request(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    appointment_id = await held_with_a_note(session, house, clock)
    citizen_id = (await stored(session, appointment_id)).citizen_id
    assert citizen_id is not None
    figures = await statistics(session)
    report = await retention.erase_citizen(
        session, citizen_id, actor_id=house.admin.user_id, now=clock()
    )
    assert (report.appointments, report.already) == (1, None)
    assert report.messages == len(await messages(session, appointment_id))
    erased = await citizen(session, citizen_id)
    assert (erased.last_name, erased.email, erased.erased_at) == ("", None, clock())
    assert "Chassang" not in everything_said(await messages(session, appointment_id))
    assert await statistics(session) == figures
    entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry is not None
    assert (entry.action, entry.entity, entry.entity_id, entry.user_id) == (
        "citizen.erase", "citizen", citizen_id, house.admin.user_id,
    )  # fmt: skip
    again = await retention.erase_citizen(session, citizen_id, actor_id=None, now=clock())
    assert again.already == clock()


async def test_erasure_waits_for_the_appointments_to_come(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock)
    assert view.citizen is not None
    counts = await row_counts(session)
    with pytest.raises(retention.UpcomingAppointments) as refused:
        await retention.erase_citizen(session, view.citizen.id, actor_id=None, now=clock())
    assert refused.value.references == [view.reference]
    assert await row_counts(session) == counts
    assert (await citizen(session, view.citizen.id)).last_name == "Chassang"
    # Cancelled, it is no longer to come: the person can go.
    await transitions.cancel(session, house.desk, view.id, reason="", now=clock(), links=LINKS)
    report = await retention.erase_citizen(session, view.citizen.id, actor_id=None, now=clock())
    assert report.appointments == 1


async def test_an_unknown_citizen_is_not_found(session: AsyncSession, clock: Clock) -> None:
    with pytest.raises(NotFound):
        await retention.erase_citizen(session, 987654, actor_id=None, now=clock())
    with pytest.raises(NotFound):
        await retention.export_citizen(session, 987654, actor_id=None, now=clock())


# ---------------------------------------------------------------- the right of access


async def test_the_export_holds_everything_about_the_person(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    other = await book(session, house, clock, start=paris(11), citizen=JEAN)
    appointment_id = await held_with_a_note(session, house, clock)
    citizen_id = (await stored(session, appointment_id)).citizen_id
    assert citizen_id is not None
    document: Any = await retention.export_citizen(
        session, citizen_id, actor_id=house.admin.user_id, now=clock()
    )
    assert document["citizen"] == {
        "id": citizen_id, "first_name": "Monique", "last_name": "Chassang",
        "birth_date": "1956-04-02", "email": MONIQUE.email, "phone": MONIQUE.phone,
        "locale": "fr", "created_at": document["citizen"]["created_at"],
        "erased_at": None,
    }  # fmt: skip
    [appointment] = document["appointments"]
    assert appointment["id"] == appointment_id and appointment["id"] != other.id
    assert (appointment["house"], appointment["partner"], appointment["agent"]) == (
        "France Services Murat", "Caisse d'allocations familiales", "Isabelle Delmas",
    )  # fmt: skip
    assert (appointment["status"], appointment["start"]) == ("held", "2026-03-17T10:00:00+01:00")
    assert appointment["outcome_note"] == NOTE
    assert [step["to"] for step in appointment["history"]] == ["booked", "held"]
    sent = document["messages"]
    assert sent and {message["recipient"] for message in sent} == {MONIQUE.email}
    assert {message["kind"] for message in sent} >= {"booked.citizen"}
    actions = [entry["action"] for entry in document["audit"]]
    assert "appointment.book" in actions and "appointment.held" in actions
    # The export is recorded, without a name.
    entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert entry is not None
    assert (entry.action, entry.entity_id, entry.user_id) == (
        "citizen.export", citizen_id, house.admin.user_id,
    )  # fmt: skip
