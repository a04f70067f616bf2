"""Booking guards: when the agent joined, and PostgreSQL exclusion constraints.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The second wall behind the booking service's row locks: on PostgreSQL no two appointments
# that are not cancelled may hold the same agent, or the same station, over overlapping busy
# time (buffers included), whatever the code above does. SQLite has no such constraint; its
# writers are serialised (BEGIN IMMEDIATE) instead.
EXCLUSIONS = {
    "ex_appointments_agent_busy": "agent_id",
    "ex_appointments_station_busy": "station_id",
}


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_joined_at", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for name, column in EXCLUSIONS.items():
            op.execute(
                f"ALTER TABLE appointments ADD CONSTRAINT {name} EXCLUDE USING gist "
                f"({column} WITH =, tstzrange(busy_from, busy_until) WITH &&) "
                "WHERE (status <> 'cancelled')"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in EXCLUSIONS:
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT IF EXISTS {name}")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("agent_joined_at")
