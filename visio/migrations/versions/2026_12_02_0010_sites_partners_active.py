"""Houses and partners can be deactivated: out of new bookings, kept with their history
(appointments and statistics), as stations, motives and agents already can.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite): the sites keep their triggers (0008).
    for table in ("sites", "partners"):
        op.add_column(
            table, sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    for table in ("partners", "sites"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN active")
