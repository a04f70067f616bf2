"""The purge of personal data and of old audit entries: which citizens are due, the
erasure's statements, and what PostgreSQL needs around them (a lock across processes, the
audit log trigger's permission)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import table
from visio.db.models import Appointment, AppointmentEvent, AuditEntry, Citizen, OutboxMessage

# The key of PostgreSQL's advisory lock that lets one process at a time purge: any number
# that no other lock of visio uses ("visioRGP" in ASCII, as a signed 64-bit integer).
PURGE_LOCK_KEY = 0x766973696F524750


async def try_purge_lock(connection: AsyncConnection) -> bool:
    """Take the purge's lock for the transaction, without waiting: False when another
    process holds it (it is purging now). SQLite serves one process: always True."""
    if connection.dialect.name != "postgresql":
        return True
    taken = await connection.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PURGE_LOCK_KEY}
    )
    return bool(taken)


async def last_run(connection: AsyncConnection, action: str) -> datetime | None:
    """When the purge last ran: its latest audit entry (`action`), None if never."""
    return await connection.scalar(
        select(func.max(AuditEntry.at)).where(AuditEntry.action == action)
    )


async def due_citizens(connection: AsyncConnection, before: datetime) -> list[int]:
    """Citizens not erased yet whose last appointment (any status) ended at or before
    `before`, and those with no appointment at all created at or before it; a citizen with
    an appointment ending later (still to come, or recent) is never among them."""
    later = (
        select(Appointment.id)
        .where(Appointment.citizen_id == Citizen.id, Appointment.end_at > before)
        .exists()
    )
    any_appointment = select(Appointment.id).where(Appointment.citizen_id == Citizen.id).exists()
    query = (
        select(Citizen.id)
        .where(
            Citizen.erased_at.is_(None),
            ~later,
            or_(any_appointment, Citizen.created_at <= before),
        )
        .order_by(Citizen.id)
    )
    return list((await connection.scalars(query)).all())


async def appointments_of(connection: AsyncConnection, citizen_ids: Sequence[int]) -> list[int]:
    query = select(Appointment.id).where(Appointment.citizen_id.in_(citizen_ids))
    return list((await connection.scalars(query.order_by(Appointment.id))).all())


async def erase_citizens(
    connection: AsyncConnection, citizen_ids: Sequence[int], appointment_ids: Sequence[int],
    now: datetime,
) -> None:  # fmt: skip
    """Empty every personal field of these citizens (the rows stay: their appointments still
    count) and the free texts written about their appointments (a note, a cancellation's
    reason, the notes of their history), which may name them."""
    await connection.execute(
        update(Citizen)
        .where(Citizen.id.in_(citizen_ids))
        .values(first_name="", last_name="", first_name_key="", last_name_key="",
                birth_date=None, email=None, phone=None, erased_at=now)
    )  # fmt: skip
    if not appointment_ids:
        return
    await connection.execute(
        update(Appointment)
        .where(Appointment.id.in_(appointment_ids))
        .values(outcome_note="", cancel_reason="")
    )
    await connection.execute(
        update(AppointmentEvent)
        .where(AppointmentEvent.appointment_id.in_(appointment_ids), AppointmentEvent.note != "")
        .values(note="")
    )


class MessageRow(NamedTuple):
    id: int
    kind: str
    status: str
    payload: dict[str, object] | None


async def messages_about(
    connection: AsyncConnection, appointment_ids: Sequence[int]
) -> list[MessageRow]:
    query = (
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.payload)
        .where(OutboxMessage.appointment_id.in_(appointment_ids))
        .order_by(OutboxMessage.id)
    )
    return [
        MessageRow(row.id, row.kind, str(row.status), row.payload)
        for row in await connection.execute(query)
    ]


async def scrub_messages(
    connection: AsyncConnection, changes: Sequence[tuple[int, dict[str, object]]]
) -> None:
    """Write each message's new columns (id, columns): one executemany per set of columns
    written, not a statement a message."""
    outbox = table(OutboxMessage)
    by_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for message_id, values in changes:
        columns = tuple(sorted(values))
        row = {"message_id": message_id, **{f"new_{name}": values[name] for name in columns}}
        by_columns.setdefault(columns, []).append(row)
    for columns, rows in by_columns.items():
        statement = (
            update(outbox)
            .where(outbox.c.id == bindparam("message_id"))
            .values({name: bindparam(f"new_{name}", type_=outbox.c[name].type)
                     for name in columns})
        )  # fmt: skip
        await connection.execute(statement, rows)


async def purge_audit(connection: AsyncConnection, before: datetime) -> int:
    """Delete the audit entries older than `before`; how many. On PostgreSQL the audit
    log's trigger (migration 0014) lets a DELETE through only for entries older than the
    instant the transaction names in `visio.audit_purge_before`: named here, for this
    transaction only."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT set_config('visio.audit_purge_before', :before, true)"),
            {"before": before.isoformat()},
        )
    result = await connection.execute(delete(AuditEntry).where(AuditEntry.at < before))
    return int(result.rowcount or 0)
