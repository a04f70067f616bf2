"""Daily counters of appointments per house, partner, motive, agent and status, for the
statistics; filled from the appointments already there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("booked", "held", "no_show", "agent_absent", "cancelled")


def upgrade() -> None:
    op.create_table(
        "session_counts",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("motive_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                *STATUSES, name="session_count_status", native_enum=False,
                create_constraint=True, length=16,
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_session_counts_not_negative")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_session_counts_agent_id_agents")
        ),
        sa.ForeignKeyConstraint(
            ["motive_id"], ["motives.id"], name=op.f("fk_session_counts_motive_id_motives")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_session_counts_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_session_counts_site_id_sites")
        ),
        sa.PrimaryKeyConstraint(
            "site_id", "day", "partner_id", "motive_id", "agent_id", "status",
            name=op.f("pk_session_counts"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("session_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_counts_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_session_counts_partner_id_day"), ["partner_id", "day"], unique=False
        )
    _count_existing()


def _count_existing() -> None:
    """The counters of the appointments already booked, each on its house's calendar day."""
    connection = op.get_bind()
    appointments = sa.table(
        "appointments",
        sa.column("site_id", sa.Integer),
        sa.column("partner_id", sa.Integer),
        sa.column("motive_id", sa.Integer),
        sa.column("agent_id", sa.Integer),
        sa.column("start_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String),
    )
    sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    counts = sa.table(
        "session_counts",
        *(sa.column(name, sa.Integer) for name in ("site_id", "partner_id", "motive_id")),
        sa.column("agent_id", sa.Integer),
        sa.column("day", sa.Date),
        sa.column("status", sa.String),
        sa.column("year", sa.Integer),
        sa.column("month", sa.Integer),
        sa.column("week", sa.String),
        sa.column("count", sa.Integer),
    )
    zones = {site_id: ZoneInfo(name) for site_id, name in connection.execute(sa.select(sites))}
    counted: Counter[tuple[int, int, int, int, object, str]] = Counter()
    rows = connection.execute(
        sa.select(
            appointments.c.site_id, appointments.c.partner_id, appointments.c.motive_id,
            appointments.c.agent_id, appointments.c.start_at, appointments.c.status,
        )
    )  # fmt: skip
    for site_id, partner_id, motive_id, agent_id, start_at, status in rows:
        moment = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
        day = moment.astimezone(zones[site_id]).date()
        counted[(site_id, partner_id, motive_id, agent_id, day, status)] += 1
    values = []
    for (site_id, partner_id, motive_id, agent_id, day, status), count in counted.items():
        iso_year, iso_week, _weekday = day.isocalendar()
        values.append(
            {
                "site_id": site_id, "partner_id": partner_id, "motive_id": motive_id,
                "agent_id": agent_id, "day": day, "status": status, "year": day.year,
                "month": day.month, "week": f"{iso_year}-W{iso_week:02d}", "count": count,
            }
        )  # fmt: skip
    for start in range(0, len(values), 1000):
        connection.execute(sa.insert(counts), values[start : start + 1000])


def downgrade() -> None:
    with op.batch_alter_table("session_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_counts_partner_id_day"))
        batch_op.drop_index(batch_op.f("ix_session_counts_day"))
    op.drop_table("session_counts")
