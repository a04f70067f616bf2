"""Counters the statistics read: never a citizen row, so they outlive the purge of personal
data, and their cost does not grow with the history."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import enum_column
from visio.domain import AppointmentStatus


class SessionCount(Base):
    """How many appointments of one house, partner, motive and agent start on one day of the
    house's calendar, per status. Kept exact by the very transaction that books, moves,
    cancels or records an outcome (`visio.services.counters`); `visio stats rebuild`
    recounts them from the appointments."""

    __tablename__ = "session_counts"
    __table_args__ = (
        CheckConstraint("count >= 0", name="not_negative"),
        CheckConstraint("minutes >= 0", name="minutes_not_negative"),
        Index(None, "partner_id", "day"),
        Index(None, "day"),
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    motive_id: Mapped[int] = mapped_column(ForeignKey("motives.id"), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "session_count_status"), primary_key=True
    )
    # The day's year, month and ISO week ("2026-W12"), written with it: every period groups
    # by a plain column, the same way on every database.
    year: Mapped[int]
    month: Mapped[int]
    week: Mapped[str] = mapped_column(String(8))
    count: Mapped[int]
    minutes: Mapped[int] = mapped_column(server_default="0")  # their booked minutes


class SessionRollup(Base):
    """The daily appointment counters added up for the network-wide views, one "grain" per
    way: per house and month (`site_month`) or year (`site_year`), per partner and motive
    and month (`partner_motive_month`), per partner and house and year
    (`partner_site_year`). The dimensions a grain drops hold 0, a yearly grain's month 0.
    Kept by triggers on `session_counts` (migration 0007): never written by the code."""

    __tablename__ = "session_rollups"
    # On SQLite the rows live in the key's b-tree: a period's rows are read in key order.
    # PostgreSQL keeps rows in a heap: a partner's year of houses (thousands of rows) is
    # read from a covering index of that grain instead (migration 0009).
    __table_args__ = (
        Index(
            "ix_session_rollups_partner_site_year", "partner_id", "year", "site_id",
            postgresql_include=["held", "no_show", "agent_absent", "cancelled", "booked",
                                "minutes"],
            postgresql_where=text("grain = 'partner_site_year'"),
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )  # fmt: skip

    grain: Mapped[str] = mapped_column(String(24), primary_key=True)
    partner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    motive_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    held: Mapped[int]
    no_show: Mapped[int]
    agent_absent: Mapped[int]
    cancelled: Mapped[int]
    booked: Mapped[int]
    minutes: Mapped[int]  # booked minutes, cancelled appointments aside


class DeskRollup(Base):
    """The desk's daily counters added up the same way: per house and month or year, per
    partner, theme and channel and month (`partner_theme_channel_month`), per partner and
    house and year. Dropped dimensions hold 0 ('' for the channel); kept by triggers on
    `desk_request_counts`."""

    __tablename__ = "desk_rollups"
    __table_args__ = (
        Index(
            "ix_desk_rollups_partner_site_year",
            "partner_id",
            "year",
            "site_id",
            postgresql_include=["requests", "accompanied", "new_people", "people_accompanied"],
            postgresql_where=text("grain = 'partner_site_year'"),
            info={"only_on": "postgresql"},
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    grain: Mapped[str] = mapped_column(String(32), primary_key=True)
    partner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    month: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    site_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    theme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(13), primary_key=True)
    requests: Mapped[int]
    accompanied: Mapped[int]
    new_people: Mapped[int]
    people_accompanied: Mapped[int]
