"""Rendez-vous visio and their status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visio.db.base import Base
from visio.db.models._columns import created_at_column, enum_column
from visio.domain import AppointmentStatus, RebookReason


class Appointment(Base):
    """A visio appointment between a citizen at a station and a partner agent."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="start_before_end"),
        CheckConstraint("busy_from <= start_at AND busy_until >= end_at", name="busy_covers"),
        Index(None, "site_id", "start_at"),
        Index(None, "agent_id", "start_at"),
        Index(None, "station_id", "start_at"),
        Index(None, "status", "start_at"),
        Index(None, "citizen_id"),
        # Slot searches look for time still busy after a date, per agent and per site.
        Index(None, "agent_id", "busy_until"),
        Index(None, "site_id", "busy_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    motive_id: Mapped[int] = mapped_column(ForeignKey("motives.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizens.id", ondelete="SET NULL"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # The time the appointment keeps its agent and station busy: start and end widened by
    # the motive's buffers, frozen at booking so later motive edits do not move old bookings.
    busy_from: Mapped[datetime]
    busy_until: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_status"),
        default=AppointmentStatus.BOOKED,
        server_default=AppointmentStatus.BOOKED.value,
    )
    # Random Jitsi room name, no personal data; stable for the appointment's life.
    room: Mapped[str] = mapped_column(String(64), unique=True)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL"), unique=True
    )
    # Bumped on each change the agent's calendar must see (ICS SEQUENCE).
    sequence: Mapped[int] = mapped_column(server_default="0")
    # The citizen sat down at the station (marked by the desk).
    arrived_at: Mapped[datetime | None]
    # The partner agent opened their meeting link: a desk can tell a late agent.
    agent_joined_at: Mapped[datetime | None]
    cancel_reason: Mapped[str] = mapped_column(Text, server_default="")
    # A set-up change took the agent or the station away (confirmed by whoever made it):
    # when, and why. The appointment stays booked until its desk moves or cancels it.
    to_rebook_since: Mapped[datetime | None]
    to_rebook_reason: Mapped[RebookReason | None] = mapped_column(
        enum_column(RebookReason, "rebook_reason")
    )
    outcome_note: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    events: Mapped[list[AppointmentEvent]] = relationship(
        back_populates="appointment", lazy="raise", order_by="AppointmentEvent.id"
    )


class AppointmentEvent(Base):
    """One step of an appointment's history: booked, cancelled, held…"""

    __tablename__ = "appointment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_status: Mapped[AppointmentStatus | None] = mapped_column(
        enum_column(AppointmentStatus, "appointment_event_from")
    )
    to_status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_event_to")
    )
    note: Mapped[str] = mapped_column(Text, server_default="")

    appointment: Mapped[Appointment] = relationship(back_populates="events", lazy="raise")
