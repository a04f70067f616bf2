"""Partner organisations (CAF, CPAM, France Travail…) and the motives they receive for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visio.db.base import Base
from visio.db.models._columns import created_at_column


class Partner(Base):
    """An operator whose agents hold remote permanences."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    # A partner that left the network: out of new bookings, kept with its history.
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = created_at_column()

    motives: Mapped[list[Motive]] = relationship(
        back_populates="partner", lazy="raise", order_by="Motive.id"
    )


class Motive(Base):
    """A démarche a citizen comes for: its length, buffers and what to bring."""

    __tablename__ = "motives"
    __table_args__ = (
        UniqueConstraint("partner_id", "name"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 480", name="duration"),
        CheckConstraint(
            "slot_step_minutes IS NULL OR slot_step_minutes BETWEEN 5 AND 480", name="step"
        ),
        CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers"),
        CheckConstraint("min_notice_minutes >= 0", name="notice"),
        CheckConstraint("horizon_days BETWEEN 1 AND 730", name="horizon"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(160))
    duration_minutes: Mapped[int]
    # None: slots step by the duration.
    slot_step_minutes: Mapped[int | None]
    buffer_before_minutes: Mapped[int] = mapped_column(server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(server_default="0")
    min_notice_minutes: Mapped[int] = mapped_column(server_default="60")
    horizon_days: Mapped[int] = mapped_column(server_default="60")
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    instructions: Mapped[str] = mapped_column(Text, server_default="")
    # Minutes before the start at which reminders go out.
    reminder_offsets: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1440, 60])
    active: Mapped[bool] = mapped_column(server_default=true())

    partner: Mapped[Partner] = relationship(back_populates="motives", lazy="raise")
