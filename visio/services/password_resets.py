"""Password reset links: an administrator makes one for an account, its owner sets a new
password with it.

A link works once, for `RESET_LIFETIME`; making a new one spends those not used yet. Like
API tokens, a link's token carries 256 random bits and only its SHA-256 is kept. With an
email server, the link goes to the account's owner through the outbox; without one, it
is given to the administrator, this once, to hand over.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import PasswordReset, User
from visio.i18n import lazy_gettext as _l
from visio.services import audit, notifications, sessions
from visio.services.accounts import MIN_PASSWORD_LENGTH, hash_password, hash_token
from visio.services.errors import Conflict, InvalidInput, Message, NotFound
from visio.services.permissions import Action, Actor, require
from visio.services.records import IssuedReset, ResetLinkView

RESET_PREFIX = "visio_reset_"
RESET_LIFETIME = timedelta(hours=24)
MAX_PASSWORD_LENGTH = 200


def link_gone() -> NotFound:
    """The one answer for a link unknown, used, replaced or expired: which, it never says."""
    return NotFound(_l("This link is not valid (any more). Ask an administrator for a new one."))


async def issue_reset(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    *,
    link_for: Callable[[str], str],
    by_email: bool,
    now: datetime,
) -> IssuedReset:
    """Make a password reset link for an active account (administrators), audited;
    `link_for` turns its token into the address to open. `by_email`: queued to the
    account's owner, in their language; otherwise the link is returned, this once. Links
    made earlier and not used are spent."""
    require(actor, Action.MANAGE_USERS)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not user.active:
        raise Conflict(_l("This account is disabled."))
    await _spend_unused(session, user_id, now)
    token = RESET_PREFIX + secrets.token_urlsafe(32)
    reset = PasswordReset(
        user_id=user_id,
        token_hash=hash_token(token),
        created_by_id=actor.user_id,
        created_at=now,
        expires_at=now + RESET_LIFETIME,
    )
    session.add(reset)
    await session.flush()
    link = link_for(token)
    if by_email:
        await notifications.queue_password_reset(
            session, to_email=user.email, to_name=user.name, locale=user.locale, link=link,
            valid_hours=int(RESET_LIFETIME / timedelta(hours=1)), now=now,
        )  # fmt: skip
    audit.record(
        session, actor_id=actor.user_id, action="password_reset.issue", entity="user",
        entity_id=user_id, now=now, details={"reset_id": reset.id, "emailed": by_email},
    )  # fmt: skip
    return IssuedReset(
        user_id=user_id,
        expires_at=reset.expires_at,
        emailed_to=user.email if by_email else None,
        link=None if by_email else link,
    )


async def _spend_unused(session: AsyncSession, user_id: int, now: datetime) -> None:
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.spent_at.is_(None))
        .values(spent_at=now)
    )


async def _usable(session: AsyncSession, token: str, now: datetime) -> tuple[PasswordReset, User]:
    """The reset a token names, with its account, if it can still be used: `link_gone` if
    not (unknown, spent, expired, or its account disabled since)."""
    if not token.startswith(RESET_PREFIX):
        raise link_gone()
    found = (
        await session.execute(
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.token_hash == hash_token(token))
        )
    ).one_or_none()
    if found is None:
        raise link_gone()
    reset, user = found
    if reset.spent_at is not None or reset.expires_at <= now or not user.active:
        raise link_gone()
    return reset, user


async def reset_link(session: AsyncSession, token: str, *, now: datetime) -> ResetLinkView:
    """Whose password a link still good sets (anyone holding it may ask); `NotFound`
    otherwise, without saying why."""
    reset, user = await _usable(session, token, now)
    return ResetLinkView(email=user.email, name=user.name, expires_at=reset.expires_at)


async def reset_password(
    session: AsyncSession, token: str, password: str, *, again: str, now: datetime,
    session_token: str | None = None,
) -> ResetLinkView:  # fmt: skip
    """Set the password of the account a link still good names, and spend the link (with
    any other unused one of the account), audited as done by the account's owner. Every
    session of the account ends but the browser's own (`session_token`, when it is one of
    that account's): whoever knew the old password is signed out. A
    password shorter than at account creation (field `password`), or not the same typed
    `again` (field `password_again`), is refused field by field (`InvalidInput`), the
    link kept; a link no longer good is `NotFound`."""
    reset, user = await _usable(session, token, now)
    errors: dict[str, Message] = {}
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = _l("At most %(max_length)s characters.",
                                max_length=MAX_PASSWORD_LENGTH)  # fmt: skip
    if again != password:
        errors["password_again"] = _l("The two passwords differ.")
    if errors:
        raise InvalidInput(fields=errors)
    # The same link sent twice at once (a double click, two tabs): only one spends it.
    spent = await session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.spent_at.is_(None))
        .values(spent_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise link_gone()
    await _spend_unused(session, user.id, now)
    # argon2 takes a good tenth of a second on purpose: in a thread, not on the event loop.
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await session.flush()
    await sessions.end_user_sessions(session, user.id, now=now, keep_token=session_token)
    audit.record(
        session, actor_id=user.id, action="password_reset.use", entity="user",
        entity_id=user.id, now=now, details={"reset_id": reset.id},
    )  # fmt: skip
    return ResetLinkView(email=user.email, name=user.name, expires_at=reset.expires_at)
