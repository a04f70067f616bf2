"""The outbox's statements: queue messages in one INSERT (in the transaction of the
change they report); and the sender's: claim a batch under a lease, bury what never got
an outcome, record the outcomes behind the `attempts` fence (see `visio.notify.sender`).

Built once with bound parameters. Two senders never take the same row: on PostgreSQL the
claim skips rows another sender has locked (`FOR UPDATE SKIP LOCKED`); SQLite renders no
FOR UPDATE, its BEGIN IMMEDIATE already makes claims take turns.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple, TypedDict

from sqlalchemy import Insert, Integer, Select, Update, bindparam, insert, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from visio.db.base import UTCDateTime, table
from visio.db.models import Agent, Motive, OutboxMessage, Partner, Site
from visio.db.statements import shaped
from visio.domain import OutboxStatus

# The columns of a queued message (`visio.services.notifications.OutboxRow`).
QUEUED = (
    "kind", "appointment_id", "recipient_email", "recipient_name", "locale", "payload",
    "status", "attempts", "next_attempt_at", "created_at", "request_id",
)  # fmt: skip


@functools.cache
def queue_messages() -> Insert:
    """Outbox rows (`visio.services.notifications.OutboxRow`), one statement for them all;
    every column bound by name (as `visio.db.direct` wants)."""
    messages = table(OutboxMessage)
    return insert(messages).values(
        {name: bindparam(name, type_=messages.c[name].type) for name in QUEUED}
    )


class PartiesRow(NamedTuple):
    """What the messages about an appointment say of its house, partner, motive, agent."""

    site_name: str
    site_address: str
    site_zone: str
    site_email: str | None
    partner_name: str
    motive_name: str
    documents: list[str]
    instructions: str
    agent_name: str
    agent_email: str
    agent_locale: str
    agent_zone: str


@functools.cache
def parties() -> Select[*PartiesRow]:
    """All four in one statement; parameters `site_id`, `motive_id`, `agent_id`."""
    query = (
        select(
            Site.name.label("site_name"),
            Site.address.label("site_address"),
            Site.timezone.label("site_zone"),
            Site.email.label("site_email"),
            Partner.name.label("partner_name"),
            Motive.name.label("motive_name"),
            Motive.documents.label("documents"),
            Motive.instructions.label("instructions"),
            Agent.name.label("agent_name"),
            Agent.email.label("agent_email"),
            Agent.locale.label("agent_locale"),
            Agent.timezone.label("agent_zone"),
        )
        .select_from(Agent)
        .join(Partner, Partner.id == Agent.partner_id)
        .join(Motive, Motive.id == bindparam("motive_id", type_=Integer))
        .join(Site, Site.id == bindparam("site_id", type_=Integer))
        .where(Agent.id == bindparam("agent_id", type_=Integer))
    )
    return shaped(query, PartiesRow._fields)


class ClaimedRow(NamedTuple):
    """A leased message: what to send, and the attempt number that fences our updates."""

    id: int
    recipient_email: str
    recipient_name: str
    # The facts' JSON document (`visio.notify.facts`); None: a message queued worded.
    payload: object | None
    subject: str
    body_text: str
    body_html: str
    ics: str | None
    ics_method: str | None
    attempts: int
    kind: str
    # The request that queued it, for the sender's log lines.
    request_id: str | None


_now = bindparam("now", type_=UTCDateTime())


@functools.cache
def bury_unanswered() -> Update:
    """Pending rows due at `now` with `max_attempts` attempts or more become `dead`, with
    `reason` as their last error.

    Such a row's lease ran out after its last attempt: its sender died every time (a
    message that crashes the process would otherwise come back forever).
    """
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= _now,
            OutboxMessage.attempts >= bindparam("max_attempts"),
        )
        .values(status=OutboxStatus.DEAD, last_error=bindparam("reason"))
    )


@functools.cache
def claim_due() -> ReturningUpdate[*ClaimedRow]:
    """Lease at most `batch_size` pending rows due at `now`, the earliest first: their
    `next_attempt_at` moves to `lease_until` and `attempts` goes up by one. Rows are read
    as `ClaimedRow._make(row)`."""
    due = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= _now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(bindparam("batch_size", type_=Integer))
        # PostgreSQL: rows another sender is claiming right now are left to it. SQLite
        # renders no FOR UPDATE; its BEGIN IMMEDIATE already makes claims take turns.
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()))
        .values(next_attempt_at=bindparam("lease_until"), attempts=OutboxMessage.attempts + 1)
        .returning(
            OutboxMessage.id.label("id"),
            OutboxMessage.recipient_email.label("recipient_email"),
            OutboxMessage.recipient_name.label("recipient_name"),
            OutboxMessage.payload.label("payload"),
            OutboxMessage.subject.label("subject"),
            OutboxMessage.body_text.label("body_text"),
            OutboxMessage.body_html.label("body_html"),
            OutboxMessage.ics.label("ics"),
            OutboxMessage.ics_method.label("ics_method"),
            OutboxMessage.attempts.label("attempts"),
            OutboxMessage.kind.label("kind"),
            OutboxMessage.request_id.label("request_id"),
        )
    )
    # Checked once, as `visio.db.statements.shaped` checks a select's.
    labels = tuple(column.key for column in claim.exported_columns)
    if labels != ClaimedRow._fields:
        raise TypeError(f"columns {labels} do not match the fields {ClaimedRow._fields}")
    return claim


class Outcome(TypedDict):
    """What came of one claimed message: the parameters of `settle()` (`retry_at` None)
    or `postpone()` (a retry, at `retry_at`).

    The keys are named apart from the columns on purpose: executing an UPDATE with a
    parameter named as a column would SET that column too.
    """

    message_id: int
    # The attempt number of our claim: the fence.
    claimed_attempts: int
    outcome: OutboxStatus
    error: str
    delivered_at: datetime | None
    retry_at: datetime | None


def _fenced() -> Update:
    """The row `message_id`, as long as no other sender claimed it since our claim: should
    our lease have run out and another sender taken the row, its record is the one that
    stands."""
    return update(OutboxMessage).where(
        OutboxMessage.id == bindparam("message_id"),
        OutboxMessage.attempts == bindparam("claimed_attempts"),
    )


@functools.cache
def settle() -> Update:
    """A final outcome (`Outcome` parameters): sent, failed or dead."""
    return _fenced().values(
        status=bindparam("outcome"),
        last_error=bindparam("error"),
        sent_at=bindparam("delivered_at"),
    )


@functools.cache
def postpone() -> Update:
    """A retry (`Outcome` parameters): the row stays pending until `retry_at`."""
    return _fenced().values(last_error=bindparam("error"), next_attempt_at=bindparam("retry_at"))


@functools.cache
def release() -> Update:
    """A claimed message left untried (its sender stopping): due again at `retry_at`, the
    claim's attempt given back. Parameters: `message_id`, `claimed_attempts`, `retry_at`."""
    return _fenced().values(
        attempts=OutboxMessage.attempts - 1, next_attempt_at=bindparam("retry_at")
    )
