"""On PostgreSQL the appointments' roll-ups take each daily counter's change as its
transaction commits (a deferred constraint trigger), no longer at the change itself.

Every booking of a partner's motive in a month adds to the same roll-up rows (per partner
and motive and month, per house and year…). A row lock taken at the counter's change was
held until the commit, over the rest of the booking (its checks, its outbox rows) and every
wait for the server between them: under load the bookings of one partner queued there. At
commit the same additions hold those rows for the commit only. Each change still reaches
the roll-ups, with its own OLD and NEW, in the transaction that makes it; a reader inside
that transaction sees the roll-ups as they were until it commits (nothing reads them
there). SQLite's writers take turns anyway: its triggers stay as they are.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER session_counts_roll_up ON session_counts")
    op.execute(
        "CREATE CONSTRAINT TRIGGER session_counts_roll_up AFTER INSERT OR UPDATE ON "
        "session_counts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "EXECUTE FUNCTION session_counts_roll_up()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER session_counts_roll_up ON session_counts")
    op.execute(
        "CREATE TRIGGER session_counts_roll_up AFTER INSERT OR UPDATE ON session_counts "
        "FOR EACH ROW EXECUTE FUNCTION session_counts_roll_up()"
    )
