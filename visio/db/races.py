"""Which database errors mean that another transaction won a race for the same rows.

The database settles races (exclusion constraints, unique indexes, row locks); the booking
turns its "no" into a slot taken meanwhile. PostgreSQL says it three ways: a constraint
refusing the row (an `IntegrityError`), or, when two transactions waited on each other, a
deadlock it broke or a serialization failure (SQLSTATE class 40), which asyncpg hands over
as a plain `DBAPIError`, not an `OperationalError`. SQLite's busy database is an
`OperationalError`.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

# SQLSTATE class 40, "transaction rollback": 40001 serialization failure, 40P01 deadlock.
_TRANSACTION_ROLLBACK = "40"


def lost_race(error: DBAPIError) -> bool:
    """Tell whether `error` is the database refusing a write another transaction made
    impossible (the caller's transaction is then aborted; nothing of it stays)."""
    if isinstance(error, IntegrityError | OperationalError):
        return True
    state = getattr(error.orig, "sqlstate", None)
    return isinstance(state, str) and state.startswith(_TRANSACTION_ROLLBACK)
