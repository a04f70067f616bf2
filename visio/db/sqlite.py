"""SQLite through aiosqlite, tuned for a server.

aiosqlite runs each call on a thread of its own, and SQLAlchemy's adapter makes four such
trips per statement (make a cursor, execute, fetch, close). A trip costs far more than a
statement on a warm database: two thread switches and a wake-up of the event loop,
against some tens of microseconds of SQLite's own work. So:

- a transaction starts with BEGIN IMMEDIATE, which takes SQLite's write lock: tried in
  place without waiting; when another process holds the lock, it goes to aiosqlite's
  thread (with the transaction's first statement, in one trip) and waits there, up to
  the busy timeout, without holding up the event loop;
- inside a write transaction of our own, SQLite's write lock is ours and no statement
  can wait for anything: the statements and the COMMIT run in place, on the event loop's
  thread, without a trip. A long query blocks the loop for its duration, which the write
  lock would have made every other request of this process wait for anyway;
- a COMMIT never copies the WAL back into the database file (that ends with an fsync):
  every so many commits, the driver's thread does it (a PASSIVE checkpoint);
- writers of one process take turns on an asyncio lock, handed over the moment the
  previous transaction ends, instead of sleeping in SQLite's busy handler (in growing
  steps of up to 100 ms). Other processes on the same file still meet SQLite's own busy
  timeout.

The driver's thread and connection are reached the way SQLAlchemy's own adapter reaches
them; everything else is the stock aiosqlite dialect.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from functools import partial
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
# Commits between two WAL checkpoints; a booking adds some ten pages to the WAL, so about
# SQLite's own default of a checkpoint per thousand pages.
CHECKPOINT_EVERY = 100

log = logging.getLogger(__name__)


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


# What a statement leaves: its description, rows, row count and last row id.
Outcome = tuple[Any, list[Any], int, "int | None"]
# A statement to run on the driver's connection, after BEGIN or not.
Run = Callable[[sqlite3.Connection, bool], Outcome]


def _checkpoint(driver: sqlite3.Connection) -> None:
    driver.execute("PRAGMA wal_checkpoint(PASSIVE)").close()


async def _settled() -> None:
    """Already done. SQLAlchemy's asyncio layer insists that every statement it runs be
    awaited at least once: a statement run in place awaits this, which returns at once."""


def _run_one(operation: str, parameters: Any, driver: sqlite3.Connection, begin: bool) -> Outcome:
    """One statement, its rows fetched (after the transaction's BEGIN when it is due)."""
    if begin:
        driver.execute(BEGIN_WRITE)
    cursor = driver.execute(operation, () if parameters is None else parameters)
    try:
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _run_many(operation: str, rows: Any, driver: sqlite3.Connection, begin: bool) -> Outcome:
    if begin:
        driver.execute(BEGIN_WRITE)
    cursor = driver.executemany(operation, rows)
    try:
        return None, [], cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


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

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if not self._writer().writing():
            return super().execute(operation, parameters)
        return self._in_place(partial(_run_one, operation, parameters))

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        if not self._writer().writing():
            return super().executemany(operation, seq_of_parameters)
        return self._in_place(partial(_run_many, operation, seq_of_parameters))

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        if operation == BEGIN_WRITE:
            # Our turn first. Then SQLite's write lock, at once if no other process holds
            # it; else the BEGIN rides along with the transaction's first statement to the
            # driver's thread, where it may wait.
            connection = self._writer()
            await connection.take_turn()
            self._keep((None, [], -1, None))
            if not connection.begin_at_once():
                connection._begin_pending = True
            return None
        return await self._on_thread(partial(_run_one, operation, parameters))

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        return await self._on_thread(partial(_run_many, operation, seq_of_parameters))

    def _writer(self) -> Connection:
        connection: Connection = self._adapt_connection  # type: ignore[assignment]
        return connection

    def _in_place(self, run: Run) -> None:
        """Inside our own write transaction: here and now (see the module's notes)."""
        connection = self._writer()
        try:
            self._keep(run(connection.driver, False))
        except Exception as error:
            connection._handle_exception(error)
        await_(_settled())

    async def _on_thread(self, run: Run) -> None:
        connection = self._writer()
        driver = connection.driver
        begin, connection._begin_pending = connection._begin_pending, False
        try:
            async with connection._execute_mutex:
                outcome = await _on_driver_thread(
                    self._connection,  # type: ignore[arg-type]
                    lambda: run(driver, begin),
                )
        except BaseException:
            if begin and not driver.in_transaction:
                connection.end_turn()  # the BEGIN itself failed: no transaction to end
            raise
        self._keep(outcome)

    def _keep(self, outcome: Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

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

    @property
    def driver(self) -> sqlite3.Connection:
        """The sqlite3 connection aiosqlite made and runs on its thread."""
        driver: sqlite3.Connection = self._connection._conn
        return driver

    def begin_at_once(self) -> bool:
        """BEGIN IMMEDIATE here and now if SQLite's write lock is free (no waiting)."""
        driver = self.driver
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            driver.execute(BEGIN_WRITE)
        except sqlite3.OperationalError:
            return False  # another process is writing: wait for it on the driver's thread
        finally:
            driver.execute(f"PRAGMA busy_timeout = {self.dbapi.busy_timeout_ms}")
        return True

    def writing(self) -> bool:
        """Whether this connection is inside a write transaction of its own: it holds the
        process's turn and SQLite's write lock, so no statement of it can wait."""
        driver = self._connection._conn
        return self._turn is not None and driver is not None and driver.in_transaction

    def _idle(self) -> bool:
        # No transaction open on the driver: nothing to end, so no trip to its thread (the
        # pool rolls back every connection it takes back, most of them already committed).
        driver = self._connection._conn
        return driver is not None and not driver.in_transaction

    def commit(self) -> None:
        checkpoint = False
        try:
            if self.writing():
                # The write lock is ours and, with checkpoints taken out of commits, a
                # COMMIT only appends to the WAL: here and now, like the statements.
                self.driver.commit()
                checkpoint = self.dbapi.checkpoint_due()
            elif not self._idle():
                super().commit()
        finally:
            self.end_turn()
        if checkpoint:
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL back into the database file, on the driver's thread: the copy ends
        with an fsync that must not hold up the event loop. PASSIVE: it takes what no
        reader still needs and never waits for anyone."""
        driver = self.driver
        try:
            await_(_on_driver_thread(self._connection, partial(_checkpoint, driver)))  # type: ignore[arg-type]
        except Exception:
            log.warning("SQLite WAL checkpoint failed; the next one will try again", exc_info=True)

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
        self.busy_timeout_ms = round(busy_timeout * 1000)
        self._commits = 0

    def checkpoint_due(self) -> bool:
        """Every so many commits, the WAL is copied back (see `Connection._checkpoint`)."""
        self._commits += 1
        return self._commits % CHECKPOINT_EVERY == 0

    def connect(self, *arg: Any, **kw: Any) -> Connection:
        # Made on aiosqlite's thread, used on the event loop's inside write transactions.
        kw["check_same_thread"] = False
        connection = self.aiosqlite.connect(*arg, **kw)
        # Like the stock adapter: the driver's thread must not keep the process alive.
        connection._thread.daemon = True
        return Connection(self, await_(connection))
