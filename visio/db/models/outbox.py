"""The transactional outbox: emails written in the same transaction as the change they report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from visio.db.base import Base
from visio.db.models._columns import created_at_column, enum_column
from visio.domain import OutboxStatus
from visio.logs import current_request_id


class OutboxMessage(Base):
    """One email to send: the facts it reports (`payload`, worded when it is sent; see
    `visio.notify.compose`), or, for a message queued already worded, its subject, bodies
    and calendar invitation."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The sender's claim query: pending messages whose time has come.
        Index(None, "status", "next_attempt_at"),
        Index(None, "appointment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointments.id", ondelete="SET NULL")
    )
    recipient_email: Mapped[str] = mapped_column(String(254))
    recipient_name: Mapped[str] = mapped_column(String(160), server_default="")
    locale: Mapped[str] = mapped_column(String(8), server_default="fr")
    payload: Mapped[dict[str, object] | None] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, server_default="")
    body_text: Mapped[str] = mapped_column(Text, server_default="")
    body_html: Mapped[str] = mapped_column(Text, server_default="")
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[OutboxStatus] = mapped_column(
        enum_column(OutboxStatus, "outbox_status"),
        default=OutboxStatus.PENDING,
        server_default=OutboxStatus.PENDING.value,
    )
    attempts: Mapped[int] = mapped_column(server_default="0")
    # Not before this instant: reminders wait for their time, retries back off.
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, server_default="")
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None]
    # The request that queued it (None: queued by a command or the sender itself), taken
    # when the row is inserted, however it is inserted: the sender's lines about the
    # message carry it (`visio.notify.sender`).
    request_id: Mapped[str | None] = mapped_column(
        String(64), default=lambda: current_request_id.get()
    )
