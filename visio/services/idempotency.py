"""Safe retries: a call made again with the same idempotency key gets its first answer.

A client that lost the answer to a booking (a timeout, a dropped connection, a server
stopping) cannot tell whether it was made; sending it again must neither book twice nor
be refused for its own booking. So a booking or a move may carry a key of the caller's
choosing (the API's `Idempotency-Key` header; the booking pages draw one into the form
they show). The first request with a key keeps its answer under that key, in the same
transaction as the booking itself: the answer is kept exactly when the booking is. The
same key for the same request (method, path and body alike) within `KEY_LIFETIME` gets
that answer again and changes nothing; for another request it is refused
(`IdempotencyKeyReused`). Keys are per user; past their lifetime they are forgotten:
a retry then counts as a new request, and the daily retention purge deletes them with the
answers they kept (which name citizens).

Two requests with the same key at once: the first claims the key (a row inserted before
the booking, its answer filled in before the commit). On PostgreSQL the second's claim
waits on the unique index for the first transaction to end, then reads the first
answer, or claims the key itself if the first was refused and rolled back. On SQLite
writers take turns: the second starts once the first has ended. Either way one booking.

Only successes are kept. A refusal (a slot taken, a field invalid) is rolled back with
the whole request, its claim included: sending it again asks again, and nothing of it
stays. A server error is rolled back too.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.statements import idempotency as statements
from visio.i18n import lazy_gettext as _l
from visio.services.errors import Conflict, IdempotencyKeyReused, InvalidInput
from visio.services.permissions import Actor

# How long a key's first answer is kept and given again.
KEY_LIFETIME = timedelta(hours=24)
# 1 to 255 visible ASCII characters: letters, digits and punctuation, no spaces.
_KEY = re.compile(r"[!-~]{1,255}")
# The API's header; the pages' forms name their field themselves.
HEADER = "Idempotency-Key"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as kept: its status, its JSON body, where it points (`Location`)."""

    status: int
    body: dict[str, object]
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A request's hold on its key: `first`, the answer to give again when the key was
    already answered for this same request; else the key is this request's to answer
    (`keep`)."""

    row_id: int | None
    first: Answer | None = None


def checked_key(text: str, *, field: str = HEADER) -> str:
    """The key as sent, when it is 1 to 255 visible ASCII characters; `InvalidInput`
    naming `field` otherwise."""
    if _KEY.fullmatch(text) is None:
        raise InvalidInput(
            fields={
                field: _l("A key is 1 to 255 visible ASCII characters (letters, digits, "
                          "punctuation; no spaces), a new one for each new request.")
            }
        )  # fmt: skip
    return text


def request_hash(method: str, path: str, body: object) -> str:
    """The SHA-256 of a request: its method, its path and its body as JSON with sorted
    keys (the same fields in another order are the same request)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


async def claim(
    session: AsyncSession,
    actor: Actor,
    key: str,
    fingerprint: str,
    *,
    now: datetime,
    field: str = HEADER,
) -> Claim:
    """Hold `key` for this request (`fingerprint`, its `request_hash`), or find the
    answer it was already given.

    A key the actor used within `KEY_LIFETIME` for the same request: its first answer
    (`Claim.first`), nothing written. For another request: `IdempotencyKeyReused`,
    naming `field`. Otherwise the key is claimed in the caller's transaction, to be
    answered (`keep`) before it commits; another transaction claiming the same key
    meanwhile waits for it (see the module's docstring).
    """
    connection = await session.connection()
    oldest = now - KEY_LIFETIME
    # A second round only after forgetting the key past its lifetime; a third only if a
    # concurrent retry claimed it again in between.
    for _round in range(3):
        row_id = await statements.claim_key(
            connection, user_id=actor.user_id, key=key, request_hash=fingerprint, now=now
        )
        if row_id is not None:
            return Claim(row_id)
        kept = await statements.kept_answer(connection, user_id=actor.user_id, key=key)
        if kept is None:
            continue  # forgotten between the two statements: claim it now
        if kept.created_at <= oldest:
            # Past its lifetime: this request is a new one.
            await statements.forget_key(connection, kept.id, before=oldest)
            continue
        if kept.request_hash != fingerprint:
            raise IdempotencyKeyReused(fields={field: IdempotencyKeyReused.default_message})
        if kept.status == statements.IN_PROGRESS:
            # Never committed so (see IN_PROGRESS): a bug, not a client's mistake.
            raise RuntimeError(f"idempotency key {kept.id} was committed without its answer")
        return Claim(None, Answer(kept.status, kept.body, kept.location))
    raise Conflict(_l("This request is being answered right now; send it again in a moment."))


async def keep(session: AsyncSession, claim: Claim, answer: Answer) -> None:
    """Keep `answer` under the claimed key, in the caller's transaction: a retry of the
    request gets it again once this transaction commits."""
    if claim.row_id is None:
        raise ValueError("only a claimed key takes an answer")
    await statements.write_answer(
        await session.connection(),
        claim.row_id,
        status=answer.status,
        body=answer.body,
        location=answer.location,
    )


async def forget_expired(session: AsyncSession, *, now: datetime, dry_run: bool = False) -> int:
    """Delete every key past its lifetime, with the answer kept under it; how many
    (`dry_run`: how many would go, nothing deleted)."""
    connection = await session.connection()
    if dry_run:
        return await statements.count_keys(connection, before=now - KEY_LIFETIME)
    return await statements.forget_keys(connection, before=now - KEY_LIFETIME)
