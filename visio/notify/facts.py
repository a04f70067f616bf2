"""The facts an outbox message reports: a typed document, validated when it is written (in
the transaction of the change it reports) and again when it is read (to be worded, sent
or shown). Stored as JSON in the outbox row's `payload`.

The facts are those of the moment of the change: a message says what was true when it
was queued, whatever happens to the appointment afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

Template = Literal["booked", "cancelled", "rescheduled", "reminder"]
CalendarMethod = Literal["REQUEST", "CANCEL"]


class Facts(BaseModel):
    """Immutable, and strict about its fields: a typo in a fact is a bug, not a blank."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SiteFacts(Facts):
    name: str
    address: str
    timezone: str
    email: str | None


class PartnerFacts(Facts):
    name: str


class MotiveFacts(Facts):
    name: str
    documents: list[str]
    instructions: str


class AgentFacts(Facts):
    """The partner agent: who receives the agent's messages, in which language and zone."""

    name: str
    email: str
    locale: str
    timezone: str


class Parties(Facts):
    """What the messages about one appointment say of its house, partner, motive, agent."""

    site: SiteFacts
    partner: PartnerFacts
    motive: MotiveFacts
    agent: AgentFacts


class MessageContext(Facts):
    """What the email templates are given (`visio/templates/emails/`)."""

    for_agent: bool
    recipient_name: str
    locale: str
    # The zone the recipient reads times in: the agent's own, or the house's.
    zone: str
    start: datetime
    end: datetime
    site: SiteFacts
    partner: PartnerFacts
    motive: MotiveFacts
    documents: list[str]
    instructions: str
    reference: str
    join_url: str
    # The agent needs to know whom they will see; nobody else gets the name.
    citizen_name: str
    reason: str
    previous_start: datetime | None = None


class Organizer(Facts):
    name: str
    email: str


class InvitationFacts(Facts):
    """The calendar event a message carries: one UID per appointment (and its moves),
    a SEQUENCE growing with each change."""

    uid: str
    sequence: int
    method: CalendarMethod
    summary: str
    location: str
    url: str | None
    organizer: Organizer
    stamp: datetime


class MessageFacts(Facts):
    """One outbox message: which template words it, its context, its invitation (reminders
    have none: the calendar already holds the event)."""

    template: Template
    context: MessageContext
    invitation: InvitationFacts | None

    def to_json(self) -> dict[str, object]:
        """The document as stored in the outbox row."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, document: object) -> MessageFacts:
        """A stored document, checked: `pydantic.ValidationError` if it is not one."""
        return cls.model_validate(document)
