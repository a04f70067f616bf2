"""A stamp of the houses' calendars: one row whose random stamp every change to sites,
opening hours, stations or closures replaces (by triggers), so that what a process works
out of the calendars (the network's opening days) is kept while the stamp stays.

A random stamp rather than a counter: a transaction rolled back takes a counter back to a
value that another change may reach again with other calendars; two random stamps are
never equal by chance.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCES = ("sites", "opening_hours", "stations", "closures")
NEW_STAMP = {
    "postgresql": "gen_random_uuid()::text",
    "sqlite": "lower(hex(randomblob(16)))",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "calendar_stamps",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.String(length=36), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_calendar_stamps_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_stamps")),
    )
    renew = (
        f"INSERT INTO calendar_stamps (id, stamp) VALUES (1, {NEW_STAMP[dialect]}) "
        "ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp"
    )
    op.execute(renew)
    if dialect == "postgresql":
        # Once per statement: an import of a thousand closures renews it once (TRUNCATE,
        # which fires no row trigger, too).
        op.execute(
            "CREATE FUNCTION calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  {renew};\n  RETURN NULL;\nEND $$"
        )
        for source in SOURCES:
            op.execute(
                f"CREATE TRIGGER {source}_calendar_changed "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {source} "
                "FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed()"
            )
    else:  # SQLite has row triggers only
        for source in SOURCES:
            for when in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {source}_calendar_changed_{when.lower()} AFTER {when} "
                    f"ON {source} FOR EACH ROW BEGIN\n  {renew};\nEND"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for source in SOURCES:
            op.execute(f"DROP TRIGGER {source}_calendar_changed ON {source}")
        op.execute("DROP FUNCTION calendar_changed()")
    else:
        for source in SOURCES:
            for when in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {source}_calendar_changed_{when}")
    op.drop_table("calendar_stamps")
