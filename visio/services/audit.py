"""The audit log: every change made through visio, with who made it; and its reading,
for administrators."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment, AuditEntry, Citizen, User
from visio.db.statements.audit import AuditRow, Details, write_entry
from visio.logs import current_request_id
from visio.scheduling.calendars import time_zone
from visio.services.changes import matching
from visio.services.permissions import Action, Actor, require
from visio.services.records import AuditAuthor, AuditEntryView, Listing


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    details: Details | None = None,
) -> AuditEntry:
    """Add one audit entry to the current transaction (it lands only if the change does).

    `details` must not carry citizen data: the log outlives the retention period.
    """
    entry = AuditEntry(
        at=now,
        user_id=actor_id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        details=details or {},
        request_id=current_request_id.get(),
    )
    session.add(entry)
    return entry


async def write(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    now: datetime,
    details: Details | None = None,
) -> None:
    """Like `record`, written at once by a plain statement (hot paths: no unit of work)."""
    row = AuditRow(at=now, user_id=actor_id, action=action, entity=entity,
                   entity_id=entity_id, details=details or {},
                   request_id=current_request_id.get())  # fmt: skip
    await write_entry(await session.connection(), row)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read; each criterion given narrows the list."""

    # Part of the name or the email of the person who made the change.
    who: str = ""
    user_id: int | None = None
    # An action's code (`agent.change`), or its first part (`agent`: every action on agents).
    action: str = ""
    entity: str = ""
    entity_id: int | None = None
    # Days on the reader's clock, both included.
    first_day: date | None = None
    last_day: date | None = None


async def find_entries(
    session: AsyncSession,
    actor: Actor,
    found: AuditFilter,
    *,
    timezone: str,
    page: int = 1,
    per_page: int | None = 50,
) -> Listing[AuditEntryView]:
    """A page of the audit log, newest first, for administrators: the entries `found`
    selects, their times in `timezone` (whose days `first_day` and `last_day` are), with
    the name and email of whoever made each change."""
    require(actor, Action.READ_AUDIT)
    zone = time_zone(timezone)
    criteria: list[ColumnElement[bool]] = []
    if found.user_id is not None:
        criteria.append(AuditEntry.user_id == found.user_id)
    criteria += matching(found.who, User.name, User.email)
    if "." in found.action:
        criteria.append(AuditEntry.action == found.action)
    elif found.action:
        criteria.append(AuditEntry.action.startswith(f"{found.action}.", autoescape=True))
    if found.entity:
        criteria.append(AuditEntry.entity == found.entity)
    if found.entity_id is not None:
        criteria.append(AuditEntry.entity_id == found.entity_id)
    if found.first_day is not None:
        criteria.append(AuditEntry.at >= datetime.combine(found.first_day, time(), zone))
    if found.last_day is not None:
        after = found.last_day + timedelta(days=1)
        criteria.append(AuditEntry.at < datetime.combine(after, time(), zone))
    # The person's name and email, also what `who` searches.
    by_person = User.id == AuditEntry.user_id
    count = select(func.count()).select_from(AuditEntry).outerjoin(User, by_person)
    total = int(await session.scalar(count.where(*criteria)) or 0)
    query = (
        select(
            AuditEntry.id, AuditEntry.at, AuditEntry.user_id, User.name, User.email,
            AuditEntry.action, AuditEntry.entity, AuditEntry.entity_id, AuditEntry.details,
        )
        .outerjoin(User, by_person).where(*criteria)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    )  # fmt: skip
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = []
    for row in await session.execute(query):
        entry = AuditEntryView(
            id=row.id, at=row.at.astimezone(zone), by=author(row.user_id, row.action),
            user_id=row.user_id, user_name=row.name, user_email=row.email, action=row.action,
            entity=row.entity, entity_id=row.entity_id, details=dict(row.details or {}),
        )  # fmt: skip
        items.append(entry)
    return Listing(items, total, page, per_page)


# A page or an answer showed citizens' names or contact details.
READ_ACTION = "citizen.read"
# What the command line alone does without an account: `visio citizens export|erase`.
COMMAND_LINE_ACTIONS = ("citizen.export", "citizen.erase")


async def record_read(
    session: AsyncSession,
    *,
    actor_id: int | None,
    citizen_ids: Iterable[int],
    route: str | None,
    request_id: str | None,
    now: datetime,
) -> None:
    """One entry (`citizen.read`) for one page or answer that showed these citizens' details
    to the actor: which citizens (their ids only), from which route; nothing when it showed
    none. A plain insert: pages listing many people pay one statement, not one a person."""
    ids = sorted(set(citizen_ids))
    if not ids:
        return
    row = AuditRow(
        at=now, user_id=actor_id, action=READ_ACTION, entity="citizen",
        entity_id=ids[0] if len(ids) == 1 else None,
        details={"citizen_ids": ids, "route": route}, request_id=request_id,
    )  # fmt: skip
    await write_entry(await session.connection(), row)


async def citizens_of_appointments(
    session: AsyncSession, appointment_ids: Iterable[int]
) -> list[int]:
    """The citizens, not erased, of these appointments (what a message about them names)."""
    wanted = sorted(set(appointment_ids))
    if not wanted:
        return []
    query = (
        select(Appointment.citizen_id)
        .join(Citizen, Citizen.id == Appointment.citizen_id)
        .where(Appointment.id.in_(wanted), Citizen.erased_at.is_(None))
    )
    return sorted({citizen_id for citizen_id in await session.scalars(query) if citizen_id})


def author(user_id: int | None, action: str) -> AuditAuthor:
    """Who made a change: a person; else the command line, the one place where accounts and
    tokens are made without one (`visio users create`, `visio tokens create`) and a
    citizen's data exported or erased without one (`visio citizens`); else visio itself."""
    if user_id is not None:
        return "person"
    if action.startswith(("user.", "token.")) or action in COMMAND_LINE_ACTIONS:
        return "command_line"
    return "system"
