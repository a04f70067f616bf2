"""Outbox messages keep the facts they report, worded when they are sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.alter_column("subject", existing_type=sa.Text(), server_default="")
        batch_op.alter_column("body_text", existing_type=sa.Text(), server_default="")


def downgrade() -> None:
    # Messages still waiting as facts cannot be sent by the previous version: they are
    # worded here so that none is lost on the way back.
    from visio.notify.compose import compose

    connection = op.get_bind()
    outbox = sa.table(
        "outbox_messages",
        sa.column("id", sa.Integer),
        sa.column("payload", sa.JSON),
        sa.column("recipient_name", sa.String),
        sa.column("recipient_email", sa.String),
        sa.column("subject", sa.Text),
        sa.column("body_text", sa.Text),
        sa.column("body_html", sa.Text),
        sa.column("ics", sa.Text),
        sa.column("ics_method", sa.String),
    )
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.payload, outbox.c.recipient_name, outbox.c.recipient_email)
        .where(outbox.c.payload.is_not(None))
    ).all()  # fmt: skip
    for row_id, payload, name, email in rows:
        message = compose(payload, to_name=name, to_email=email)
        connection.execute(
            sa.update(outbox).where(outbox.c.id == row_id).values(
                subject=message.subject, body_text=message.text, body_html=message.html,
                ics=message.ics, ics_method=message.ics_method,
            )
        )  # fmt: skip
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.alter_column("body_text", existing_type=sa.Text(), server_default=None)
        batch_op.alter_column("subject", existing_type=sa.Text(), server_default=None)
        batch_op.drop_column("payload")
