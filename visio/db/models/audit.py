"""The audit log: who changed what, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base


class AuditEntry(Base):
    """One change made, or one citizen's details read, by a person or a script.

    Never updated; deleted only by the audit log's own purge once older than its retention
    period (on PostgreSQL a trigger refuses anything else)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "entity", "entity_id"), Index(None, "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    # None for the system itself (the demo, the retention purge).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    # What changed; never citizen data, which would outlive its retention period here.
    details: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # The request that made it (its `X-Request-Id`), None outside a request.
    request_id: Mapped[str | None] = mapped_column(String(64))
