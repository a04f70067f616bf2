"""ORM models, one aggregate per module; importing this package registers every table."""

from visio.db.models.agents import Absence, Agent, AvailabilityRule
from visio.db.models.appointments import Appointment, AppointmentEvent
from visio.db.models.audit import AuditEntry
from visio.db.models.citizens import Citizen
from visio.db.models.desk_requests import DeskRequest, DeskRequestCount, RequestTheme
from visio.db.models.outbox import OutboxMessage
from visio.db.models.partners import Motive, Partner
from visio.db.models.password_resets import PasswordReset
from visio.db.models.sites import CalendarStamp, Closure, OpeningHour, Site, Station
from visio.db.models.statistics import DeskRollup, SessionCount, SessionRollup
from visio.db.models.users import ApiToken, User, user_sites
from visio.db.models.web_sessions import IdempotencyKey, LoginThrottle, WebSession

# The enums live with the domain; importable from here too, as the models store them.
from visio.domain import (
    ACTIVE_STATUSES,
    AppointmentStatus,
    OutboxStatus,
    RequestChannel,
    Role,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Absence",
    "Agent",
    "ApiToken",
    "Appointment",
    "AppointmentEvent",
    "AppointmentStatus",
    "AuditEntry",
    "AvailabilityRule",
    "CalendarStamp",
    "Citizen",
    "Closure",
    "DeskRequest",
    "DeskRequestCount",
    "DeskRollup",
    "IdempotencyKey",
    "LoginThrottle",
    "Motive",
    "OpeningHour",
    "OutboxMessage",
    "OutboxStatus",
    "Partner",
    "PasswordReset",
    "RequestChannel",
    "RequestTheme",
    "Role",
    "SessionCount",
    "SessionRollup",
    "Site",
    "Station",
    "User",
    "WebSession",
    "user_sites",
]
