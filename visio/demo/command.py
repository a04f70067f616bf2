"""What `visio demo` needs: a database migrated and populated once, and fresh logins."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from datetime import date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import func, inspect, select, update
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import alembic_config, upgrade_engine
from visio.db.models import Role, Site, User
from visio.demo.days import today_in_paris
from visio.demo.figures import SEED
from visio.demo.people import DEMO_USERS
from visio.demo.population import populate
from visio.services import accounts, sessions
from visio.settings import Settings


@dataclasses.dataclass(frozen=True)
class DemoAccount:
    """A demo login for this run: the role's value, the email and a fresh password; the
    admin's also carries an API token."""

    role: str
    email: str
    password: str
    token: str | None = None


async def prepare_demo(settings: Settings, *, reset: bool, now: datetime) -> list[DemoAccount]:
    """Make the demo database ready: erased first with `reset`, migrated, populated once,
    and populated again on a later day (the demo shows today's sessions at every house:
    a demo filled yesterday would open on an empty day).

    Returns the demo accounts with passwords (and, for the admin, an API token) drawn for
    this run; the previous ones stop working.
    """
    if reset or await _filled_before(settings.database_url, today_in_paris(now)):
        await _erase(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        await upgrade_engine(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            if not await session.scalar(select(func.count(Site.id))):
                # A fixed seed: demo data, not secrets.
                await populate(session, now=now, rng=random.Random(SEED))  # noqa: S311
            return await _fresh_credentials(session, now)
    finally:
        await engine.dispose()


async def _filled_before(url: str, today: date) -> bool:
    """Whether the demo database was filled on a day before `today` (its houses' creation)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table("sites")):
                return False
            filled_at = await connection.scalar(select(func.min(Site.created_at)))
    finally:
        await engine.dispose()
    return filled_at is not None and today_in_paris(filled_at) < today


async def _erase(url: str) -> None:
    """Delete a SQLite database's files; on another database, downgrade to an empty schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                await asyncio.to_thread(Path(database + suffix).unlink, missing_ok=True)
        return
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_downgrade_to_base)
            await connection.commit()
    finally:
        await engine.dispose()


def _downgrade_to_base(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "base")


async def _fresh_credentials(session: AsyncSession, now: datetime) -> list[DemoAccount]:
    """New passwords for every demo account, and a new API token for the admin; the
    sessions opened with the passwords before end."""
    result = []
    for demo_user in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        await session.execute(
            update(User)
            .where(User.email == demo_user.email)
            .values(password_hash=accounts.hash_password(password))
        )
        user_id = await session.scalar(select(User.id).where(User.email == demo_user.email))
        assert user_id is not None
        await sessions.end_user_sessions(session, user_id, now=now)
        token = None
        if demo_user.role is Role.ADMIN:
            created = await accounts.create_token(
                session, None, user_id=user_id, label="demo", now=now
            )
            token = created.token
        result.append(DemoAccount(demo_user.role.value, demo_user.email, password, token))
    return result
