"""Models and migrations agree, go down and up again; the server refuses an old schema."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

import visio.db.models  # noqa: F401  (every table on the metadata)
from visio.app import SchemaNotAtHead, create_app
from visio.db.base import metadata
from visio.db.engine import make_engine
from visio.db.migrate import alembic_config, current_revision, head_revision, upgrade_engine
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


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


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
