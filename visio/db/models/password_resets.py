"""One-time links by which a person sets a new password."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import created_at_column


class PasswordReset(Base):
    """A password reset link an administrator made for an account; only the SHA-256 of its
    token is kept. Spent once used, or once a newer link for the same account is made."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Who made it (None once that account is deleted).
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    spent_at: Mapped[datetime | None]
