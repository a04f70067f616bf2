"""PostgreSQL: covering indexes of the roll-ups' partner-house-year grain, so a partner's
houses over a year (thousands of rows: the dashboard's largest houses, the tables by
house) are read from an index in key order rather than from heap pages all over the
table. Partial (that grain only): the other roll-up rows a booking updates stay HOT.
SQLite keeps the roll-ups in their key's b-tree already (WITHOUT ROWID).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "session_rollups": ["held", "no_show", "agent_absent", "cancelled", "booked", "minutes"],
    "desk_rollups": ["requests", "accompanied", "new_people", "people_accompanied"],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, measures in INDEXES.items():
        op.create_index(
            f"ix_{table}_partner_site_year", table, ["partner_id", "year", "site_id"],
            postgresql_include=measures,
            postgresql_where=sa.text("grain = 'partner_site_year'"),
        )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in INDEXES:
        op.drop_index(f"ix_{table}_partner_site_year", table_name=table)
