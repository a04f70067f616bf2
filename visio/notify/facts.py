"""The facts an outbox message reports: a typed document, validated when it is written (in
the transaction of the change it reports) and again when it is read (to be worded, sent
or shown). Stored as JSON in the outbox row's `payload`.

The facts are those of the moment of the change: a message says what was true when it
was queued, whatever happens to the appointment afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Template = Literal["booked", "cancelled", "rescheduled", "reminder", "to_rebook"]
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


class PasswordResetContext(Facts):
    """What the password reset email's templates are given."""

    recipient_name: str
    locale: str
    # The one-time link itself: the email must carry it, and the outbox words messages only
    # when it sends them, so it waits here in clear until then (the account's reset keeps
    # only its hash). It works once, for `valid_hours`, and a newer link spends it.
    link: str
    valid_hours: int


class PasswordResetFacts(Facts):
    """A password reset link sent to an account's owner (`visio.services.password_resets`)."""

    template: Literal["password_reset"]
    context: PasswordResetContext

    def to_json(self) -> dict[str, object]:
        """The document as stored in the outbox row."""
        return self.model_dump(mode="json")


# Every kind of facts a message may report, told apart by its template.
AnyFacts = Annotated[MessageFacts | PasswordResetFacts, Field(discriminator="template")]
_ANY_FACTS: TypeAdapter[MessageFacts | PasswordResetFacts] = TypeAdapter(AnyFacts)


def read_facts(document: object) -> MessageFacts | PasswordResetFacts:
    """A stored document of any kind, checked: `pydantic.ValidationError` if it is none."""
    return _ANY_FACTS.validate_python(document)
