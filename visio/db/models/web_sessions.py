"""Signed-in browsers (server-side sessions), the sign-in throttle, and the answers kept
for retried API calls (idempotency keys)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import created_at_column


class WebSession(Base):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is kept.

    Ended at sign-out, when the password changes (the person's other sessions), when an
    administrator ends it, or by time: idle for too long or too old (checked on use).
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # The browser as it named itself (shortened), so a person can tell their sessions apart.
    user_agent: Mapped[str] = mapped_column(String(200), server_default="")


class LoginThrottle(Base):
    """Failed sign-ins in a row, per account or per client address (`scope`); `key` is an
    HMAC-SHA-256 under the secret key of the folded email or of the address, so no list of
    tried emails is kept, nor can one be matched against the table without the key."""

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    last_failure_at: Mapped[datetime]
    # No sign-in is checked for this key before then.
    blocked_until: Mapped[datetime | None]


class IdempotencyKey(Base):
    """The first answer to an API call made with an `Idempotency-Key` header, kept 24 h so a
    retry of the same call gets it again instead of doing the work twice."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"), Index(None, "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # The SHA-256 of the method, the path and the body: the same key for another call is
    # refused rather than answered with the first call's answer.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    location: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
