"""A database that cannot be reached, told apart from every other error, and its outages
logged once: one line when the first request finds it gone, one when it answers again,
rather than a traceback per request in between."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

# SQLSTATE classes and codes of a server that is not there for us: 08 connection
# exception, 57 operator intervention (shutting down, starting up, a statement cancelled by
# its statement_timeout), 53300 too many connections.
_UNREACHABLE_STATES = ("08", "57", "53300")
# Where an OSError or a timeout must come from to be the database's (and not, say, a
# client that went away while its answer was written).
_DATABASE_MODULES = ("sqlalchemy.", "asyncpg", "aiosqlite", "visio.db.")


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        current = (
            orig
            if isinstance(orig, BaseException) and id(orig) not in seen
            else current.__cause__ or current.__context__
        )


def _raised_in_database_layer(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        module = str(traceback.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DATABASE_MODULES):
            return True
        traceback = traceback.tb_next
    return False


def unreachable(error: BaseException) -> bool:
    """Tell whether `error` means the database could not be reached or did not answer in
    time (stopped, restarting, frozen, out of connections, no pooled connection free),
    rather than a statement being wrong."""
    return _unreachable_cause(error) is not None


def _unreachable_cause(error: BaseException) -> BaseException | None:
    """The error in `error`'s chain that says the database is out of reach, if any."""
    if not _raised_in_database_layer(error):
        return None
    for cause in _causes(error):
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return cause
        if isinstance(cause, PoolTimeout | OSError | TimeoutError):
            return cause
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_STATES):
            return cause
        if type(cause).__name__ == "ConnectionDoesNotExistError":  # asyncpg, mid-statement
            return cause
    return None


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    if isinstance(error, TimeoutError) and not text:
        text = "no answer in time"
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


class Outage:
    """The database's state as requests find it. `failed()` when a request finds it
    unreachable; a connection handed out by the pool (it answered the pool's ping, or was
    just made) ends the outage. Each change is logged once, as a warning."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.refused = 0

    def failed(self, error: BaseException) -> None:
        if self.since is None:
            self.since, self.refused = time.monotonic(), 0
            log.warning(
                "database unreachable (%s): answering 503 until it is back",
                _first_line(_unreachable_cause(error) or error),
            )
        self.refused += 1

    def reached(self) -> None:
        if self.since is not None:
            log.warning(
                "database reachable again after %.1f s; %d requests were answered 503",
                time.monotonic() - self.since,
                self.refused,
            )
            self.since = None


def watch(engine: AsyncEngine) -> Outage:
    """An `Outage` for `engine`, ended by the first connection its pool hands out."""
    outage = Outage()

    @event.listens_for(engine.sync_engine, "checkout")
    def on_checkout(*_arguments: Any) -> None:
        if outage.since is not None:
            outage.reached()

    return outage
