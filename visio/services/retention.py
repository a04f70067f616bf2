"""Personal data over time (RGPD): citizens erased once the retention period has passed
since their last appointment, old audit entries deleted, and a person's rights of access
(everything held about them) and of erasure (at once).

Erasing a citizen keeps their row, so their appointments and every count stay as they
were; it empties each personal field (names and their search keys, birth date, email,
phone), the free texts written about their appointments (which may name them), and their
name and address in the outbox's messages, and sets `erased_at`. Messages still waiting
about those appointments are withdrawn: they could no longer reach anyone.

The purge also deletes the answers kept for retried bookings (`visio.services.idempotency`)
once past their 24 hours: they name citizens too.

Each run of the purge, each erasure and each export writes one audit entry with counts and
ids, never a name. The purge is one transaction: a process that dies in the middle leaves
everything as it was.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    Citizen,
    OutboxMessage,
    User,
)
from visio.db.statements import retention as statements
from visio.domain import AppointmentStatus, OutboxStatus
from visio.i18n import lazy_gettext as _l
from visio.services import audit, idempotency
from visio.services.appointments import views_where
from visio.services.errors import Conflict, NotFound
from visio.services.records import reference_of

# The audit actions of this module: one entry per run of the purge, per erasure, per export.
PURGE_ACTION = "citizen.purge"
ERASE_ACTION = "citizen.erase"
EXPORT_ACTION = "citizen.export"
# Ids handled per statement: far under what either database takes in one IN list.
BATCH = 500


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """What one run of the purge erased (or, `dry_run`, would erase)."""

    # Citizens whose last appointment ended before this instant are erased…
    before: datetime
    # …and audit entries older than this one deleted.
    audit_before: datetime
    citizens: int
    appointments: int
    messages: int
    audit_entries: int
    # Idempotency keys past their lifetime, with the answers kept under them.
    idempotency_keys: int = 0
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What erasing one citizen changed; `already`: they had been erased before (then)."""

    citizen_id: int
    appointments: int
    messages: int
    already: datetime | None = None


class UpcomingAppointments(Conflict):
    """The citizen has appointments still to come: cancel them before erasing the person,
    so that the agent and the house are told."""

    def __init__(self, references: Sequence[str]) -> None:
        super().__init__(
            _l("This citizen has appointments to come (%(references)s): cancel them first.",
               references=", ".join(references)),
            extra={"references": list(references)},
        )  # fmt: skip
        self.references = list(references)


async def purge(
    session: AsyncSession,
    *,
    now: datetime,
    retention_days: int,
    audit_retention_days: int,
    dry_run: bool = False,
) -> PurgeReport:
    """Erase every citizen whose last appointment (whatever its status) ended at least
    `retention_days` ago, or who has none and was recorded that long ago, and delete the
    audit entries older than `audit_retention_days` and the idempotency keys past their
    lifetime; then record the run (one audit entry,
    counts only). A citizen with an appointment to come is never erased. With `dry_run`,
    count what would go and change nothing. Runs in the caller's transaction."""
    connection = await session.connection()
    before = now - timedelta(days=retention_days)
    audit_before = now - timedelta(days=audit_retention_days)
    citizen_ids = await statements.due_citizens(connection, before)
    appointments = messages = 0
    for batch in _batches(citizen_ids):
        erased_appointments, scrubbed = await _erase(session, batch, now, dry_run=dry_run)
        appointments += erased_appointments
        messages += scrubbed
    if dry_run:
        count = select(func.count()).select_from(AuditEntry).where(AuditEntry.at < audit_before)
        audit_entries = int(await connection.scalar(count) or 0)
    else:
        audit_entries = await statements.purge_audit(connection, audit_before)
    keys = await idempotency.forget_expired(session, now=now, dry_run=dry_run)
    report = PurgeReport(
        before=before, audit_before=audit_before, citizens=len(citizen_ids),
        appointments=appointments, messages=messages, audit_entries=audit_entries,
        idempotency_keys=keys, dry_run=dry_run,
    )  # fmt: skip
    if not dry_run:
        await audit.write(
            session, actor_id=None, action=PURGE_ACTION, entity="citizen", entity_id=None,
            now=now,
            details={"citizens": report.citizens, "appointments": report.appointments,
                     "messages": report.messages, "audit_entries": report.audit_entries,
                     "idempotency_keys": report.idempotency_keys,
                     "retention_days": retention_days,
                     "audit_retention_days": audit_retention_days},
        )  # fmt: skip
    return report


async def daily_purge(
    session: AsyncSession, *, now: datetime, retention_days: int, audit_retention_days: int
) -> PurgeReport | None:
    """The purge, once a day across every process serving the database: None (nothing
    done) when another process is purging right now (PostgreSQL's advisory lock, held to
    the end of the caller's transaction) or when a purge already ran on `now`'s day (UTC),
    by this job or by `visio purge`."""
    connection = await session.connection()
    if not await statements.try_purge_lock(connection):
        return None
    last = await statements.last_run(connection, PURGE_ACTION)
    if last is not None and last.date() >= now.date():
        return None
    return await purge(
        session, now=now, retention_days=retention_days,
        audit_retention_days=audit_retention_days,
    )  # fmt: skip


async def erase_citizen(
    session: AsyncSession, citizen_id: int, *, actor_id: int | None, now: datetime
) -> ErasureReport:
    """Erase one citizen at once, whatever the date (the right of erasure), as the purge
    does, and record it (audited, `actor_id` None: the command line). `NotFound` for an
    unknown id; `UpcomingAppointments` while an appointment of theirs is still booked to
    come. A citizen erased already is left as they are."""
    found = (
        await session.execute(select(Citizen.erased_at).where(Citizen.id == citizen_id))
    ).one_or_none()
    if found is None:
        raise NotFound(_l("No citizen has this id."))
    if found.erased_at is not None:
        return ErasureReport(citizen_id, 0, 0, already=found.erased_at)
    upcoming = await session.scalars(
        select(Appointment.id)
        .where(
            Appointment.citizen_id == citizen_id,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.end_at > now,
        )
        .order_by(Appointment.start_at)
    )
    references = [reference_of(appointment_id) for appointment_id in upcoming]
    if references:
        raise UpcomingAppointments(references)
    appointments, messages = await _erase(session, [citizen_id], now, dry_run=False)
    await audit.write(
        session, actor_id=actor_id, action=ERASE_ACTION, entity="citizen",
        entity_id=citizen_id, now=now,
        details={"appointments": appointments, "messages": messages},
    )  # fmt: skip
    return ErasureReport(citizen_id, appointments, messages)


async def _erase(
    session: AsyncSession, citizen_ids: Sequence[int], now: datetime, *, dry_run: bool
) -> tuple[int, int]:
    """Erase these citizens (see the module's docstring): how many of their appointments
    and of the messages about them were emptied of the person."""
    connection = await session.connection()
    appointment_ids = await statements.appointments_of(connection, citizen_ids)
    found = await statements.messages_about(connection, appointment_ids) if appointment_ids else []
    if dry_run:
        return len(appointment_ids), len(found)
    await statements.erase_citizens(connection, citizen_ids, appointment_ids, now)
    await statements.scrub_messages(
        connection, [(message.id, scrubbed(message)) for message in found]
    )
    return len(appointment_ids), len(found)


def scrubbed(message: statements.MessageRow) -> dict[str, object]:
    """The columns to write over an outbox message about an erased citizen's appointment:
    their name and address gone (the recipient of a message to them; the name an agent's
    message gives), the reason typed at a cancellation, the words of a message queued
    already worded; and withdrawn if it was still waiting."""
    values: dict[str, object] = {}
    to_citizen = message.kind.endswith(".citizen")
    if to_citizen:
        # The server's refusal may quote the address.
        values.update(recipient_email="", recipient_name="", last_error="")
    if message.payload is None:
        values.update(subject="", body_text="", body_html="", ics=None)
    else:
        payload = copy.deepcopy(message.payload)
        context = payload.get("context")
        if isinstance(context, dict):
            if "citizen_name" in context:
                context["citizen_name"] = ""
            if to_citizen and "recipient_name" in context:
                context["recipient_name"] = ""
            # A message about a move to make gives a code as its reason, not words.
            if "reason" in context and payload.get("template") != "to_rebook":
                context["reason"] = ""
        values["payload"] = payload
    if message.status == OutboxStatus.PENDING:
        values["status"] = OutboxStatus.CANCELLED
    return values


def _batches(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]


# ---------------------------------------------------------------- the right of access


async def export_citizen(
    session: AsyncSession, citizen_id: int, *, actor_id: int | None, now: datetime
) -> dict[str, object]:
    """Everything visio holds about one citizen, as a JSON document: their record, their
    appointments (house, partner, motive, agent, times in the house's zone, status, notes
    and history), the messages sent to them, and the audit entries about them or their
    appointments (reads of their details included). Recorded in the audit log; `NotFound`
    for an unknown id."""
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound(_l("No citizen has this id."))
    views = await views_where(session, Appointment.citizen_id == citizen_id, now=now)
    appointment_ids = [view.id for view in views]
    history: dict[int, list[dict[str, object]]] = {}
    messages: list[dict[str, object]] = []
    if appointment_ids:
        events = await session.scalars(
            select(AppointmentEvent)
            .where(AppointmentEvent.appointment_id.in_(appointment_ids))
            .order_by(AppointmentEvent.id)
        )
        for event in events:
            history.setdefault(event.appointment_id, []).append({
                "at": _instant(event.at),
                "from": event.from_status.value if event.from_status else None,
                "to": event.to_status.value,
                "note": event.note,
            })  # fmt: skip
        sent = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.appointment_id.in_(appointment_ids),
                OutboxMessage.kind.like("%.citizen"),
            )
            .order_by(OutboxMessage.id)
        )
        messages = [
            {"id": message.id, "kind": message.kind, "status": message.status.value,
             "appointment_id": message.appointment_id, "recipient": message.recipient_email,
             "created_at": _instant(message.created_at), "sent_at": _instant(message.sent_at)}
            for message in sent
        ]  # fmt: skip
    document: dict[str, object] = {
        "citizen": {
            "id": citizen.id,
            "first_name": citizen.first_name,
            "last_name": citizen.last_name,
            "birth_date": citizen.birth_date.isoformat() if citizen.birth_date else None,
            "email": citizen.email,
            "phone": citizen.phone,
            "locale": citizen.locale,
            "created_at": _instant(citizen.created_at),
            "erased_at": _instant(citizen.erased_at),
        },
        "appointments": [
            {
                "id": view.id,
                "reference": view.reference,
                "status": view.status.value,
                "start": view.start.isoformat(),
                "end": view.end.isoformat(),
                "timezone": view.timezone,
                "house": view.site_name,
                "partner": view.partner_name,
                "motive": view.motive_name,
                "agent": view.agent_name,
                "arrived_at": _instant(view.arrived_at),
                "cancel_reason": view.cancel_reason,
                "outcome_note": view.outcome_note,
                "history": history.get(view.id, []),
            }
            for view in views
        ],
        "messages": messages,
        "audit": await _audit_about(session, citizen_id, appointment_ids),
    }
    await audit.write(
        session, actor_id=actor_id, action=EXPORT_ACTION, entity="citizen",
        entity_id=citizen_id, now=now, details={"appointments": len(views)},
    )  # fmt: skip
    return document


async def _audit_about(
    session: AsyncSession, citizen_id: int, appointment_ids: Sequence[int]
) -> list[dict[str, object]]:
    """The audit entries about the citizen, their appointments, or naming them among the
    citizens a page showed (`details.citizen_ids`)."""
    about = [
        (AuditEntry.entity == "citizen") & (AuditEntry.entity_id == citizen_id),
        # A page listing several citizens names them in its details: matched roughly in
        # SQL, exactly below.
        (AuditEntry.action == "citizen.read")
        & cast(AuditEntry.details, String).like(f"%{citizen_id}%"),
    ]
    if appointment_ids:
        about.append(
            (AuditEntry.entity == "appointment") & AuditEntry.entity_id.in_(appointment_ids)
        )
    rows = await session.execute(
        select(AuditEntry.at, AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id,
               AuditEntry.details, AuditEntry.user_id, User.name, AuditEntry.request_id)
        .outerjoin(User, User.id == AuditEntry.user_id)
        .where(or_(*about))
        .order_by(AuditEntry.at, AuditEntry.id)
    )  # fmt: skip
    entries = []
    for row in rows:
        details = dict(row.details or {})
        named = details.get("citizen_ids")
        listed = isinstance(named, list) and citizen_id in named
        if row.action == "citizen.read" and row.entity_id != citizen_id and not listed:
            continue
        entries.append({
            "at": _instant(row.at), "action": row.action, "entity": row.entity,
            "entity_id": row.entity_id, "user_id": row.user_id, "user_name": row.name,
            "details": details,
        })  # fmt: skip
    return entries


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
