"""Citizens (usagers): the least personal data that lets the desk and the agent serve them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import created_at_column


class Citizen(Base):
    """A person booked at the desk; no account. Erased after the retention period.

    After erasure the row stays (appointments still count) but every personal field is
    emptied and `erased_at` is set.
    """

    __tablename__ = "citizens"
    __table_args__ = (
        Index(None, "last_name_key", "first_name_key"),
        Index(None, "email"),
        Index(None, "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(120))
    last_name: Mapped[str] = mapped_column(String(120))
    # Case- and accent-folded names, for finding an existing record as the desk types.
    first_name_key: Mapped[str] = mapped_column(String(120))
    last_name_key: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[date | None]
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(8), server_default="fr")
    created_at: Mapped[datetime] = created_at_column()
    erased_at: Mapped[datetime | None]
