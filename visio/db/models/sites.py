"""Maisons France Services, their visio stations, opening hours and closures."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visio.db.base import Base
from visio.db.models._columns import created_at_column


class Site(Base):
    """A France Services house (maison): where the citizen sits at a visio station."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    commune: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(Text, server_default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    # IANA zone: Europe/Paris in metropolitan France, Indian/Reunion, America/Cayenne…
    timezone: Mapped[str] = mapped_column(String(64))
    # None: metropolitan France; else a subdivision code of the `holidays` package (57, 6AE, 974…).
    holiday_calendar: Mapped[str | None] = mapped_column(String(16))
    # A house closed for good: out of new bookings and of the set-up lists' default view,
    # kept with its history (appointments, statistics).
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = created_at_column()

    stations: Mapped[list[Station]] = relationship(
        back_populates="site", lazy="raise", order_by="Station.id"
    )
    opening_hours: Mapped[list[OpeningHour]] = relationship(
        lazy="raise",
        order_by="(OpeningHour.weekday, OpeningHour.start)",
        cascade="all, delete-orphan",
    )


class OpeningHour(Base):
    """One opening range of a site on one ISO weekday, in the site's wall-clock time."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday"),
        CheckConstraint('start < "end"', name="start_before_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    start: Mapped[time]
    end: Mapped[time]


class Station(Base):
    """A visio room or kiosk at a site: hosts one session at a time."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = created_at_column()

    site: Mapped[Site] = relationship(back_populates="stations", lazy="raise")


class Closure(Base):
    """A site (or only one of its stations, when `station_id` is set) closed for a while."""

    __tablename__ = "closures"
    __table_args__ = (
        CheckConstraint("start_at < end_at", name="start_before_end"),
        Index(None, "site_id", "end_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id", ondelete="CASCADE"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, server_default="")


class CalendarStamp(Base):
    """One row: a random stamp that every change to the houses' calendars (sites, their
    opening hours, stations and closures) replaces, by triggers (migration 0008). Equal
    stamps mean equal calendars, so a process may keep what it worked out of them (the
    houses' opening days, `visio.services.opening`) while the stamp stays; a transaction
    rolled back takes its stamp back with its changes. Never written by the code."""

    __tablename__ = "calendar_stamps"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    stamp: Mapped[str] = mapped_column(String(36))
