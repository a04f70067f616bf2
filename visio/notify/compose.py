"""An outbox message's facts → the email as sent: subject, text, HTML and invitation.

A change queues each message as the facts it reports (a JSON document written in the
change's transaction: who, where, when, which event of whose calendar); the words are
put on them when the message is sent or shown, by this pure function of those facts.
The facts are those of the moment of the change: a message says what was true when it
was queued, whatever happens to the appointment afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from visio.notify.ics import Attendee, Invitation, Method, build_ics
from visio.notify.render import render_email, render_subject

# Facts that are instants, written as ISO 8601 text in the JSON document.
INSTANTS = ("start", "end", "previous_start")


@dataclass(frozen=True, slots=True)
class Composed:
    subject: str
    text: str
    html: str
    ics: str | None = None
    ics_method: str | None = None


def facts_json(context: dict[str, Any]) -> dict[str, Any]:
    """`context` with its instants as text, ready for a JSON column."""
    return {
        key: value.isoformat() if key in INSTANTS and value is not None else value
        for key, value in context.items()
    }


def _context(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        key: datetime.fromisoformat(value) if key in INSTANTS and value is not None else value
        for key, value in payload["context"].items()
    }


def subject(payload: dict[str, Any]) -> str:
    """Only the subject of the message described by `payload`."""
    context = _context(payload)
    return render_subject(payload["template"], context["locale"], context)


def compose(payload: dict[str, Any], *, to_name: str, to_email: str) -> Composed:
    """The message described by `payload` (see `visio.services.notifications`), for one
    recipient. Raises `ValueError` or `KeyError` on facts it cannot make a message of."""
    context = _context(payload)
    email = render_email(payload["template"], context["locale"], context)
    invitation = payload.get("invitation")
    if not invitation:
        return Composed(email.subject, email.text, email.html)
    method: Method = invitation["method"]
    organizer = invitation["organizer"]
    ics = build_ics(
        Invitation(
            uid=invitation["uid"],
            sequence=invitation["sequence"],
            method=method,
            start=context["start"],
            end=context["end"],
            summary=invitation["summary"],
            description=email.text,
            location=invitation["location"],
            url=invitation.get("url"),
            organizer=Attendee(organizer["name"], organizer["email"]),
            attendees=(Attendee(to_name, to_email),),
        ),
        datetime.fromisoformat(invitation["stamp"]),
    )
    return Composed(email.subject, email.text, email.html, ics, method)


class OutboxRow(Protocol):
    """What the sender and the administrators' pages read of an outbox row."""

    @property
    def payload(self) -> dict[str, Any] | None: ...

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
        return compose(row.payload, to_name=row.recipient_name, to_email=row.recipient_email)
    return Composed(row.subject, row.body_text, row.body_html, row.ics, row.ics_method)
