"""What services answer with: frozen, typed records of what a page or a JSON answer shows.

Each entity's fields are written here once. The JSON API answers with these records as
they are (their JSON schema is generated from them: `visio.handlers.openapi`), and pages
render them; no layer above the services ever sees a database row. Times are aware
datetimes in the zone they are shown in (the house's, or the agent's for agent-facing
records), so `isoformat()` gives the API's `2026-03-30T09:00:00+02:00`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from visio.domain import AppointmentStatus, OutboxStatus, RebookReason, RequestChannel, Role


def reference_of(appointment_id: int) -> str:
    """A short reference to quote on the phone: the id, no personal data."""
    return f"V-{appointment_id:06d}"


@dataclass(frozen=True, slots=True)
class CitizenView:
    """A citizen as the desk and the appointment's agent see them (never once erased)."""

    id: int
    first_name: str
    last_name: str
    birth_date: date | None
    email: str | None
    phone: str | None
    locale: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment in its house's wall-clock time, with the names its pages show.

    `agent_presence` tells the desk about the partner agent: ``"joined"`` (they opened
    their link), ``"late"`` (booked, started, not come), ``"missed"`` (booked, over, never
    came) or ``""`` (nothing to say yet).
    """

    id: int
    reference: str
    status: AppointmentStatus
    start: datetime
    end: datetime
    timezone: str
    site_id: int
    site_name: str
    station_id: int
    partner_id: int
    partner_name: str
    motive_id: int
    motive_name: str
    agent_id: int
    agent_name: str
    agent_timezone: str
    citizen: CitizenView | None
    room: str
    rescheduled_from_id: int | None
    arrived_at: datetime | None
    agent_joined_at: datetime | None
    cancel_reason: str
    outcome_note: str
    agent_presence: str
    # A set-up change left it without its agent or station: since when, and why (its
    # house is to move it).
    to_rebook_since: datetime | None = None
    to_rebook_reason: RebookReason | None = None

    @property
    def citizen_name(self) -> str | None:
        """The citizen's name as pages show it; None once erased."""
        return self.citizen.full_name if self.citizen is not None else None


Item = TypeVar("Item")


@dataclass(frozen=True, slots=True)
class Listing(Generic[Item]):
    """One page of a list: its items, how many the whole list holds, and where the page
    stands (`per_page` None: the whole list on one page)."""

    items: list[Item]
    total: int
    page: int = 1
    per_page: int | None = None

    @property
    def pages(self) -> int:
        if self.per_page is None:
            return 1
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True, slots=True)
class StationView:
    id: int
    name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class OpeningHoursView:
    """One weekly opening range, site-local; `weekday` ISO (1 = Monday), times `HH:MM`."""

    weekday: int
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class SiteSummary:
    id: int
    name: str
    commune: str
    timezone: str
    active: bool


@dataclass(frozen=True, slots=True)
class SiteView(SiteSummary):
    """A house with its opening hours and visio stations."""

    holiday_calendar: str | None
    address: str
    opening_hours: list[OpeningHoursView]
    stations: list[StationView]


@dataclass(frozen=True, slots=True)
class ClosureView:
    """A closure of a house or of one station, in the house's time."""

    id: int
    site_id: int
    station_id: int | None
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class MotiveSummary:
    id: int
    name: str
    duration_minutes: int


@dataclass(frozen=True, slots=True)
class MotiveView(MotiveSummary):
    """A démarche of a partner with its timing, documents and reminders."""

    partner_id: int
    slot_step_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    documents: list[str]
    instructions: str
    reminder_offsets_minutes: list[int]
    active: bool = True  # retired: out of new bookings, kept with its history


@dataclass(frozen=True, slots=True)
class PartnerView:
    id: int
    code: str
    name: str
    motives: list[MotiveSummary]  # those still offered
    active: bool = True  # gone from the network: out of new bookings, kept with its history


@dataclass(frozen=True, slots=True)
class AgentView:
    id: int
    partner_id: int
    name: str
    email: str
    timezone: str
    locale: str
    active: bool = True  # left: out of new bookings, kept with their history


@dataclass(frozen=True, slots=True)
class RuleView:
    """A remote permanence, in the agent's wall-clock time (`HH:MM`)."""

    id: int
    agent_id: int
    weekdays: list[int]
    start: str
    end: str
    every_weeks: int
    anchor_date: date | None
    valid_from: date | None
    valid_until: date | None
    site_ids: list[int] | None
    motive_ids: list[int] | None


@dataclass(frozen=True, slots=True)
class AbsenceView:
    """An agent's absence, in the agent's time."""

    id: int
    agent_id: int
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    email: str
    name: str
    role: Role
    site_ids: list[int]
    agent_id: int | None
    locale: str
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token just made: the clear token is in this answer only."""

    id: int
    token: str
    prefix: str
    label: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionView:
    """A signed-in browser, as its person or an administrator tells it apart: never its
    token. `browser`: "Firefox · Windows", or "" when unknown."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    browser: str


@dataclass(frozen=True, slots=True)
class TokenView:
    """An API token as its owner tells it apart: never the token itself."""

    id: int
    prefix: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedReset:
    """A password reset link just made for an account: sent by email to its owner
    (`emailed_to`), or `link` itself, to be handed over, shown this once."""

    user_id: int
    expires_at: datetime
    emailed_to: str | None
    link: str | None


@dataclass(frozen=True, slots=True)
class ResetLinkView:
    """A password reset link still good, as its page shows it: whose account."""

    email: str
    name: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message of the outbox as administrators list it (times in UTC)."""

    id: int
    kind: str
    status: OutboxStatus
    recipient_email: str
    recipient_name: str
    locale: str
    subject: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    # The appointment it reports (None once that appointment is erased).
    appointment_id: int | None = None


@dataclass(frozen=True, slots=True)
class ThemeView:
    """A theme of desk requests; `name` in French, `name_en` in English."""

    id: int
    code: str
    name: str
    name_en: str
    position: int
    active: bool

    def label(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name


@dataclass(frozen=True, slots=True)
class DeskRequestView:
    """One request recorded at a desk: what it was about, never who asked."""

    id: int
    site_id: int
    partner_id: int | None
    theme_id: int | None
    kind: str | None
    channel: RequestChannel
    accompanied: bool
    new_person: bool
    at: datetime  # in the house's zone
    day: date


# Who made a change the audit log records: a person signed in, the command line (accounts
# and tokens made with `visio users`/`visio tokens`), or visio itself.
AuditAuthor = Literal["person", "command_line", "system"]


@dataclass(frozen=True, slots=True)
class AuditEntryView:
    """One entry of the audit log: when (in the reader's zone), who, what, on which record,
    and what changed (never citizen data)."""

    id: int
    at: datetime
    by: AuditAuthor
    user_id: int | None
    user_name: str | None
    user_email: str | None
    action: str
    entity: str
    entity_id: int | None
    details: dict[str, object]
