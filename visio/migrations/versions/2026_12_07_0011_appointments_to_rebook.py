"""Appointments to rebook: a set-up change (an absence, a closure, a permanence changed,
an agent gone, a station out of service), once confirmed, marks the booked appointments it
leaves without their agent or station, with when and why, until their desk moves them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As the enum stood when this revision was written (revisions import nothing of visio).
REASONS = (
    "agent_absent",
    "agent_left",
    "permanence_changed",
    "house_closed",
    "station_closed",
    "station_out_of_service",
)


def upgrade() -> None:
    # Plain ALTER TABLE (no batch copy on SQLite): nullable columns, nothing to fill.
    op.add_column(
        "appointments", sa.Column("to_rebook_since", sa.DateTime(timezone=True), nullable=True)
    )
    # The enum's CHECK written with the column: both databases take a column constraint in
    # ADD COLUMN, where Alembic would skip it on SQLite.
    allowed = ", ".join(f"'{reason}'" for reason in REASONS)
    op.execute(
        f"ALTER TABLE appointments ADD COLUMN to_rebook_reason VARCHAR({max(map(len, REASONS)) + 4}) "
        f"CONSTRAINT ck_appointments_rebook_reason CHECK (to_rebook_reason IN ({allowed}))"
    )


def downgrade() -> None:
    # Plain DROP COLUMN: each CHECK goes with its own column on both databases.
    for column in ("to_rebook_reason", "to_rebook_since"):
        op.execute(f"ALTER TABLE appointments DROP COLUMN {column}")
