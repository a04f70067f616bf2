"""An outbox message's facts → the email as sent: subject, text, HTML and invitation.

A change queues each message as the facts it reports (a JSON document written in the
change's transaction: who, where, when, which event of whose calendar); the words are
put on them when the message is sent or shown, by this pure function of those facts.
The facts are those of the moment of the change: a message says what was true when it
was queued, whatever happens to the appointment afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from visio.notify.facts import MessageFacts, PasswordResetFacts, read_facts
from visio.notify.ics import Attendee, Invitation, build_ics
from visio.notify.render import render_email, render_subject


@dataclass(frozen=True, slots=True)
class Composed:
    subject: str
    text: str
    html: str
    ics: str | None = None
    ics_method: str | None = None


def subject(facts: MessageFacts | PasswordResetFacts) -> str:
    """Only the subject of the message `facts` describe."""
    context = facts.context
    return render_subject(facts.template, context.locale, context.model_dump())


def compose(facts: MessageFacts | PasswordResetFacts, *, to_name: str, to_email: str) -> Composed:
    """The message `facts` describe (see `visio.services.notifications`), for one
    recipient. Raises `ValueError` on facts no template can make a message of."""
    context = facts.context
    email = render_email(facts.template, context.locale, context.model_dump())
    # Only appointments are calendar events.
    if not isinstance(facts, MessageFacts) or facts.invitation is None:
        return Composed(email.subject, email.text, email.html)
    context, invitation = facts.context, facts.invitation
    organizer = invitation.organizer
    ics = build_ics(
        Invitation(
            uid=invitation.uid,
            sequence=invitation.sequence,
            method=invitation.method,
            start=context.start,
            end=context.end,
            summary=invitation.summary,
            description=email.text,
            location=invitation.location,
            url=invitation.url,
            organizer=Attendee(organizer.name, organizer.email),
            attendees=(Attendee(to_name, to_email),),
        ),
        invitation.stamp,
    )
    return Composed(email.subject, email.text, email.html, ics, invitation.method)


class OutboxRow(Protocol):
    """What the sender and the administrators' pages read of an outbox row."""

    @property
    def payload(self) -> object | None: ...

    @property
    def recipient_name(self) -> str: ...

    @property
    def recipient_email(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def body_text(self) -> str: ...

    @property
    def body_html(self) -> str: ...

    @property
    def ics(self) -> str | None: ...

    @property
    def ics_method(self) -> str | None: ...


def content(row: OutboxRow) -> Composed:
    """An outbox row's message as it is, or will be, sent: composed from its facts, or as
    written when it was queued already worded (by scripts)."""
    if row.payload is not None:
        facts = read_facts(row.payload)
        return compose(facts, to_name=row.recipient_name, to_email=row.recipient_email)
    return Composed(row.subject, row.body_text, row.body_html, row.ics, row.ics_method)
