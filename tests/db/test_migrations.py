"""Models and migrations agree, go down and up again; the server refuses an old schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import visio.db.models  # noqa: F401  (every table on the metadata)
from visio.app import SchemaNotAtHead, create_app
from visio.db.base import metadata
from visio.db.engine import make_engine
from visio.db.migrate import alembic_config, current_revision, head_revision, upgrade_engine
from visio.db.models import Appointment, OutboxMessage
from visio.services import notifications
from visio.settings import Settings


def _differences(connection: Connection) -> list[Any]:
    # SQLite reflects server defaults as raw text ('' vs "''"): comparing them there only
    # reports noise, so defaults are compared on PostgreSQL, types and structure on both.
    postgres = connection.dialect.name == "postgresql"
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": postgres}
    )
    return list(compare_metadata(context, metadata))


async def test_models_and_migrations_do_not_drift(connection: AsyncConnection) -> None:
    assert await connection.run_sync(_differences) == []


async def test_the_schema_is_at_head(connection: AsyncConnection) -> None:
    assert await current_revision(connection) == head_revision()


def _downgrade_to_base(connection: Connection, revision: str = "base") -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_downgrade_to_base_and_up_again(scratch_url: str) -> None:
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            await connection.run_sync(_downgrade_to_base)
            await connection.commit()
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            assert set(tables) <= {"alembic_version"}
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            assert await current_revision(connection) == head_revision()
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_the_app_refuses_to_start_on_a_schema_not_at_head(scratch_url: str) -> None:
    app = create_app(Settings(database_url=scratch_url, secret_key="k" * 40))
    from aiohttp import web

    runner = web.AppRunner(app)
    with pytest.raises(SchemaNotAtHead, match="run `visio db upgrade`"):
        await runner.setup()
    await runner.cleanup()


async def test_going_back_before_0004_words_the_messages_still_waiting(scratch_url: str) -> None:
    """The previous version sends only worded messages: those queued as facts get their
    words on the way down, none is lost."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    start = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    row = notifications.message_row(
        template="booked",
        appointment=Appointment(id=7, start_at=start, end_at=start + timedelta(minutes=30),
                                sequence=0, cancel_reason="", rescheduled_from_id=None),
        parties=notifications.parties_from(
            site=("France Services Murat", "2 place de l'Hôtel de Ville", "Europe/Paris", None),
            partner_name="CAF du Cantal", motive=("Prime d'activité", ["RIB"], ""),
            agent=("Isabelle Delmas", "isabelle.delmas@caf.example", "fr", "Europe/Paris"),
        ),
        to_email="isabelle.delmas@caf.example", to_name="Isabelle Delmas", locale="fr",
        zone="Europe/Paris", for_agent=True, citizen=None,
        links=notifications.Links("https://visio.example"), now=now,
        uid="appointment-7@visio.example",
    )  # fmt: skip
    row["appointment_id"] = None
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage.__table__), [row])
        async with engine.connect() as connection:
            await connection.run_sync(_downgrade_to_base, "0003")
            await connection.commit()
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("outbox_messages")}
            )
            assert "payload" not in columns
            subject, text_body, ics, method = (
                await connection.execute(
                    text("SELECT subject, body_text, ics, ics_method FROM outbox_messages")
                )
            ).one()
        assert "France Services Murat" in subject
        assert "lundi 16 mars 2026" in text_body
        assert "BEGIN:VCALENDAR" in ics and method == "REQUEST"
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
