"""Models and migrations agree, go down and up again; the server refuses an old schema."""

from __future__ import annotations

import ast
import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from icalendar import Calendar
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import visio.db.models  # noqa: F401  (every table on the metadata)
from visio.app import SchemaNotAtHead, create_app
from visio.db.base import metadata
from visio.db.engine import make_engine
from visio.db.migrate import (
    alembic_config,
    current_revision,
    for_this_database,
    head_revision,
    render_item,
    upgrade_engine,
)
from visio.db.models import OutboxMessage
from visio.notify.facts import (
    AgentFacts,
    MotiveFacts,
    Parties,
    PartnerFacts,
    SiteFacts,
    Template,
)
from visio.services import notifications
from visio.services.records import CitizenView
from visio.settings import Settings


def _differences(connection: Connection) -> list[Any]:
    # SQLite reflects server defaults as raw text ('' vs "''"): comparing them there only
    # reports noise, so defaults are compared on PostgreSQL, types and structure on both.
    postgres = connection.dialect.name == "postgresql"
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True, "compare_server_default": postgres,
            "include_object": for_this_database(connection.dialect.name),
        },
    )  # fmt: skip
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


@pytest.mark.postgres
async def test_two_upgrades_started_together_take_turns(scratch_url: str) -> None:
    """Two processes starting at once (two containers, two units) both run `visio db
    upgrade`: the second waits for the first and finds the schema at head."""
    engines = [make_engine(scratch_url), make_engine(scratch_url)]
    try:
        await asyncio.gather(*(upgrade_engine(engine) for engine in engines))
        async with engines[0].connect() as connection:
            assert await current_revision(connection) == head_revision()
            held = await connection.scalar(
                text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            )
            assert held == 0
    finally:
        for engine in engines:
            await engine.dispose()


async def test_the_app_refuses_to_start_on_a_schema_not_at_head(scratch_url: str) -> None:
    app = create_app(Settings(database_url=scratch_url, secret_key="k" * 40))
    from aiohttp import web

    runner = web.AppRunner(app)
    with pytest.raises(SchemaNotAtHead, match="run `visio db upgrade`"):
        await runner.setup()
    await runner.cleanup()


# Where Alembic finds env.py and the revisions, as visio configures it.
MIGRATIONS = Path(ScriptDirectory.from_config(alembic_config()).dir)


def _visio_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of visio in the file at `path`, wherever it stands
    (a function's body too); relative imports count, as they can only reach visio."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = ["." * node.level + (node.module or "")]
        else:
            continue
        found += [
            (node.lineno, module)
            for module in modules
            if module.startswith(".") or module.split(".")[0] == "visio"
        ]
    return found


def test_no_migration_imports_visio() -> None:
    """A revision must do, years later, what it did the day it was written: it may use the
    standard library, SQLAlchemy, Alembic and third-party libraries, never the application,
    whose models, types and wording keep changing under it."""
    revisions = sorted((MIGRATIONS / "versions").glob("*.py"))
    assert revisions
    imports = {path.name: _visio_imports(path) for path in revisions}
    assert {name: found for name, found in imports.items() if found} == {}


def test_autogenerate_writes_revisions_without_visio() -> None:
    """A revision made tomorrow from today's models (here: the whole schema from nothing)
    names plain SQLAlchemy types, not ours, and the template adds no import of visio."""
    with create_engine("sqlite://").connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"target_metadata": metadata, "render_item": render_item}
        )
        operations = produce_migrations(context, metadata).upgrade_ops
        assert operations is not None
        code = render_python_code(operations, render_item=render_item)
    assert "sa.DateTime(timezone=True)" in code
    assert "visio." not in code
    assert "import visio" not in (MIGRATIONS / "script.py.mako").read_text()


def test_the_alembic_environment_reaches_only_the_database_layer() -> None:
    # env.py is exempt from the rule above: it is not a revision but today's wiring, a
    # single copy run whichever revision is applied, and it decides nothing a revision
    # does. It hands Alembic the metadata of today's models (what autogenerate and the
    # drift test compare with) and opens the engine as visio does (SQLite pragmas). That is
    # all it may take from visio: the database layer, not wording nor rules.
    imports = _visio_imports(MIGRATIONS / "env.py")
    assert imports
    assert [module for _, module in imports if not module.startswith("visio.db")] == []


def _waiting(
    template: Template, *, for_agent: bool, locale: str, previous_start: datetime | None = None
) -> dict[str, Any]:
    """An outbox row as visio queues it: the facts of one message about appointment 7 (a
    Monday 16 March 2026, 10:00 in Paris), for its agent or its citizen."""
    start = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    cancelled = template == "cancelled"
    site = SiteFacts(name="France Services Murat", address="2 place de l'Hôtel de Ville",
                     timezone="Europe/Paris", email=None)  # fmt: skip
    parties = Parties(
        site=site,
        partner=PartnerFacts(name="CAF du Cantal"),
        motive=MotiveFacts(name="Prime d'activité", documents=["RIB"], instructions=""),
        agent=AgentFacts(name="Isabelle Delmas", email="isabelle.delmas@caf.example",
                         locale="fr", timezone="Europe/Paris"),
    )  # fmt: skip
    citizen = CitizenView(7, "Jean", "Vidal", None, "jean.vidal@example.org", None, locale)
    moment = notifications.Moment(
        7, 1, start, start + timedelta(minutes=30), 1 if cancelled else 0,
        "Agent ill" if cancelled else "", None,
    )  # fmt: skip
    change = notifications.Change(
        template, moment,
        parties, citizen, notifications.Links("https://visio.example"),
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "appointment-7@visio.example",
        previous_start=previous_start,
    )  # fmt: skip
    row: dict[str, Any] = dict(notifications.message_row(change, for_agent=for_agent))
    row["appointment_id"] = None
    return row


async def test_going_back_before_0004_words_the_messages_still_waiting(scratch_url: str) -> None:
    """The previous version sends only worded messages: those queued as facts get their
    words on the way down, in their reader's language and zone, with their invitation;
    none is lost, and those queued already worded are left as they were."""
    moved_from = datetime(2026, 3, 13, 13, 30, tzinfo=UTC)
    rows = [
        _waiting("booked", for_agent=True, locale="fr"),
        _waiting("cancelled", for_agent=False, locale="en"),
        _waiting("reminder", for_agent=False, locale="fr"),
        _waiting("rescheduled", for_agent=False, locale="en", previous_start=moved_from),
    ]
    # Queued already worded (by a script): its payload is JSON null, not SQL NULL.
    script = _waiting("reminder", for_agent=True, locale="fr")
    script.update(payload=None, subject="Worded by a script", body_text="As written.")
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(OutboxMessage), rows)
            await connection.execute(insert(OutboxMessage), [script])
        async with engine.connect() as connection:
            await connection.run_sync(_downgrade_to_base, "0003")
            await connection.commit()
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in inspect(sync).get_columns("outbox_messages")}
            )
            assert "payload" not in columns
            worded = (
                await connection.execute(
                    text("SELECT subject, body_text, body_html, ics, ics_method"
                         " FROM outbox_messages ORDER BY id")
                )
            ).all()  # fmt: skip
        booked, cancelled, reminder, rescheduled, as_written = worded

        assert booked.subject.startswith(
            "Rendez-vous en visio à France Services Murat le 16/03/2026"
        )
        assert "Quand : lundi 16 mars 2026" in booked.body_text and "10:00" in booked.body_text
        assert "https://visio.example/appointments/7/join/agent" in booked.body_text
        assert '<a href="https://visio.example/appointments/7/join/agent">' in booked.body_html

        assert cancelled.subject.startswith("Cancelled: visio appointment on 3/16/26, 10:00")
        assert "Reason: Agent ill" in cancelled.body_text
        assert "When: Monday, March 16, 2026, 10:00" in cancelled.body_text
        assert "- RIB" in cancelled.body_text and "<li>RIB</li>" in cancelled.body_html

        assert reminder.subject.startswith("Rappel : votre rendez-vous en visio avec CAF")
        assert (reminder.ics, reminder.ics_method) == (None, None)
        assert "has moved" in rescheduled.body_text and "3/13/26, 2:30" in rescheduled.body_text

        for message in (booked, cancelled, reminder, rescheduled):
            assert "Prime d'activité" in message.body_text
            assert "<html" in message.body_html and "Murat" in message.body_html
        for message, method, sequence in (
            (booked, "REQUEST", 0), (cancelled, "CANCEL", 1), (rescheduled, "REQUEST", 0)
        ):  # fmt: skip
            assert message.ics_method == method
            calendar = Calendar.from_ical(message.ics)
            (event,) = calendar.walk("VEVENT")
            assert calendar["METHOD"] == method
            assert (str(event["UID"]), event.decoded("SEQUENCE")) == (
                "appointment-7@visio.example",
                sequence,
            )
            assert event.decoded("DTSTART") == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)

        assert tuple(as_written)[:2] == ("Worded by a script", "As written.")
        assert (as_written.ics, as_written.ics_method) == (None, None)
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
