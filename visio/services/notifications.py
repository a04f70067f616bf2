"""What gets queued in the outbox when an appointment changes.

Every message is written in the same transaction as the change it reports (transactional
outbox): if the booking is committed, so are its emails; if it is rolled back, no email
speaks of it. The partner agent always hears; the citizen only when they gave an email.
A message is queued as the facts it reports, as they stand at the change; it is worded in
its reader's language when it is sent or shown (`visio.notify.compose`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.base import table
from visio.db.models import (
    Agent,
    Appointment,
    Citizen,
    Motive,
    OutboxMessage,
    OutboxStatus,
    Partner,
    Site,
)
from visio.notify.compose import facts_json
from visio.notify.compose import subject as compose_subject
from visio.services.accounts import Actor
from visio.services.errors import NotAllowed, NotFound


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
class Parties:
    """What the messages about one appointment say of its house, partner, motive, agent:
    plain JSON-ready facts."""

    site: dict[str, Any]  # name, address, timezone, email
    partner: dict[str, Any]  # name
    motive: dict[str, Any]  # name, documents, instructions
    agent: dict[str, Any]  # name, email, locale, timezone


def parties_from(
    *,
    site: tuple[str, str, str, str | None],
    partner_name: str,
    motive: tuple[str, list[str], str],
    agent: tuple[str, str, str, str],
) -> Parties:
    return Parties(
        site=dict(zip(("name", "address", "timezone", "email"), site, strict=True)),
        partner={"name": partner_name},
        motive={"name": motive[0], "documents": list(motive[1]), "instructions": motive[2]},
        agent=dict(zip(("name", "email", "locale", "timezone"), agent, strict=True)),
    )


async def _parties(session: AsyncSession, appointment: Appointment) -> Parties:
    """All four, in one query."""
    row = (
        await session.execute(
            select(
                Site.name, Site.address, Site.timezone, Site.email, Partner.name, Motive.name,
                Motive.documents, Motive.instructions, Agent.name, Agent.email, Agent.locale,
                Agent.timezone,
            )
            .select_from(Agent)
            .join(Partner, Partner.id == Agent.partner_id)
            .join(Motive, Motive.id == appointment.motive_id)
            .join(Site, Site.id == appointment.site_id)
            .where(Agent.id == appointment.agent_id)
        )
    ).one()  # fmt: skip
    return parties_from(
        site=(row[0], row[1], row[2], row[3]), partner_name=row[4],
        motive=(row[5], row[6], row[7]), agent=(row[8], row[9], row[10], row[11]),
    )  # fmt: skip


async def calendar_uid(session: AsyncSession, appointment: Appointment, links: Links) -> str:
    """The calendar event's UID: that of the first appointment of a chain of moves, so a
    moved appointment updates the event in people's calendars instead of adding one."""
    root = appointment.id
    previous = appointment.rescheduled_from_id
    while previous is not None:
        root = previous
        previous = await session.scalar(
            select(Appointment.rescheduled_from_id).where(Appointment.id == previous)
        )
    return f"appointment-{root}@{links.host}"


def reference(appointment: Appointment) -> str:
    """A short reference to quote on the phone: the id, no personal data."""
    return f"V-{appointment.id:06d}"


def message_row(
    *,
    template: str,
    appointment: Appointment,
    parties: Parties,
    to_email: str,
    to_name: str,
    locale: str,
    zone: str,
    for_agent: bool,
    citizen: Citizen | None,
    links: Links,
    now: datetime,
    uid: str,
    extra: dict[str, Any] | None = None,
    send_at: datetime | None = None,
) -> dict[str, Any]:
    """One message as an outbox row: its recipient and the facts it reports (see
    `visio.notify.compose`), with those of its calendar invitation (reminders have
    none: the calendar already holds the event)."""
    site, motive = parties.site, parties.motive
    context = {
        "for_agent": for_agent,
        "recipient_name": to_name,
        "locale": locale,
        "zone": zone,
        "start": appointment.start_at,
        "end": appointment.end_at,
        "site": site,
        "partner": parties.partner,
        "motive": motive,
        "documents": motive["documents"],
        "instructions": motive["instructions"],
        "reference": reference(appointment),
        "join_url": links.agent_join(appointment.id),
        # The agent needs to know whom they will see; nobody else gets the name.
        "citizen_name": (
            f"{citizen.first_name} {citizen.last_name}" if for_agent and citizen else ""
        ),
        "reason": appointment.cancel_reason,
        **(extra or {}),
    }
    invitation = None
    if template != "reminder":
        invitation = {
            "uid": uid,
            "sequence": appointment.sequence,
            "method": "CANCEL" if template == "cancelled" else "REQUEST",
            "summary": (
                f"Visio – {site['name']} – {motive['name']}"
                if for_agent
                else f"Visio – {parties.partner['name']} – {motive['name']}"
            ),
            "location": (
                links.agent_join(appointment.id)
                if for_agent
                else f"{site['name']}, {site['address']}"
            ),
            "url": links.agent_join(appointment.id) if for_agent else None,
            "organizer": {"name": site["name"], "email": site["email"] or links.mail_from},
            "stamp": now.isoformat(),
        }
    return {
        "kind": f"{template}.{'agent' if for_agent else 'citizen'}",
        "appointment_id": appointment.id,
        "recipient_email": to_email,
        "recipient_name": to_name,
        "locale": locale,
        "payload": {
            "template": template,
            "context": facts_json(context),
            "invitation": invitation,
        },
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": send_at or now,
        "created_at": now,
    }


def _messages(
    template: str,
    appointment: Appointment,
    citizen: Citizen | None,
    parties: Parties,
    links: Links,
    now: datetime,
    uid: str,
    extra: dict[str, Any] | None = None,
    *,
    to_agent: bool = True,
    to_citizen: bool = True,
    send_at: datetime | None = None,
) -> list[dict[str, Any]]:
    agent = parties.agent
    common: dict[str, Any] = {
        "template": template, "appointment": appointment, "parties": parties,
        "citizen": citizen, "links": links, "now": now, "extra": extra, "uid": uid,
        "send_at": send_at,
    }  # fmt: skip
    rows = []
    if to_agent:
        rows.append(message_row(
            to_email=agent["email"], to_name=agent["name"], locale=agent["locale"],
            zone=agent["timezone"], for_agent=True, **common,
        ))  # fmt: skip
    if to_citizen and citizen is not None and citizen.email and citizen.erased_at is None:
        rows.append(message_row(
            to_email=citizen.email, to_name=f"{citizen.first_name} {citizen.last_name}",
            locale=citizen.locale, zone=parties.site["timezone"], for_agent=False, **common,
        ))  # fmt: skip
    return rows


def _reminders(
    appointment: Appointment,
    citizen: Citizen | None,
    parties: Parties,
    offsets: list[int] | None,
    links: Links,
    now: datetime,
    uid: str,
) -> list[dict[str, Any]]:
    """Reminders at the motive's offsets before the start (24 h and 1 h by default), to
    the agent and the citizen, each waiting in the outbox until its time; an offset
    already past is skipped. A change of the appointment withdraws them."""
    rows = []
    for minutes in sorted(set(offsets or []), reverse=True):
        send_at = appointment.start_at - timedelta(minutes=minutes)
        if send_at > now:
            rows += _messages(
                "reminder", appointment, citizen, parties, links, now, uid, send_at=send_at
            )
    return rows


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # One statement for all of them, in the transaction of the change they report.
    if rows:
        await (await session.connection()).execute(_insert_statement(), rows)


@functools.cache
def _insert_statement() -> Any:
    return insert(table(OutboxMessage))


async def queue_booked(
    session: AsyncSession,
    appointment: Appointment,
    citizen: Citizen | None,
    *,
    links: Links,
    now: datetime,
    parties: Parties,
    reminder_offsets: list[int],
) -> None:
    """The confirmation to the agent, and to the citizen if they gave an email; and the
    reminders at the motive's `reminder_offsets`. The booking has read the `parties`
    already: nothing is read again here."""
    uid = await calendar_uid(session, appointment, links)
    await _insert(
        session,
        _messages("booked", appointment, citizen, parties, links, now, uid)
        + _reminders(appointment, citizen, parties, reminder_offsets, links, now, uid),
    )


async def _reminder_offsets(session: AsyncSession, appointment: Appointment) -> list[int]:
    offsets = await session.scalar(
        select(Motive.reminder_offsets).where(Motive.id == appointment.motive_id)
    )
    return list(offsets or [])


async def queue_cancelled(
    session: AsyncSession,
    appointment: Appointment,
    citizen: Citizen | None,
    *,
    links: Links,
    now: datetime,
) -> None:
    """The cancellation; messages of this appointment not sent yet are withdrawn."""
    await withdraw_pending(session, appointment.id)
    parties = await _parties(session, appointment)
    uid = await calendar_uid(session, appointment, links)
    await _insert(session, _messages("cancelled", appointment, citizen, parties, links, now, uid))


async def queue_rescheduled(
    session: AsyncSession,
    old: Appointment,
    new: Appointment,
    citizen: Citizen | None,
    *,
    links: Links,
    now: datetime,
) -> None:
    """The move, telling the old time and the new one.

    When the move also changes the agent, the first agent is told the appointment is
    cancelled and the new one that it is booked: neither ever heard of the other's.
    """
    await withdraw_pending(session, old.id)
    moved = {"previous_start": old.start_at}
    parties = await _parties(session, new)
    uid = await calendar_uid(session, new, links)
    rows = _reminders(new, citizen, parties, await _reminder_offsets(session, new), links,
                      now, uid)  # fmt: skip
    if old.agent_id == new.agent_id:
        rows += _messages("rescheduled", new, citizen, parties, links, now, uid, moved)
    else:
        old_parties = await _parties(session, old)
        rows += _messages("cancelled", old, citizen, old_parties, links, now, uid,
                          to_citizen=False)  # fmt: skip
        rows += _messages("booked", new, citizen, parties, links, now, uid, to_citizen=False)
        rows += _messages("rescheduled", new, citizen, parties, links, now, uid, moved,
                          to_agent=False)  # fmt: skip
    await _insert(session, rows)


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
) -> list[OutboxMessage]:
    """The latest messages of the outbox, newest first, for administrators: with no SMTP
    server configured this is where they can read what would have been sent."""
    if not actor.is_admin:
        raise NotAllowed()
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list((await session.scalars(query)).all())


async def outbox_message(session: AsyncSession, actor: Actor, message_id: int) -> OutboxMessage:
    """One message as it is (or would be) sent, for administrators."""
    if not actor.is_admin:
        raise NotAllowed()
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    return message


def message_subject(message: OutboxMessage) -> str:
    """Only the subject of a row of the outbox."""
    return compose_subject(message.payload) if message.payload is not None else message.subject
