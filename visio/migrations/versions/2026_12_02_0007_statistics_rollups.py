"""Roll-ups of the statistics' daily counters for the network-wide views: per house and
month or year, per partner and motive (theme and channel for the desk) and month, per
partner and house and year; kept by triggers on the daily counters, so a booking still
writes one counter and the database adds it up.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each roll-up ("grain"): the dimensions it keeps, and whether it keeps the month (else the
# year only). The dimensions it drops hold 0 ('' for the channel).
SESSION_GRAINS = {
    "site_month": (("site_id",), True),
    "site_year": (("site_id",), False),
    "partner_motive_month": (("partner_id", "motive_id"), True),
    "partner_site_year": (("partner_id", "site_id"), False),
}
DESK_GRAINS = {
    "site_month": (("site_id",), True),
    "site_year": (("site_id",), False),
    "partner_theme_channel_month": (("partner_id", "theme_id", "channel"), True),
    "partner_site_year": (("partner_id", "site_id"), False),
}
STATUSES = ("held", "no_show", "agent_absent", "cancelled", "booked")
DESK_MEASURES = ("requests", "accompanied", "new_people", "people_accompanied")
SESSION_DIMENSIONS = ("partner_id", "site_id", "motive_id")
DESK_DIMENSIONS = ("partner_id", "site_id", "theme_id", "channel")


def upgrade() -> None:
    op.create_table(
        "session_rollups",
        sa.Column("grain", sa.String(length=24), nullable=False),
        sa.Column("partner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("motive_id", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in STATUSES),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "partner_id", "year", "month", "site_id", "motive_id",
            name=op.f("pk_session_rollups"),
        ),
        sqlite_with_rowid=False,  # read in key order: the rows are the key's leaves
    )  # fmt: skip
    op.create_table(
        "desk_rollups",
        sa.Column("grain", sa.String(length=32), nullable=False),
        sa.Column("partner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("theme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=13), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in DESK_MEASURES),
        sa.PrimaryKeyConstraint(
            "grain", "partner_id", "year", "month", "site_id", "theme_id", "channel",
            name=op.f("pk_desk_rollups"),
        ),
        sqlite_with_rowid=False,
    )  # fmt: skip
    for statement in _fill("session", SESSION_GRAINS) + _fill("desk", DESK_GRAINS):
        op.execute(statement)
    for statement in _triggers(op.get_bind().dialect.name):
        op.execute(statement)


def _session_values(grain: str, row: str, delta: str) -> tuple[list[str], list[str]]:
    """The roll-up's columns and, for one daily counter (`row`: NEW, or a table name in an
    INSERT … SELECT), the values it adds (`delta` gives a measure's change)."""
    kept, monthly = SESSION_GRAINS[grain]
    columns = ["grain", *SESSION_DIMENSIONS, "year", "month", *STATUSES, "minutes"]
    values = [f"'{grain}'"]
    values += [f"{row}.{name}" if name in kept else "0" for name in SESSION_DIMENSIONS]
    values += [f"{row}.year", f"{row}.month" if monthly else "0"]
    values += [
        f"CASE WHEN {row}.status = '{status}' THEN {delta.format(m='count')} ELSE 0 END"
        for status in STATUSES
    ]
    values.append(f"CASE WHEN {row}.status <> 'cancelled' THEN {delta.format(m='minutes')} ELSE 0 END")
    return columns, values


def _desk_values(grain: str, row: str, delta: str) -> tuple[list[str], list[str]]:
    kept, monthly = DESK_GRAINS[grain]
    columns = ["grain", *DESK_DIMENSIONS, "year", "month", *DESK_MEASURES]
    values = [f"'{grain}'"]
    values += [
        f"{row}.{name}" if name in kept else ("''" if name == "channel" else "0")
        for name in DESK_DIMENSIONS
    ]
    values += [f"{row}.year", f"{row}.month" if monthly else "0"]
    values += [delta.format(m=name) for name in DESK_MEASURES]
    return columns, values


def _fill(kind: str, grains: dict[str, tuple[tuple[str, ...], bool]]) -> list[str]:
    """INSERT … SELECT: each roll-up of the counters already there."""
    statements = []
    for grain in grains:
        if kind == "session":
            columns, values = _session_values(grain, "c", "SUM({m})")
            # SUM inside CASE is not an aggregate of the group: move the sum outside.
            values = values[:6] + [
                f"SUM(CASE WHEN c.status = '{status}' THEN c.count ELSE 0 END)"
                for status in STATUSES
            ] + ["SUM(CASE WHEN c.status <> 'cancelled' THEN c.minutes ELSE 0 END)"]
            source = "session_counts"
        else:
            columns, values = _desk_values(grain, "c", "SUM(c.{m})")
            source = "desk_request_counts"
        groups = [value for value in values if value.startswith("c.")]
        target = "session_rollups" if kind == "session" else "desk_rollups"
        statements.append(
            f"INSERT INTO {target} ({', '.join(columns)}) SELECT {', '.join(values)} "
            f"FROM {source} AS c GROUP BY {', '.join(groups)}"
        )
    return statements


def _upserts(kind: str, when: str) -> list[str]:
    """The statement a trigger runs for one changed daily counter: NEW's change (`when`
    INSERT: its measures; UPDATE: NEW's less OLD's) added to every roll-up, one row each,
    in one INSERT … ON CONFLICT (one statement, not one per roll-up: it is on the booking's
    path)."""
    delta = "NEW.{m}" if when == "INSERT" else "(NEW.{m} - OLD.{m})"
    grains = SESSION_GRAINS if kind == "session" else DESK_GRAINS
    target = "session_rollups" if kind == "session" else "desk_rollups"
    if kind == "session":
        measures = [*STATUSES, "minutes"]
        keys = ["grain", "partner_id", "year", "month", "site_id", "motive_id"]
    else:
        measures = list(DESK_MEASURES)
        keys = ["grain", "partner_id", "year", "month", "site_id", "theme_id", "channel"]
    rows = []
    for grain in grains:
        make = _session_values if kind == "session" else _desk_values
        columns, values = make(grain, "NEW", delta)
        rows.append(f"({', '.join(values)})")
    sums = ", ".join(f"{name} = {target}.{name} + excluded.{name}" for name in measures)
    return [
        f"INSERT INTO {target} ({', '.join(columns)}) VALUES {', '.join(rows)} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sums};"
    ]


def _triggers(dialect: str) -> list[str]:
    statements = []
    for kind, source in (("session", "session_counts"), ("desk", "desk_request_counts")):
        if dialect == "postgresql":
            inserted = "\n    ".join(_upserts(kind, "INSERT"))
            updated = "\n    ".join(_upserts(kind, "UPDATE"))
            statements.append(
                f"CREATE FUNCTION {source}_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"BEGIN\n  IF TG_OP = 'INSERT' THEN\n    {inserted}\n  ELSE\n    {updated}\n"
                f"  END IF;\n  RETURN NULL;\nEND $$"
            )
            statements.append(
                f"CREATE TRIGGER {source}_roll_up AFTER INSERT OR UPDATE ON {source} "
                f"FOR EACH ROW EXECUTE FUNCTION {source}_roll_up()"
            )
        else:
            for when in ("INSERT", "UPDATE"):
                body = "\n  ".join(_upserts(kind, when))
                statements.append(
                    f"CREATE TRIGGER {source}_roll_up_{when.lower()} AFTER {when} ON {source} "
                    f"FOR EACH ROW BEGIN\n  {body}\nEND"
                )
    return statements


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for source in ("session_counts", "desk_request_counts"):
            op.execute(f"DROP TRIGGER {source}_roll_up ON {source}")
            op.execute(f"DROP FUNCTION {source}_roll_up()")
    else:
        for source in ("session_counts", "desk_request_counts"):
            for when in ("insert", "update"):
                op.execute(f"DROP TRIGGER {source}_roll_up_{when}")
    op.drop_table("desk_rollups")
    op.drop_table("session_rollups")
