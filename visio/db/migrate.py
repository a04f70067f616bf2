"""Running the Alembic migrations shipped in the package, and checking the schema is at head."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from visio.db.base import UTCDateTime


def render_item(kind: str, item: object, autogen_context: AutogenContext) -> str | Literal[False]:
    """How autogenerate writes our column types: as the plain SQLAlchemy types they store,
    so a new revision never imports visio (a revision must keep doing what it did the day
    it was written). False: Alembic's own rendering."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def for_this_database(dialect: str) -> Callable[..., bool]:
    """Autogenerate's `include_object`: leaves out what the models keep for another
    database only (an index with `info={"only_on": "postgresql"}`), so a comparison on
    SQLite does not ask for it."""

    def include(
        item: object, name: str | None, kind: str, reflected: bool, compared: object
    ) -> bool:
        only_on = getattr(item, "info", {}).get("only_on")
        return only_on is None or only_on == dialect

    return include


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at `visio/migrations`, with no ini file needed."""
    config = Config()
    config.set_main_option("script_location", "visio:migrations")
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships no migration"
    return head


def _upgrade_sync(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(connection: AsyncConnection, revision: str = "head") -> None:
    """Bring the schema behind `connection` up to `revision` (the caller commits)."""
    await connection.run_sync(_upgrade_sync, revision)


# The PostgreSQL advisory lock that `visio db upgrade` holds while it migrates: processes
# started together (two containers, two units) take turns, and the second finds the schema
# already at head.
UPGRADE_LOCK = 0x76697369_6F000001


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database of `engine` and commit, one process at a time on PostgreSQL."""
    async with engine.connect() as connection:
        locked = connection.dialect.name == "postgresql"
        if locked:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK})
        try:
            await upgrade(connection, revision)
            await connection.commit()
        finally:
            if locked:
                await connection.rollback()
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK}
                )
                await connection.commit()


def _current_sync(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(connection: AsyncConnection) -> str | None:
    """The revision the database is at; None for an empty database."""
    return await connection.run_sync(_current_sync)
