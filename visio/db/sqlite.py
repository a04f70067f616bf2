"""SQLite through aiosqlite, tuned for a server: one trip to the driver's thread per
statement, and writers that take turns in the event loop rather than in SQLite.

aiosqlite runs each call on a thread of its own. SQLAlchemy's adapter makes four such
calls per statement (make a cursor, execute, fetch, close); each trip costs far more
than a statement on a warm database, so this adapter makes one: execute and fetch
together. And SQLite lets one writer in at a time: a second transaction waiting in
SQLite's busy handler sleeps in growing steps (up to 100 ms) and wakes late, so writers
of one process wait instead on an asyncio lock, handed over the moment the previous
transaction ends. Other processes on the same file still meet SQLite's busy timeout.

The driver's thread is reached the way SQLAlchemy's own adapter reaches it (its queue
of calls); everything else is the stock aiosqlite dialect.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

# The statement every write transaction starts with (see engine.py).
BEGIN_WRITE = "BEGIN IMMEDIATE"


class WriterTurns:
    """One turn at writing at a time, per event loop, for the connections of one engine."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def take(self) -> asyncio.Lock:
        lock = self.lock()
        try:
            async with asyncio.timeout(self.timeout):
                await lock.acquire()
        except TimeoutError:
            # What SQLite itself says when its busy timeout runs out.
            raise sqlite3.OperationalError("database is locked") from None
        return lock


async def _on_driver_thread(connection: aiosqlite.Connection, call: Callable[[], Any]) -> Any:
    # aiosqlite's own entry point for running a call on its thread.
    return await connection._execute(call)  # type: ignore[no-untyped-call]


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that runs its statement and fetches its rows in a single trip."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Connection) -> None:
        # No driver cursor made in advance: each statement makes its own on the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        connection: Connection = self._adapt_connection  # type: ignore[assignment]
        if operation == BEGIN_WRITE:
            # Our turn first; the BEGIN itself rides along with the transaction's first
            # statement, in the same trip.
            await connection.take_turn()
            connection._begin_pending = True
            self._description, self._rowcount, self._lastrowid = None, -1, None
            self._rows = collections.deque()
            return None
        driver = self._connection._conn
        begin, connection._begin_pending = connection._begin_pending, False

        def run() -> tuple[Any, list[Any], int, int | None]:
            if begin:
                driver.execute(BEGIN_WRITE)
            cursor = driver.execute(operation, () if parameters is None else parameters)
            try:
                description = cursor.description
                rows = cursor.fetchall() if description else []
                return description, rows, cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        try:
            async with connection._execute_mutex:
                outcome = await _on_driver_thread(self._connection, run)  # type: ignore[arg-type]
        except BaseException:
            if begin and not driver.in_transaction:
                connection.end_turn()  # the BEGIN itself failed: no transaction to end
            raise
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        connection: Connection = self._adapt_connection  # type: ignore[assignment]
        driver = self._connection._conn
        begin, connection._begin_pending = connection._begin_pending, False

        def run() -> tuple[int, int | None]:
            if begin:
                driver.execute(BEGIN_WRITE)
            cursor = driver.executemany(operation, seq_of_parameters)
            try:
                return cursor.rowcount, cursor.lastrowid
            finally:
                cursor.close()

        async with self._adapt_connection._execute_mutex:
            outcome = await _on_driver_thread(self._connection, run)  # type: ignore[arg-type]
        self._description = None
        self._rowcount, self._lastrowid = outcome
        return None

    async def _async_soft_close(self) -> None:
        self._soft_closed_memoized = EMPTY_DICT.union({"description": self._description})

    def close(self) -> None:
        self._rows.clear()


class Connection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's adapted connection with the cursor above and writers' turns."""

    __slots__ = ("_begin_pending", "_turn")
    _cursor_cls = _Cursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._turn: asyncio.Lock | None = None
        # BEGIN asked for, to be sent with the next statement.
        self._begin_pending = False

    async def take_turn(self) -> None:
        self._turn = await self.dbapi.turns.take()

    def end_turn(self) -> None:
        self._begin_pending = False
        turn, self._turn = self._turn, None
        if turn is not None and turn.locked():
            turn.release()

    def _idle(self) -> bool:
        # No transaction open on the driver: nothing to end, so no trip to its thread (the
        # pool rolls back every connection it takes back, most of them already committed).
        driver = self._connection._conn
        return driver is not None and not driver.in_transaction

    def commit(self) -> None:
        try:
            if not self._idle():
                super().commit()
        finally:
            self.end_turn()

    def rollback(self) -> None:
        try:
            if not self._idle():
                super().rollback()
        finally:
            self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()

    def _terminate_force_close(self) -> None:
        try:
            super()._terminate_force_close()
        finally:
            self.end_turn()


class Driver(AsyncAdapt_aiosqlite_dbapi):
    """The DB-API module of one engine (`module=` of `create_async_engine`)."""

    def __init__(self, busy_timeout: float) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.turns = WriterTurns(busy_timeout)

    def connect(self, *arg: Any, **kw: Any) -> Connection:
        connection = self.aiosqlite.connect(*arg, **kw)
        # Like the stock adapter: the driver's thread must not keep the process alive.
        connection._thread.daemon = True
        return Connection(self, await_(connection))
