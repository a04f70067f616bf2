"""Partner agents, their weekly remote permanences and their absences."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visio.db.base import Base, metadata
from visio.db.models._columns import created_at_column

if TYPE_CHECKING:
    from visio.db.models.partners import Motive
    from visio.db.models.sites import Site

rule_sites = Table(
    "availability_rule_sites",
    metadata,
    Column("rule_id", ForeignKey("availability_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)

rule_motives = Table(
    "availability_rule_motives",
    metadata,
    Column("rule_id", ForeignKey("availability_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("motive_id", ForeignKey("motives.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Agent(Base):
    """A remote agent of a partner, working in their own time zone and language."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), server_default="fr")
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = created_at_column()
    # SHA-256 of the secret in the agent's private calendar feed URL; None: no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)

    rules: Mapped[list[AvailabilityRule]] = relationship(
        back_populates="agent", lazy="raise", order_by="AvailabilityRule.id"
    )


class AvailabilityRule(Base):
    """A permanence à distance: weekly (or every N weeks) wall-clock hours of an agent."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        CheckConstraint('start < "end"', name="start_before_end"),
        CheckConstraint("every_weeks BETWEEN 1 AND 8", name="every_weeks"),
        CheckConstraint(
            "valid_until IS NULL OR valid_from IS NULL OR valid_from <= valid_until",
            name="valid_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    # ISO weekdays, 1 = Monday … 7 = Sunday, in the agent's time zone.
    weekdays: Mapped[list[int]] = mapped_column(JSON)
    start: Mapped[time]
    end: Mapped[time]
    every_weeks: Mapped[int] = mapped_column(server_default="1")
    anchor_date: Mapped[date | None]
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    created_at: Mapped[datetime] = created_at_column()

    agent: Mapped[Agent] = relationship(back_populates="rules", lazy="raise")
    # Empty means every site / every motive of the partner.
    sites: Mapped[list[Site]] = relationship(secondary=rule_sites, lazy="raise")
    motives: Mapped[list[Motive]] = relationship(secondary=rule_motives, lazy="raise")


class Absence(Base):
    """An agent away (leave, training…): no slot with them in that range."""

    __tablename__ = "absences"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="start_before_end"),
        Index(None, "agent_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, server_default="")
