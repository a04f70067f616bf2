"""Booked minutes in the appointment counters (station occupancy). The desk's tally: request themes (the six France Services themes), the email channel,
"accompanied" and "new person this year" on each request, its day on the house's calendar,
and daily counters filled from the requests already there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_CHANNELS = ("in_person", "phone", "visio")
CHANNELS = ("in_person", "phone", "email", "visio")

# The six themes of the France Services charter, in the order of its leaflets.
THEMES = (
    ("employment", "Emploi, formation, retraite", "Employment, training, retirement"),
    ("justice", "Justice, accès au droit", "Justice, access to rights"),
    ("health", "Santé", "Health"),
    ("budget", "Budget, impôts", "Budget, taxes"),
    ("family", "État civil, famille", "Civil status, family"),
    ("housing", "Logement, mobilité, courrier", "Housing, mobility, mail"),
)


def _channel_check(values: Sequence[str]) -> str:
    return "channel IN (" + ", ".join(f"'{value}'" for value in values) + ")"


def upgrade() -> None:
    themes = op.create_table(
        "request_themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_en", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_themes")),
        sa.UniqueConstraint("code", name=op.f("uq_request_themes_code")),
    )
    assert themes is not None
    op.bulk_insert(
        themes,
        [
            {"code": code, "name": name, "name_en": name_en, "position": position}
            for position, (code, name, name_en) in enumerate(THEMES, start=1)
        ],
    )
    op.create_table(
        "desk_request_counts",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("partner_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("theme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                *CHANNELS, name="desk_count_channel", native_enum=False,
                create_constraint=True, length=13,
            ),
            nullable=False,
        ),  # fmt: skip
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("accompanied", sa.Integer(), nullable=False),
        sa.Column("new_people", sa.Integer(), nullable=False),
        sa.Column("people_accompanied", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "requests >= 0 AND accompanied >= 0 AND new_people >= 0 AND people_accompanied >= 0",
            name=op.f("ck_desk_request_counts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_desk_request_counts_site_id_sites")
        ),
        sa.PrimaryKeyConstraint(
            "site_id", "day", "partner_id", "theme_id", "channel",
            name=op.f("pk_desk_request_counts"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("desk_request_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_desk_request_counts_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_desk_request_counts_partner_id_day"), ["partner_id", "day"], unique=False
        )
    with op.batch_alter_table("desk_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("theme_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("accompanied", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("new_person", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch_op.alter_column("kind", existing_type=sa.String(length=80), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_desk_requests_theme_id_request_themes"),
            "request_themes", ["theme_id"], ["id"],
        )  # fmt: skip
        batch_op.drop_constraint(op.f("ck_desk_requests_request_channel"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_desk_requests_request_channel"), _channel_check(CHANNELS)
        )
    _date_and_count_existing()
    with op.batch_alter_table("session_counts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("minutes", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            op.f("ck_session_counts_minutes_not_negative"), "minutes >= 0"
        )
    _count_minutes()
    with op.batch_alter_table("desk_requests", schema=None) as batch_op:
        batch_op.alter_column("day", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_desk_requests_site_id_day"), ["site_id", "day"], unique=False
        )


def _date_and_count_existing() -> None:
    """Each request's day on its house's calendar, and the counters of those there."""
    connection = op.get_bind()
    requests = sa.table(
        "desk_requests",
        sa.column("id", sa.Integer),
        sa.column("site_id", sa.Integer),
        sa.column("partner_id", sa.Integer),
        sa.column("channel", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("day", sa.Date),
    )
    sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    counts = sa.table(
        "desk_request_counts",
        *(sa.column(name, sa.Integer) for name in ("site_id", "partner_id", "theme_id")),
        sa.column("day", sa.Date),
        sa.column("channel", sa.String),
        sa.column("week", sa.String),
        *(sa.column(name, sa.Integer) for name in ("year", "month", "requests")),
        *(sa.column(name, sa.Integer) for name in ("accompanied", "new_people")),
        sa.column("people_accompanied", sa.Integer),
    )
    zones = {site_id: ZoneInfo(name) for site_id, name in connection.execute(sa.select(sites))}
    counted: Counter[tuple[int, object, int, str]] = Counter()
    days = []
    rows = connection.execute(
        sa.select(
            requests.c.id, requests.c.site_id, requests.c.partner_id, requests.c.channel,
            requests.c.at,
        )
    ).all()  # fmt: skip
    for request_id, site_id, partner_id, channel, at in rows:
        moment = at if at.tzinfo else at.replace(tzinfo=UTC)
        day = moment.astimezone(zones[site_id]).date()
        days.append({"key": request_id, "day": day})
        counted[(site_id, day, partner_id or 0, channel)] += 1
    by_id = sa.bindparam("key")
    for start in range(0, len(days), 1000):
        connection.execute(
            requests.update().where(requests.c.id == by_id).values(day=sa.bindparam("day")),
            days[start : start + 1000],
        )
    values = []
    for (site_id, day, partner_id, channel), count in counted.items():
        iso_year, iso_week, _weekday = day.isocalendar()  # type: ignore[attr-defined]
        values.append(
            {
                "site_id": site_id, "day": day, "partner_id": partner_id, "theme_id": 0,
                "channel": channel, "year": day.year, "month": day.month,  # type: ignore[attr-defined]
                "week": f"{iso_year}-W{iso_week:02d}", "requests": count, "accompanied": 0,
                "new_people": 0, "people_accompanied": 0,
            }
        )  # fmt: skip
    for start in range(0, len(values), 1000):
        connection.execute(sa.insert(counts), values[start : start + 1000])


def _count_minutes() -> None:
    """The booked minutes of the appointments already counted."""
    connection = op.get_bind()
    appointments = sa.table(
        "appointments",
        *(sa.column(name, sa.Integer) for name in ("site_id", "partner_id", "motive_id")),
        sa.column("agent_id", sa.Integer),
        sa.column("start_at", sa.DateTime(timezone=True)),
        sa.column("end_at", sa.DateTime(timezone=True)),
        sa.column("status", sa.String),
    )
    sites = sa.table("sites", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    counts = sa.table(
        "session_counts",
        *(sa.column(name, sa.Integer) for name in ("site_id", "partner_id", "motive_id")),
        sa.column("agent_id", sa.Integer),
        sa.column("day", sa.Date),
        sa.column("status", sa.String),
        sa.column("minutes", sa.Integer),
    )
    zones = {site_id: ZoneInfo(name) for site_id, name in connection.execute(sa.select(sites))}
    minutes: Counter[tuple[int, int, int, int, object, str]] = Counter()
    rows = connection.execute(sa.select(appointments)).all()
    for site_id, partner_id, motive_id, agent_id, start_at, end_at, status in rows:
        start = start_at if start_at.tzinfo else start_at.replace(tzinfo=UTC)
        day = start.astimezone(zones[site_id]).date()
        minutes[(site_id, partner_id, motive_id, agent_id, day, status)] += round(
            (end_at - start_at).total_seconds() / 60
        )
    names = ("k_site", "k_partner", "k_motive", "k_agent", "k_day", "k_status")
    where = sa.and_(
        *(
            column == sa.bindparam(name)
            for column, name in zip(
                (counts.c.site_id, counts.c.partner_id, counts.c.motive_id, counts.c.agent_id,
                 counts.c.day, counts.c.status),
                names,
            )
        )
    )  # fmt: skip
    values = [{**dict(zip(names, key)), "m": total} for key, total in minutes.items()]
    for start in range(0, len(values), 1000):
        connection.execute(
            counts.update().where(where).values(minutes=sa.bindparam("m")),
            values[start : start + 1000],
        )


def downgrade() -> None:
    connection = op.get_bind()
    # The previous version knows no email channel: those requests count as phone ones.
    connection.execute(sa.text("UPDATE desk_requests SET channel = 'phone' WHERE channel = 'email'"))
    connection.execute(sa.text("UPDATE desk_requests SET kind = '' WHERE kind IS NULL"))
    with op.batch_alter_table("desk_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_requests_site_id_day"))
        batch_op.drop_constraint(op.f("ck_desk_requests_request_channel"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_desk_requests_request_channel"), _channel_check(OLD_CHANNELS)
        )
        batch_op.drop_constraint(
            batch_op.f("fk_desk_requests_theme_id_request_themes"), type_="foreignkey"
        )
        batch_op.alter_column("kind", existing_type=sa.String(length=80), nullable=False)
        batch_op.drop_column("day")
        batch_op.drop_column("new_person")
        batch_op.drop_column("accompanied")
        batch_op.drop_column("theme_id")
    with op.batch_alter_table("session_counts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_session_counts_minutes_not_negative"), type_="check")
        batch_op.drop_column("minutes")
    with op.batch_alter_table("desk_request_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_request_counts_partner_id_day"))
        batch_op.drop_index(batch_op.f("ix_desk_request_counts_day"))
    op.drop_table("desk_request_counts")
    op.drop_table("request_themes")
