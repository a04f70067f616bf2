"""ORM models, one aggregate per module; importing this package registers every table."""

from visio.db.models.agents import Absence, Agent, AvailabilityRule
from visio.db.models.appointments import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
)
from visio.db.models.audit import AuditEntry
from visio.db.models.citizens import Citizen
from visio.db.models.desk_requests import DeskRequest, RequestChannel
from visio.db.models.outbox import OutboxMessage, OutboxStatus
from visio.db.models.partners import Motive, Partner
from visio.db.models.sites import Closure, OpeningHour, Site, Station
from visio.db.models.users import ApiToken, Role, User, user_sites

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
    "Citizen",
    "Closure",
    "DeskRequest",
    "Motive",
    "OpeningHour",
    "OutboxMessage",
    "OutboxStatus",
    "Partner",
    "RequestChannel",
    "Role",
    "Site",
    "Station",
    "User",
    "user_sites",
]
