"""Walk-in and phone requests at the desk: counts only, no personal data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import enum_column
from visio.domain import RequestChannel


class DeskRequest(Base):
    """One request handled at a site's desk (about 24 a day in the houses we serve)."""

    __tablename__ = "desk_requests"
    __table_args__ = (Index(None, "site_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    kind: Mapped[str] = mapped_column(String(80))
    channel: Mapped[RequestChannel] = mapped_column(enum_column(RequestChannel, "request_channel"))
    at: Mapped[datetime]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
