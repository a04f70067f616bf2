"""The words of the domain every layer shares: roles and statuses.

Plain enums, no database and no web: the models store them by value, the services
reason with them, the handlers and templates show them.
"""

from __future__ import annotations

import dataclasses
import enum


class Role(enum.StrEnum):
    DESK = "desk"
    AGENT = "agent"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    HELD = "held"
    NO_SHOW = "no_show"  # the citizen did not come
    AGENT_ABSENT = "agent_absent"
    CANCELLED = "cancelled"


# Statuses that occupy the agent and the station: everything but a cancellation. A held or
# missed appointment did take its time, so nothing may be booked over it afterwards either.
ACTIVE_STATUSES = frozenset(set(AppointmentStatus) - {AppointmentStatus.CANCELLED})

# What an appointment can end as, once it has started.
OUTCOMES = frozenset(
    {AppointmentStatus.HELD, AppointmentStatus.NO_SHOW, AppointmentStatus.AGENT_ABSENT}
)


class RebookReason(enum.StrEnum):
    """Why a booked appointment can no longer take place as booked and waits for its desk
    to move it: a set-up change, confirmed by an administrator or the agent, took its
    agent or its station away."""

    AGENT_ABSENT = "agent_absent"  # an absence of the agent falls on it
    AGENT_LEFT = "agent_left"  # the agent was marked as gone
    PERMANENCE_CHANGED = "permanence_changed"  # no permanence of the agent covers it now
    HOUSE_CLOSED = "house_closed"  # a closure of the whole house falls on it
    STATION_CLOSED = "station_closed"  # a closure of its station falls on it
    STATION_OUT_OF_SERVICE = "station_out_of_service"  # its station was taken out of service


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good by the server (bad address…)
    DEAD = "dead"  # gave up after the last retry
    CANCELLED = "cancelled"  # a reminder whose appointment changed


class RequestChannel(enum.StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    VISIO = "visio"


@dataclasses.dataclass(frozen=True, slots=True)
class AppointmentScope:
    """The appointments a person sees: every one, those of some houses, or one agent's
    (see `visio.services.permissions.appointment_scope`)."""

    every: bool = False
    site_ids: frozenset[int] = frozenset()
    agent_id: int | None = None
