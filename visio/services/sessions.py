"""Signing in to the pages: server-side sessions, and the throttle on failed sign-ins.

A session is a row of `web_sessions`; the browser's cookie holds a random token (256 bits)
and only its SHA-256 is kept, so a copy of the database opens no session. A session ends
at sign-out, when its person's password changes (their other sessions), when the account
is disabled, when an administrator ends them, or by time: unused for `SESSION_IDLE`, or
older than `SESSION_LIFETIME`, whatever its use.

Failed sign-ins are counted per account (the SHA-256 of the email as typed, folded, so a
count is kept for emails that have no account too, and the answers never tell the two
apart) and per client address. Past a few failures in a row, each further failure blocks
that key for a delay that doubles each time, up to `LONGEST_BLOCK`; a blocked key's
attempts are refused without looking at the password, and the failure that starts a block
is audited. A successful sign-in clears the account's and the address's counts.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import User, WebSession
from visio.db.statements import sessions as statements
from visio.services import accounts, audit
from visio.services.errors import NotFound
from visio.services.permissions import Action, Actor, require
from visio.services.records import SessionView

log = logging.getLogger(__name__)

# A session unused this long ends (a desk left signed in at the end of the day).
SESSION_IDLE = timedelta(hours=2)
# And none lasts longer than a working day, however used.
SESSION_LIFETIME = timedelta(hours=12)
# Writing `last_seen_at` on every page would turn reads into writes; once a minute is enough
# for an idle timeout counted in hours.
TOUCH_INTERVAL = timedelta(minutes=1)
# Failures in a row before each further one blocks: an account's owner mistypes a few
# times; a client address is shared by a whole house's office, so it is allowed more.
FAILURES_ALLOWED = {"account": 5, "address": 10}
LONGEST_BLOCK = timedelta(minutes=15)
# Failures older than this no longer count towards a block.
FORGET_FAILURES_AFTER = timedelta(days=1)
USER_AGENT_LENGTH = 200


def token_hash(token: str) -> str:
    """The SHA-256 of a session token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def _key(secret: str, text: str) -> str:
    """A throttle key: an HMAC under the secret key, so a copy of the table alone cannot be
    matched against a list of emails or addresses to learn who was tried."""
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- sessions


async def open_session(
    session: AsyncSession, user_id: int, *, user_agent: str, now: datetime
) -> str:
    """A new session for a user; its token, to give the browser (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=token_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:USER_AGENT_LENGTH],
        )
    )
    await session.flush()
    return token


def _open_at(created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at < SESSION_IDLE and now - created_at < SESSION_LIFETIME


async def session_actor(session: AsyncSession, token: str, now: datetime) -> Actor | None:
    """The person a session token signs in, or None: unknown, ended, out of time, or its
    account disabled. Every page a signed-in person opens comes through here: one plain
    statement built once, and a write at most once a minute (`TOUCH_INTERVAL`)."""
    connection = await session.connection()
    found = await connection.execute(statements.session_user(), {"hash": token_hash(token)})
    rows = [statements.SessionRow._make(row) for row in found]
    if not rows:
        return None
    first = rows[0]
    if not _open_at(first.created_at, first.last_seen_at, now):
        return None
    if now - first.last_seen_at >= TOUCH_INTERVAL:
        await statements.touch_session(connection, first.session_id, now)
    return accounts.actor_of_rows(
        rows, houses=(row.site_name for row in rows if row.site_name is not None)
    )


async def end_session(session: AsyncSession, token: str, *, now: datetime) -> None:
    """End the session of this token (signing out); an unknown or ended one: nothing."""
    await session.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )


async def end_user_sessions(
    session: AsyncSession, user_id: int, *, now: datetime, keep_token: str | None = None
) -> int:
    """End a user's sessions (a password set, an account disabled), but the one of
    `keep_token` (the browser that set the password, when it is that user's); how many."""
    return await statements.end_user_sessions(
        await session.connection(), user_id, now,
        keep_hash=token_hash(keep_token) if keep_token else None,
    )  # fmt: skip


async def list_sessions(
    session: AsyncSession, actor: Actor, user_id: int, *, now: datetime
) -> list[SessionView]:
    """A user's open sessions, the most recently used first (administrators)."""
    require(actor, Action.MANAGE_USERS)
    if await session.get(User, user_id) is None:
        raise NotFound()
    found = await session.scalars(
        select(WebSession)
        .where(
            WebSession.user_id == user_id,
            WebSession.ended_at.is_(None),
            WebSession.last_seen_at > now - SESSION_IDLE,
            WebSession.created_at > now - SESSION_LIFETIME,
        )
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
    )
    return [
        SessionView(id=row.id, created_at=row.created_at, last_seen_at=row.last_seen_at,
                    browser=browser_name(row.user_agent))
        for row in found
    ]  # fmt: skip


async def end_sessions_of(
    session: AsyncSession, actor: Actor, user_id: int, *, now: datetime
) -> int:
    """End every session of a user (administrators), audited; how many were open."""
    require(actor, Action.MANAGE_USERS)
    if await session.get(User, user_id) is None:
        raise NotFound()
    ended = await end_user_sessions(session, user_id, now=now)
    audit.record(
        session, actor_id=actor.user_id, action="session.end_all", entity="user",
        entity_id=user_id, now=now, details={"sessions": ended},
    )  # fmt: skip
    return ended


# The browser and system a User-Agent names, the first found in each list winning (Edge
# and Opera also name Chrome, Chrome also names Safari, Android also names Linux).
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))  # fmt: skip
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iOS"),
            ("iPad", "iPadOS"), ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"),
            ("Linux", "Linux"))  # fmt: skip


def browser_name(user_agent: str) -> str:
    """A browser as a person tells it apart ("Firefox · Windows"), from its User-Agent;
    "" when it names none we know."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)


# ---------------------------------------------------------------- signing in


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A sign-in that worked: the person, and the token of their new session."""

    actor: Actor
    token: str


@dataclass(frozen=True, slots=True)
class WrongCredentials:
    """The email or the password is wrong (which, never said); counted."""


@dataclass(frozen=True, slots=True)
class TooManyAttempts:
    """Too many failures in a row for this account or address: nothing was checked."""

    retry_after: int  # seconds, at least 1


SignInResult = SignedIn | WrongCredentials | TooManyAttempts


async def sign_in(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    address: str,
    user_agent: str,
    previous_token: str | None,
    secret: str,
    now: datetime,
) -> SignInResult:
    """Check an email and password from a client `address` and open a session.

    Refused at once while the account or the address is blocked (`TooManyAttempts`, the
    same whether the account exists or not). A wrong email or password is counted
    (`WrongCredentials`): those counts are the point of the refusal, so the caller keeps
    them (commits) although it refuses. On success the counts are cleared, and the
    browser's `previous_token` session, if any, ends: a sign-in always starts a new one.
    """
    keys = {
        "account": _key(secret, accounts.normalise_email(email)),
        "address": _key(secret, address),
    }
    connection = await session.connection()
    found = await connection.execute(
        statements.throttles(), {"account_key": keys["account"], "address_key": keys["address"]}
    )
    until = max((row.blocked_until for row in found if row.blocked_until), default=None)
    if until is not None and until > now:
        return TooManyAttempts(retry_after=max(1, math.ceil((until - now).total_seconds())))

    actor = await accounts.authenticate_password(session, email, password, now)
    if actor is None:
        await _count_failure(session, email, keys, now)
        return WrongCredentials()
    await statements.clear_throttles(connection, list(keys.items()))
    if previous_token:
        await end_session(session, previous_token, now=now)
    token = await open_session(session, actor.user_id, user_agent=user_agent, now=now)
    return SignedIn(actor, token)


def block_for(failures: int, allowed: int) -> timedelta | None:
    """How long the `failures`-th failure in a row blocks a key allowed `allowed` of them:
    not at all before, then 1 s, 2 s, 4 s… doubling up to `LONGEST_BLOCK`."""
    if failures < allowed:
        return None
    exponent = failures - allowed
    if exponent >= 20:  # 2**20 s is far past the longest block
        return LONGEST_BLOCK
    return min(timedelta(seconds=2**exponent), LONGEST_BLOCK)


async def _count_failure(
    session: AsyncSession, email: str, keys: dict[str, str], now: datetime
) -> None:
    connection = await session.connection()
    forget_before = now - FORGET_FAILURES_AFTER
    await statements.forget_old_failures(connection, forget_before, now)
    # Read for the audit only, whether the account exists or not (the same work either way).
    user_id = await session.scalar(
        select(User.id).where(User.email == accounts.normalise_email(email))
    )
    for scope, key in keys.items():
        failures = await statements.count_failure(
            connection, scope, key, now, forget_before=forget_before
        )
        wait = block_for(failures, FAILURES_ALLOWED[scope])
        if wait is None:
            continue
        await statements.block(connection, scope, key, now + wait)
        seconds = int(wait.total_seconds())
        # Whose account, when it exists; an email without an account is not written down.
        entity_id = user_id if scope == "account" else None
        audit.record(
            session, actor_id=None, action="login.throttled",
            entity="user" if scope == "account" else "sign_in", entity_id=entity_id, now=now,
            details={"scope": scope, "failures": failures, "blocked_seconds": seconds},
        )  # fmt: skip
        log.warning(
            "sign-in blocked for %s s after %s failures in a row (%s%s)", seconds, failures,
            scope, f", account {entity_id}" if entity_id is not None else "",
        )  # fmt: skip
