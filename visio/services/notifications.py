"""What gets queued in the outbox when an appointment changes.

Every message is written in the same transaction as the change it reports (transactional
outbox): if the booking is committed, so are its emails; if it is rolled back, no email
speaks of it. The partner agent always hears; the citizen only when they gave an email.
A message is queued as the facts it reports, as they stand at the change; it is worded in
its reader's language when it is sent or shown (`visio.notify.compose`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypedDict

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.direct import direct
from visio.db.models import Appointment, OutboxMessage
from visio.db.statements import outbox as statements
from visio.domain import AppointmentStatus, OutboxStatus
from visio.i18n import lazy_gettext as _l
from visio.logs import current_request_id
from visio.notify.compose import Composed, content
from visio.notify.compose import subject as compose_subject
from visio.notify.facts import (
    AgentFacts,
    InvitationFacts,
    MessageContext,
    MessageFacts,
    MotiveFacts,
    Organizer,
    Parties,
    PartnerFacts,
    PasswordResetContext,
    PasswordResetFacts,
    SiteFacts,
    Template,
    read_facts,
)
from visio.services import audit
from visio.services.changes import matching
from visio.services.errors import Conflict, NotFound
from visio.services.permissions import Action, Actor, require
from visio.services.records import CitizenView, Listing, OutboxEntry, reference_of


@dataclass(frozen=True, slots=True)
class Links:
    """Where the public site lives, for the links emails carry, and who sends them."""

    base_url: str
    # Organiser of the calendar invitations when the house has no address of its own.
    mail_from: str = "visio@localhost"

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]

    def agent_join(self, appointment_id: int) -> str:
        return f"{self.base_url}/appointments/{appointment_id}/join/agent"


@dataclass(frozen=True, slots=True)
class Moment:
    """What the messages say of one appointment as it stands at the change."""

    id: int
    agent_id: int
    start: datetime
    end: datetime
    sequence: int
    cancel_reason: str
    rescheduled_from_id: int | None


def moment_of(appointment: Appointment) -> Moment:
    return Moment(
        appointment.id, appointment.agent_id, appointment.start_at, appointment.end_at,
        appointment.sequence, appointment.cancel_reason, appointment.rescheduled_from_id,
    )  # fmt: skip


async def _parties(
    session: AsyncSession, *, site_id: int, motive_id: int, agent_id: int
) -> Parties:
    """All four, in one statement."""
    parameters = {"site_id": site_id, "motive_id": motive_id, "agent_id": agent_id}
    found = (await session.execute(statements.parties(), parameters)).one()
    row = statements.PartiesRow._make(found)
    return Parties(
        site=SiteFacts(name=row.site_name, address=row.site_address, timezone=row.site_zone,
                       email=row.site_email),
        partner=PartnerFacts(name=row.partner_name),
        motive=MotiveFacts(name=row.motive_name, documents=list(row.documents),
                           instructions=row.instructions),
        agent=AgentFacts(name=row.agent_name, email=row.agent_email, locale=row.agent_locale,
                         timezone=row.agent_zone),
    )  # fmt: skip


async def calendar_uid(
    session: AsyncSession, appointment_id: int, rescheduled_from_id: int | None, links: Links
) -> str:
    """The calendar event's UID: that of the first appointment of a chain of moves, so a
    moved appointment updates the event in people's calendars instead of adding one."""
    root, previous = appointment_id, rescheduled_from_id
    while previous is not None:
        root = previous
        previous = await session.scalar(
            select(Appointment.rescheduled_from_id).where(Appointment.id == previous)
        )
    return f"appointment-{root}@{links.host}"


class OutboxRow(TypedDict):
    """The columns of a queued message."""

    kind: str
    appointment_id: int
    recipient_email: str
    recipient_name: str
    locale: str
    payload: dict[str, object]
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    # The request that queued it: the sender's lines about the message carry it.
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Change:
    """One change to report: its template, the appointment as it stands, to whom."""

    template: Template
    moment: Moment
    parties: Parties
    citizen: CitizenView | None
    links: Links
    now: datetime
    uid: str
    previous_start: datetime | None = None
    send_at: datetime | None = None
    # What the message gives as its reason, when not the appointment's cancel reason.
    reason: str | None = None


def message_row(change: Change, *, for_agent: bool) -> OutboxRow:
    """One message as an outbox row: its recipient and the facts it reports (see
    `visio.notify.facts`), with those of its calendar invitation (reminders have none:
    the calendar already holds the event)."""
    parties, moment, links, citizen = change.parties, change.moment, change.links, change.citizen
    site, motive, agent = parties.site, parties.motive, parties.agent
    if for_agent:
        to_email, to_name, locale, zone = agent.email, agent.name, agent.locale, agent.timezone
    else:
        assert citizen is not None and citizen.email is not None
        to_email, to_name, locale = citizen.email, citizen.full_name, citizen.locale
        zone = site.timezone
    join_url = links.agent_join(moment.id)
    context = MessageContext(
        for_agent=for_agent, recipient_name=to_name, locale=locale, zone=zone,
        start=moment.start, end=moment.end, site=site, partner=parties.partner, motive=motive,
        documents=motive.documents, instructions=motive.instructions,
        reference=reference_of(moment.id), join_url=join_url,
        citizen_name=citizen.full_name if for_agent and citizen else "",
        reason=change.reason if change.reason is not None else moment.cancel_reason,
        previous_start=change.previous_start,
    )  # fmt: skip
    invitation = None
    # Reminders and appointments to rebook change nothing in the calendar (yet).
    if change.template not in ("reminder", "to_rebook"):
        invitation = InvitationFacts(
            uid=change.uid, sequence=moment.sequence,
            method="CANCEL" if change.template == "cancelled" else "REQUEST",
            summary=f"Visio – {site.name if for_agent else parties.partner.name} – {motive.name}",
            location=join_url if for_agent else f"{site.name}, {site.address}",
            url=join_url if for_agent else None,
            organizer=Organizer(name=site.name, email=site.email or links.mail_from),
            stamp=change.now,
        )  # fmt: skip
    facts = MessageFacts(template=change.template, context=context, invitation=invitation)
    return OutboxRow(
        kind=f"{change.template}.{'agent' if for_agent else 'citizen'}",
        appointment_id=moment.id, recipient_email=to_email, recipient_name=to_name,
        locale=locale, payload=facts.to_json(), status=OutboxStatus.PENDING, attempts=0,
        next_attempt_at=change.send_at or change.now, created_at=change.now,
        request_id=current_request_id.get(),
    )  # fmt: skip


def _messages(change: Change, *, to_agent: bool = True, to_citizen: bool = True) -> list[OutboxRow]:
    """The agent always hears; the citizen when they gave an email."""
    rows = []
    if to_agent:
        rows.append(message_row(change, for_agent=True))
    if to_citizen and change.citizen is not None and change.citizen.email:
        rows.append(message_row(change, for_agent=False))
    return rows


def _reminders(change: Change, offsets: list[int]) -> list[OutboxRow]:
    """Reminders at the motive's offsets before the start (24 h and 1 h by default), to
    the agent and the citizen, each waiting in the outbox until its time; an offset
    already past is skipped. A change of the appointment withdraws them."""
    rows = []
    for minutes in sorted(set(offsets), reverse=True):
        send_at = change.moment.start - timedelta(minutes=minutes)
        if send_at > change.now:
            rows += _messages(
                Change("reminder", change.moment, change.parties, change.citizen,
                        change.links, change.now, change.uid, send_at=send_at)
            )  # fmt: skip
    return rows


async def _insert(session: AsyncSession, rows: list[OutboxRow]) -> None:
    # One statement for all of them, in the transaction of the change they report.
    if rows:
        await direct(statements.queue_messages()).run_many(await session.connection(), rows)


async def queue_booked(
    session: AsyncSession,
    moment: Moment,
    citizen: CitizenView | None,
    *,
    links: Links,
    now: datetime,
    parties: Parties,
    reminder_offsets: list[int],
) -> None:
    """The confirmation to the agent, and to the citizen if they gave an email; and the
    reminders at the motive's `reminder_offsets`. The booking has read the `parties`
    already: nothing is read again here."""
    uid = await calendar_uid(session, moment.id, moment.rescheduled_from_id, links)
    change = Change("booked", moment, parties, citizen, links, now, uid)
    await _insert(session, _messages(change) + _reminders(change, reminder_offsets))


async def queue_cancelled(
    session: AsyncSession,
    appointment: Appointment,
    citizen: CitizenView | None,
    *,
    links: Links,
    now: datetime,
) -> None:
    """The cancellation; messages of this appointment not sent yet are withdrawn."""
    await withdraw_pending(session, appointment.id)
    parties = await _parties(
        session, site_id=appointment.site_id, motive_id=appointment.motive_id,
        agent_id=appointment.agent_id,
    )  # fmt: skip
    uid = await calendar_uid(session, appointment.id, appointment.rescheduled_from_id, links)
    change = Change("cancelled", moment_of(appointment), parties, citizen, links, now, uid)
    await _insert(session, _messages(change))


async def queue_confirmation_again(
    session: AsyncSession,
    appointment: Appointment,
    citizen: CitizenView,
    *,
    links: Links,
    now: datetime,
) -> None:
    """The citizen's confirmation once more, on the desk's request (with its invitation,
    the same calendar event): only to the citizen, the agent already knows."""
    parties = await _parties(
        session, site_id=appointment.site_id, motive_id=appointment.motive_id,
        agent_id=appointment.agent_id,
    )  # fmt: skip
    uid = await calendar_uid(session, appointment.id, appointment.rescheduled_from_id, links)
    change = Change("booked", moment_of(appointment), parties, citizen, links, now, uid)
    await _insert(session, _messages(change, to_agent=False))


async def queue_rescheduled(
    session: AsyncSession,
    old: Appointment,
    new: Moment,
    citizen: CitizenView | None,
    *,
    new_parties: Parties,
    reminder_offsets: list[int],
    links: Links,
    now: datetime,
) -> None:
    """The move, telling the old time and the new one.

    When the move also changes the agent, the first agent is told the appointment is
    cancelled and the new one that it is booked: neither ever heard of the other's.
    """
    await withdraw_pending(session, old.id)
    uid = await calendar_uid(session, new.id, new.rescheduled_from_id, links)
    booked = Change("booked", new, new_parties, citizen, links, now, uid)
    moved = Change("rescheduled", new, new_parties, citizen, links, now, uid,
                    previous_start=old.start_at)  # fmt: skip
    rows = _reminders(booked, reminder_offsets)
    if old.agent_id == new.agent_id:
        rows += _messages(moved)
    else:
        old_parties = await _parties(
            session, site_id=old.site_id, motive_id=old.motive_id, agent_id=old.agent_id
        )
        cancelled = Change("cancelled", moment_of(old), old_parties, citizen, links, now, uid)
        rows += _messages(cancelled, to_citizen=False)
        rows += _messages(booked, to_citizen=False)
        rows += _messages(moved, to_agent=False)
    await _insert(session, rows)


async def queue_to_rebook(
    session: AsyncSession,
    appointment: Appointment,
    citizen: CitizenView | None,
    reason: str,
    *,
    links: Links,
    now: datetime,
) -> None:
    """Tell the agent, and the citizen if they gave an email, that a set-up change took
    the appointment's agent or station away (`reason`, a `RebookReason` value) and that
    the house will set a new time; its reminders, which would now mislead, are withdrawn.
    The calendar event stays until the move or the cancellation updates it."""
    await withdraw_pending(session, appointment.id)
    parties = await _parties(
        session, site_id=appointment.site_id, motive_id=appointment.motive_id,
        agent_id=appointment.agent_id,
    )  # fmt: skip
    uid = await calendar_uid(session, appointment.id, appointment.rescheduled_from_id, links)
    change = Change("to_rebook", moment_of(appointment), parties, citizen, links, now, uid,
                    reason=reason)  # fmt: skip
    await _insert(session, _messages(change))


async def withdraw_pending(session: AsyncSession, appointment_id: int) -> None:
    """Messages about an appointment that changed, still waiting: they would now mislead."""
    pending = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.status == OutboxStatus.PENDING,
            or_(OutboxMessage.kind.like("booked.%"), OutboxMessage.kind.like("reminder.%")),
        )
    )
    for message in pending:
        # A confirmation not yet sent is replaced by the message about the change, and
        # reminders of a time that no longer holds must not go out.
        message.status = OutboxStatus.CANCELLED


async def outbox(
    session: AsyncSession, actor: Actor, *, status: OutboxStatus | None, limit: int = 200
) -> list[OutboxEntry]:
    """The latest messages of the outbox, newest first, for administrators: with no SMTP
    server configured this is where they can read what would have been sent."""
    return (await find_messages(session, actor, status=status, per_page=limit)).items


async def outbox_message(
    session: AsyncSession, actor: Actor, message_id: int
) -> tuple[OutboxEntry, Composed]:
    """One message as it is (or would be) sent, for administrators."""
    require(actor, Action.READ_OUTBOX)
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    words = content(message)
    return _entry(message, words.subject), words


def _entry(message: OutboxMessage, subject: str | None = None) -> OutboxEntry:
    if subject is None:
        subject = (
            compose_subject(read_facts(message.payload))
            if message.payload is not None
            else message.subject
        )
    return OutboxEntry(
        id=message.id, kind=message.kind, status=message.status,
        recipient_email=message.recipient_email, recipient_name=message.recipient_name,
        locale=message.locale, subject=subject, attempts=message.attempts,
        next_attempt_at=message.next_attempt_at, last_error=message.last_error,
        appointment_id=message.appointment_id,
    )  # fmt: skip


_APPOINTMENT_REFERENCE = re.compile(r"(?:v-?)?0*(\d{1,10})", re.IGNORECASE)


async def find_messages(
    session: AsyncSession,
    actor: Actor,
    *,
    status: OutboxStatus | None = None,
    kind: str = "",
    search: str = "",
    page: int = 1,
    per_page: int | None = 50,
) -> Listing[OutboxEntry]:
    """A page of the outbox, newest first, for administrators: of one status; of one kind
    (`booked.agent`), or of what it reports (`booked`: to agents and citizens); about one
    appointment (`search` is its reference, V-000123, or its number) or to a recipient
    whose address or name holds `search`."""
    require(actor, Action.READ_OUTBOX)
    criteria: list[ColumnElement[bool]] = []
    if status is not None:
        criteria.append(OutboxMessage.status == status)
    if kind:
        same = OutboxMessage.kind == kind
        criteria.append(or_(same, OutboxMessage.kind.startswith(f"{kind}.", autoescape=True)))
    reference = _APPOINTMENT_REFERENCE.fullmatch(search.strip())
    if reference is not None:
        criteria.append(OutboxMessage.appointment_id == int(reference.group(1)))
    else:
        criteria += matching(search, OutboxMessage.recipient_email, OutboxMessage.recipient_name)
    count = select(func.count()).select_from(OutboxMessage).where(*criteria)
    total = int(await session.scalar(count) or 0)
    query = select(OutboxMessage).where(*criteria).order_by(OutboxMessage.id.desc())
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [_entry(message) for message in await session.scalars(query)]
    return Listing(items, total, page, per_page)


# Messages the server refused for good, or given up on after the last retry.
RESENDABLE = frozenset({OutboxStatus.FAILED, OutboxStatus.DEAD})
# Kinds of messages about an appointment still to come, true only while it is.
ANNOUNCING = ("booked.", "reminder.", "to_rebook.")
_NOT_RESENDABLE = {
    OutboxStatus.SENT: _l("This message was delivered already: it cannot be sent again."),
    OutboxStatus.PENDING: _l("This message is still waiting to be sent: there is nothing to do."),
    OutboxStatus.CANCELLED: _l(
        "This message was withdrawn when its appointment changed: it cannot be sent again."
    ),
}


async def resend_message(
    session: AsyncSession, actor: Actor, message_id: int, *, now: datetime
) -> OutboxEntry:
    """Put a failed or dead message back in the queue, for administrators (audited): it is
    pending again, due `now`, its attempts back to none, so the sender takes it on its next
    pass with every retry it had the first time. Its last error stays until that attempt.

    Anything else is a `Conflict`, and so is a message announcing an appointment (its
    confirmation, a reminder, a call to move it) that is no longer booked or has begun:
    sent now, it would mislead."""
    require(actor, Action.RESEND_MESSAGE)
    # Locked (PostgreSQL): two administrators resending at once put it back only once.
    message = await session.get(
        OutboxMessage, message_id, with_for_update=True, populate_existing=True
    )
    if message is None:
        raise NotFound()
    if message.status not in RESENDABLE:
        raise Conflict(_NOT_RESENDABLE[message.status])
    if message.kind.startswith(ANNOUNCING) and not await _still_booked(
        session, message.appointment_id, now
    ):
        raise Conflict(
            _l("Its appointment has changed or begun since: sent now, this message would mislead.")
        )
    previous, attempts = message.status, message.attempts
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    audit.record(
        session, actor_id=actor.user_id, action="message.resend", entity="outbox_message",
        entity_id=message.id, now=now,
        details={"kind": message.kind, "status": previous.value, "attempts": attempts},
    )  # fmt: skip
    await session.flush()
    return _entry(message)


async def _still_booked(session: AsyncSession, appointment_id: int | None, now: datetime) -> bool:
    if appointment_id is None:
        return False
    found = (
        await session.execute(
            select(Appointment.status, Appointment.start_at).where(Appointment.id == appointment_id)
        )
    ).one_or_none()
    return found is not None and found.status is AppointmentStatus.BOOKED and found.start_at > now


async def queue_password_reset(
    session: AsyncSession, *, to_email: str, to_name: str, locale: str, link: str,
    valid_hours: int, now: datetime,
) -> None:  # fmt: skip
    """The link to set a new password, to the account's owner, in their language. A link
    sent earlier to them and still waiting is withdrawn: the new one spends it."""
    waiting = await session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.kind == "password_reset",
            OutboxMessage.recipient_email == to_email,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    for message in waiting:
        message.status = OutboxStatus.CANCELLED
    context = PasswordResetContext(
        recipient_name=to_name, locale=locale, link=link, valid_hours=valid_hours
    )
    facts = PasswordResetFacts(template="password_reset", context=context)
    message = OutboxMessage(
        kind="password_reset", appointment_id=None, recipient_email=to_email,
        recipient_name=to_name, locale=locale, payload=facts.to_json(),
        status=OutboxStatus.PENDING, attempts=0, next_attempt_at=now, created_at=now,
    )  # fmt: skip
    session.add(message)
