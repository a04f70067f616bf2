"""The async engine and session factory, with SQLite set up for a real multi-user server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from visio.db.sqlite import Driver

# How long a SQLite writer waits for another one before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    **kwargs: Any,
) -> AsyncEngine:
    """An engine for `url`; on SQLite: WAL, foreign keys on, and writers that queue.

    On PostgreSQL, `connect_timeout` and `statement_timeout` (seconds; the web server sets
    them, a migration does not) bound every wait on the server: a connection not made in
    time, a statement without its answer in time, or no connection free in the pool in
    time raises an error (`visio.db.outage.unreachable` tells it apart) instead of a
    request hanging on a database that stopped answering.

    SQLite transactions start with BEGIN IMMEDIATE: a transaction that reads a slot and
    then books it must hold the write lock from its first read, otherwise two of them can
    both read "free" and the second fails to upgrade its lock instead of waiting. Within
    one process they take turns on an asyncio lock first (see `visio.db.sqlite`); either
    wait gives up after `sqlite_busy_timeout_ms`.
    """
    if url.startswith("sqlite"):
        kwargs.setdefault("module", Driver(busy_timeout=sqlite_busy_timeout_ms / 1000))
        # One connection: SQLite lets one writer in at a time anyway, and a connection
        # keeps its page cache only while no other connection commits.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", sqlite_busy_timeout_ms / 1000)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if connect_timeout is not None:
        connect_args.setdefault("timeout", connect_timeout)
        kwargs.setdefault("pool_timeout", connect_timeout)
    if statement_timeout is not None:
        # asyncpg's own clock, for a server that does not answer at all (frozen, or the
        # network gone); the server's, slightly shorter, cancels the statement itself and
        # leaves the connection usable.
        connect_args.setdefault("command_timeout", statement_timeout)
        server_settings = dict(connect_args.get("server_settings", {}))
        server_settings.setdefault("statement_timeout", str(int(statement_timeout * 900)))
        connect_args["server_settings"] = server_settings
    engine = create_async_engine(url, connect_args=connect_args, **kwargs)
    _replace_closed_connections(engine)
    return engine


def _replace_closed_connections(engine: AsyncEngine) -> None:
    """A connection the server closed (a restart) is found out at checkout and replaced.

    asyncpg keeps reading every connection, idle ones in the pool too, so it has already
    seen the server close one; asking the server instead (SQLAlchemy's `pool_pre_ping`,
    three round trips on asyncpg: BEGIN, a ping, ROLLBACK) cost every request a quarter of
    its round trips. A connection lost while in use fails its request (503) and is thrown
    away, as with a ping.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def on_checkout(dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            # The pool throws it away and takes or makes another.
            raise exc.DisconnectionError("the server closed this connection")


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints are taken by visio.db.sqlite on the driver's thread, not by commits.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(bind: Any) -> async_sessionmaker[AsyncSession]:
    """Sessions that never expire loaded objects on commit (no implicit IO afterwards)."""
    return async_sessionmaker(bind, expire_on_commit=False, autoflush=False)
