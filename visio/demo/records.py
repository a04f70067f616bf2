"""What the history is drawn from (the stored houses, partners and permanences) and what it
draws (appointments, their citizens, desk requests): typed records, no rows."""

from __future__ import annotations

import dataclasses
from datetime import datetime, time, timedelta

from visio.db.models import Agent, AppointmentStatus, Motive, Partner, RequestChannel, Site, Station
from visio.demo.houses import SiteSpec
from visio.demo.partners import PartnerSpec


@dataclasses.dataclass(frozen=True)
class House:
    """A demo house once stored: what it was made from, its site and its stations."""

    spec: SiteSpec
    site: Site
    stations: tuple[Station, ...]


@dataclasses.dataclass(frozen=True)
class PartnerTeam:
    """A stored partner with its motives and agents."""

    spec: PartnerSpec
    partner: Partner
    motives: tuple[Motive, ...]
    agents: tuple[Agent, ...]


@dataclasses.dataclass(frozen=True)
class Permanence:
    """A weekly half-day an agent holds for a few houses (by site id)."""

    weekday: int
    hours: tuple[time, time]
    site_ids: tuple[int, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class DrawnCitizen:
    """A citizen of a recent appointment, as they registered at the desk."""

    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    created_at: datetime


@dataclasses.dataclass(frozen=True, slots=True)
class DrawnAppointment:
    """One appointment of the history, whatever became of it."""

    site_id: int
    station_id: int
    partner_id: int
    motive_id: int
    agent_id: int
    citizen: DrawnCitizen | None
    start_at: datetime
    end_at: datetime
    busy_from: datetime
    busy_until: datetime
    status: AppointmentStatus
    room: str
    booked_at: datetime
    # When it reached its status: its booking, or its end for the others (never after now).
    updated_at: datetime

    @property
    def arrived_at(self) -> datetime | None:
        """When the citizen checked in: five minutes early, if they came."""
        if self.status in (AppointmentStatus.HELD, AppointmentStatus.AGENT_ABSENT):
            return self.start_at - timedelta(minutes=5)
        return None

    @property
    def cancel_reason(self) -> str:
        """Why it was cancelled; empty unless it was."""
        return "Empêchement de l'usager" if self.status is AppointmentStatus.CANCELLED else ""


@dataclasses.dataclass(frozen=True, slots=True)
class DrawnDeskRequest:
    """A request the desk counted: for a partner (or none), about a theme, at the counter, on
    the phone, by email or in visio; whether the person was accompanied, and new this year."""

    site_id: int
    partner_id: int | None
    theme: str  # its code
    kind: str | None
    channel: RequestChannel
    accompanied: bool
    new_person: bool
    at: datetime
