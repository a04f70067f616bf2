"""Signed-in browsers and the sign-in throttle: the statement behind every page a signed-in
person opens, the ends of sessions, and the count of failed sign-ins."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from visio.db.base import table
from visio.db.models import LoginThrottle, Site, User, WebSession, user_sites
from visio.db.statements import shaped
from visio.domain import Role


class SessionRow(NamedTuple):
    """An open session with its active user, once per house of the user."""

    session_id: int
    created_at: datetime
    last_seen_at: datetime
    user_id: int
    email: str
    name: str
    role: Role
    locale: str
    agent_id: int | None
    site_id: int | None
    site_name: str | None


@functools.cache
def session_user() -> Select[*SessionRow]:
    """The session not ended whose token has the hash `hash`, with its active user, one row
    per house of the user; rows read as `SessionRow._make(row)`. Whether it is still within
    its times is for the caller, who knows the clock."""
    return shaped(
        select(
            WebSession.id.label("session_id"),
            WebSession.created_at.label("created_at"),
            WebSession.last_seen_at.label("last_seen_at"),
            User.id.label("user_id"),
            User.email.label("email"),
            User.name.label("name"),
            User.role.label("role"),
            User.locale.label("locale"),
            User.agent_id.label("agent_id"),
            Site.id.label("site_id"),
            Site.name.label("site_name"),
        )
        .join(User, User.id == WebSession.user_id)
        .outerjoin(user_sites, user_sites.c.user_id == User.id)
        .outerjoin(Site, Site.id == user_sites.c.site_id)
        .where(
            WebSession.token_hash == bindparam("hash"),
            WebSession.ended_at.is_(None),
            User.active,
        ),
        SessionRow._fields,
    )


async def touch_session(connection: AsyncConnection, session_id: int, now: datetime) -> None:
    """Note that a session was used at `now`."""
    await connection.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now)
    )


async def end_user_sessions(
    connection: AsyncConnection, user_id: int, now: datetime, *, keep_hash: str | None = None
) -> int:
    """End every session of a user not ended yet, but the one whose token has `keep_hash`;
    how many were open (by the table: some may have run out of time already)."""
    statement = update(WebSession).where(
        WebSession.user_id == user_id, WebSession.ended_at.is_(None)
    )
    if keep_hash is not None:
        statement = statement.where(WebSession.token_hash != keep_hash)
    ended = await connection.execute(statement.values(ended_at=now))
    return int(ended.rowcount)


class ThrottleRow(NamedTuple):
    scope: str
    key: str
    failures: int
    blocked_until: datetime | None


@functools.cache
def throttles() -> Select[*ThrottleRow]:
    """The throttle rows of the (scope, key) pairs `account_key` and `address_key`."""
    rows = table(LoginThrottle).c
    return shaped(
        select(rows.scope, rows.key, rows.failures, rows.blocked_until).where(
            ((rows.scope == "account") & (rows.key == bindparam("account_key")))
            | ((rows.scope == "address") & (rows.key == bindparam("address_key")))
        ),
        ThrottleRow._fields,
    )


async def count_failure(
    connection: AsyncConnection, scope: str, key: str, now: datetime, *, forget_before: datetime
) -> int:
    """One more failed sign-in for a key, at `now`; the failures in a row it makes. A count
    whose last failure is older than `forget_before` starts again from this one."""
    found = await connection.execute(
        _count_failure(connection.dialect.name),
        {"scope": scope, "key": key, "now": now, "forget_before": forget_before},
    )
    return int(found.scalar_one())


@functools.cache
def _count_failure(dialect: str) -> Any:  # an INSERT … ON CONFLICT … RETURNING
    # Two failures of one key at once (two processes): the primary key settles it, and the
    # second adds to the first's row instead of failing.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = table(LoginThrottle)
    statement = insert(rows).values(
        scope=bindparam("scope"),
        key=bindparam("key"),
        failures=1,
        last_failure_at=bindparam("now"),
    )
    return statement.on_conflict_do_update(
        index_elements=[rows.c.scope, rows.c.key],
        set_={
            "failures": case(
                (rows.c.last_failure_at < bindparam("forget_before"), 1),
                else_=rows.c.failures + 1,
            ),
            "last_failure_at": statement.excluded.last_failure_at,
        },
    ).returning(rows.c.failures)


async def block(connection: AsyncConnection, scope: str, key: str, until: datetime) -> None:
    """No sign-in is checked for this key before `until`."""
    rows = table(LoginThrottle).c
    await connection.execute(
        update(table(LoginThrottle))
        .where(rows.scope == scope, rows.key == key)
        .values(blocked_until=until)
    )


async def clear_throttles(connection: AsyncConnection, pairs: list[tuple[str, str]]) -> None:
    """Forget the failures of these (scope, key) pairs."""
    rows = table(LoginThrottle).c
    await connection.execute(
        delete(table(LoginThrottle)).where(
            or_(*((rows.scope == scope) & (rows.key == key) for scope, key in pairs))
        )
    )


async def forget_old_failures(connection: AsyncConnection, before: datetime, now: datetime) -> None:
    """Drop the counts whose last failure is older than `before` and that block nothing."""
    rows = table(LoginThrottle).c
    await connection.execute(
        delete(table(LoginThrottle)).where(
            rows.last_failure_at < before,
            rows.blocked_until.is_(None) | (rows.blocked_until <= now),
        )
    )
