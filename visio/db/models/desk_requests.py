"""The desk's tally: the requests handled at a house's desk, counts only, never who."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import enum_column
from visio.domain import RequestChannel


class RequestTheme(Base):
    """A theme a desk request is about: the six France Services themes to begin with, more
    as a department sees fit. A theme in use is deactivated, never deleted."""

    __tablename__ = "request_themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))  # French, as the desk reads it
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int]
    active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class DeskRequest(Base):
    """One request handled at a site's desk (about 24 a day in the houses we serve)."""

    __tablename__ = "desk_requests"
    __table_args__ = (Index(None, "site_id", "at"), Index(None, "site_id", "day"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    # The partner or operator asked for; none for a request of no one's in particular.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    # None only for requests recorded before themes were.
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("request_themes.id"))
    kind: Mapped[str | None] = mapped_column(String(80))
    channel: Mapped[RequestChannel] = mapped_column(enum_column(RequestChannel, "request_channel"))
    accompanied: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # "First time this year": counts people without keeping who they are.
    new_person: Mapped[bool] = mapped_column(Boolean, server_default=false())
    at: Mapped[datetime]
    day: Mapped[date]  # the house's calendar day of `at`
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class DeskRequestCount(Base):
    """How many requests one house's desk handled on one day of its calendar, per partner,
    theme and channel; kept by the transaction that records a request (or takes it back).

    `partner_id` and `theme_id` are 0 for none (a key column cannot be null), hence no
    foreign key on them."""

    __tablename__ = "desk_request_counts"
    __table_args__ = (
        CheckConstraint(
            "requests >= 0 AND accompanied >= 0 AND new_people >= 0 AND people_accompanied >= 0",
            name="not_negative",
        ),
        Index(None, "partner_id", "day"),
        Index(None, "day"),
    )

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    theme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[RequestChannel] = mapped_column(
        enum_column(RequestChannel, "desk_count_channel"), primary_key=True
    )
    year: Mapped[int]
    month: Mapped[int]
    week: Mapped[str] = mapped_column(String(8))
    requests: Mapped[int]
    accompanied: Mapped[int]  # requests where the person was accompanied in a procedure
    new_people: Mapped[int]  # requests from someone first seen this year
    people_accompanied: Mapped[int]  # both: distinct people accompanied
