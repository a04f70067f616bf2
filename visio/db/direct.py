"""The hot path's statements run on the driver's connection, past SQLAlchemy's execution layer.

For a small statement on a warm database, SQLAlchemy's execution costs several times what
the database does: per call, the compiled-cache lookup, the execution context, parameter
and result processing set up again, the events, and on asyncio a greenlet for the call.
Measured on a booking, some ten statements: 0.1 to 0.3 ms of CPU each through
`AsyncConnection.execute`, against 5 to 100 µs on the driver itself (SQLite, asyncpg).

A `Direct` wraps a statement built once (see `visio.db.statements`). It is compiled by
SQLAlchemy once per dialect, the same SQL text `connection.execute` would send, and keeps
SQLAlchemy's own bind and result processors for each column, so values go in and come out
exactly as they would through SQLAlchemy. It runs inside the transaction SQLAlchemy opened
on the connection, and falls back to `connection.execute` whenever the driver is not in a
state to take it here and now:

- SQLite: only inside our own write transaction, where statements run in place anyway
  (`visio.db.sqlite`); before the transaction's BEGIN has taken the write lock (another
  process holds it), SQLAlchemy runs the statement, with the BEGIN, on the driver's thread;
- PostgreSQL (asyncpg): only once the transaction has begun (SQLAlchemy's adapter starts it
  with the first statement it runs).

Errors come out as SQLAlchemy's (`IntegrityError`, `DBAPIError` …), translated by the
adapter as SQLAlchemy's own path would, so `visio.db.races` and `visio.db.outage` read them
alike; listeners of `before_cursor_execute` (statement counters in tests and benches) are
told of every statement. Statements with an expanding parameter (`IN` a list given at
execution) are refused when compiled: they keep SQLAlchemy's path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.expression import Executable

from visio.db.sqlite import Connection as SqliteConnection

Processor = Callable[[Any], Any] | None
Parameters = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as one dialect runs it: the SQL, and for each position its parameter's
    key, value when the statement holds it (a literal), and bind processor; and the result
    columns' processors."""

    sql: str
    binds: tuple[tuple[str, Any, bool, Processor], ...]
    results: tuple[Processor, ...]

    def arguments(self, parameters: Parameters) -> tuple[Any, ...]:
        values = []
        for key, held, required, process in self.binds:
            value = parameters[key] if required else parameters.get(key, held)
            values.append(value if process is None else process(value))
        return tuple(values)

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        processors = self.results
        if not any(processors):
            return [tuple(row) for row in raw]
        return [
            tuple(value if process is None else process(value) for process, value in zip(
                processors, row, strict=True))
            for row in raw
        ]  # fmt: skip


class Direct:
    """One statement built once, run on the driver (see the module's notes)."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    # ------------------------------------------------------------ running

    async def rows(
        self, connection: AsyncConnection, parameters: Parameters | None = None
    ) -> list[tuple[Any, ...]]:
        """Every row of the answer, as tuples (read them as `Shape._make(row)`)."""
        parameters = parameters or {}
        sync, adapted = _adapted(connection)
        compiled = self._compiled_for(connection.dialect)
        if isinstance(adapted, SqliteConnection):
            if adapted.writing():
                return compiled.rows(self._on_sqlite(sync, adapted, compiled, parameters))
        elif getattr(adapted, "_transaction", None) is not None:
            return compiled.rows(await self._on_asyncpg(sync, adapted, compiled, parameters))
        return [tuple(row) for row in await connection.execute(self.statement, dict(parameters))]

    async def scalar(
        self, connection: AsyncConnection, parameters: Parameters | None = None
    ) -> Any:
        """The first column of the first row, None without a row."""
        found = await self.rows(connection, parameters)
        return found[0][0] if found else None

    async def run(self, connection: AsyncConnection, parameters: Parameters | None = None) -> None:
        """A statement whose answer does not matter (an INSERT, an UPDATE)."""
        await self.rows(connection, parameters)

    async def run_many(self, connection: AsyncConnection, rows: Sequence[Parameters]) -> None:
        """The statement once per row of parameters, in one call to the driver."""
        if not rows:
            return
        sync, adapted = _adapted(connection)
        compiled = self._compiled_for(connection.dialect)
        arguments = [compiled.arguments(row) for row in rows]
        if isinstance(adapted, SqliteConnection):
            if adapted.writing():
                self._told(sync, compiled.sql, arguments, many=True)
                try:
                    adapted.driver.executemany(compiled.sql, arguments).close()
                except sqlite3.Error as error:
                    _raise_translated(adapted, compiled.sql, arguments, error)
                return
        elif getattr(adapted, "_transaction", None) is not None:
            self._told(sync, compiled.sql, arguments, many=True)
            try:
                await adapted.driver_connection.executemany(compiled.sql, arguments)
            except Exception as error:
                _raise_translated(adapted, compiled.sql, arguments, error)
            return
        await connection.execute(self.statement, [dict(row) for row in rows])

    def _on_sqlite(
        self,
        sync: Connection,
        adapted: SqliteConnection,
        compiled: _Compiled,
        parameters: Parameters,
    ) -> list[Any]:
        arguments = compiled.arguments(parameters)
        self._told(sync, compiled.sql, arguments, many=False)
        try:
            cursor = adapted.driver.execute(compiled.sql, arguments)
        except sqlite3.Error as error:
            _raise_translated(adapted, compiled.sql, arguments, error)
        try:
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    async def _on_asyncpg(
        self, sync: Connection, adapted: Any, compiled: _Compiled, parameters: Parameters
    ) -> list[Any]:
        arguments = compiled.arguments(parameters)
        self._told(sync, compiled.sql, arguments, many=False)
        try:
            found: list[Any] = await adapted.driver_connection.fetch(compiled.sql, *arguments)
        except Exception as error:
            _raise_translated(adapted, compiled.sql, arguments, error)
        return found

    @staticmethod
    def _told(sync: Connection, sql: str, arguments: Any, *, many: bool) -> None:
        listeners = sync.dispatch.before_cursor_execute
        if listeners:
            listeners(sync, None, sql, arguments, None, many)

    # ------------------------------------------------------------ compiling

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self.statement, dialect)
        return compiled


def _adapted(connection: AsyncConnection) -> tuple[Connection, Any]:
    """The connection's synchronous side, and the driver's connection as SQLAlchemy's
    adapter wraps it."""
    sync = connection.sync_connection
    if sync is None:
        raise exc.ResourceClosedError("This connection is closed")
    return sync, sync.connection.dbapi_connection


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = cast(ClauseElement, statement).compile(dialect=dialect)
    positions: list[str] | None = compiled.positiontup
    if positions is None:
        raise TypeError(f"{dialect.name} does not bind parameters by position")
    binds = []
    for name in positions:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute or bind.callable is not None:
            raise TypeError(f"parameter {bind.key!r} cannot be bound once for all")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((bind.key, bind.value, bind.required, process))
    columns: Any = getattr(statement, "selected_columns", None)
    if columns is None:
        columns = getattr(statement, "exported_columns", ())
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    return _Compiled(compiled.string, tuple(binds), results)


def _raise_translated(adapted: Any, sql: str, arguments: Any, error: Exception) -> NoReturn:
    """Raise `error` as SQLAlchemy's own path would: the adapter's translation first (asyncpg
    and sqlite3 errors become the DB-API's), then SQLAlchemy's wrapping (`IntegrityError` …)."""
    try:
        adapted._handle_exception(error)
    except Exception as translated:
        raise exc.DBAPIError.instance(
            sql, arguments, translated, adapted.dbapi.Error
        ) from translated
    raise error


_made: dict[int, Direct] = {}


def direct(statement: Executable) -> Direct:
    """The `Direct` of a statement built once: one per statement object, compiled on its
    first run on each dialect."""
    found = _made.get(id(statement))
    if found is None or found.statement is not statement:
        found = _made[id(statement)] = Direct(statement)
    return found
