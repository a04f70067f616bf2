"""Accounts: users, their roles and site scopes, passwords and API tokens."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.models import Agent, ApiToken, Role, Site, User, user_sites
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.errors import AlreadyExists, Conflict, InvalidInput, NotAllowed, NotFound

# Tokens carry 256 random bits: a fast hash is enough to store them (unlike passwords).
TOKEN_PREFIX = "visio_"  # noqa: S105 (a marker, not a secret)
# Writing `last_used_at` on every API call would turn reads into writes; once a minute is enough.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()
# Verifying against this keeps a wrong email as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only a timing guard")


@dataclasses.dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in person a service acts for: what they are and what they may reach."""

    user_id: int
    email: str
    name: str
    role: Role
    locale: str
    site_ids: frozenset[int] = frozenset()
    agent_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see_site(self, site_id: int) -> bool:
        """Admins see every site; desk agents and coordinators only their own."""
        return self.is_admin or site_id in self.site_ids


def actor_of(user: User) -> Actor:
    """The actor for a user whose `sites` are loaded."""
    return Actor(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        locale=user.locale,
        site_ids=frozenset(site.id for site in user.sites),
        agent_id=user.agent_id,
    )


async def load_by_ids(
    session: AsyncSession, model: type[Any], ids: Sequence[int], *criteria: Any
) -> tuple[list[Any], str]:
    """The rows of `model` with these ids (and `criteria`), and the ids not found, as text."""
    wanted = set(ids)
    found = list(
        (await session.scalars(select(model).where(model.id.in_(wanted), *criteria))).all()
    )
    missing = sorted(wanted - {row.id for row in found})
    return found, ", ".join(str(i) for i in missing)


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _hasher.hash(password)


def hash_token(token: str) -> str:
    """The SHA-256 of an API token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """An email as stored: trimmed and lower-cased, one account per person."""
    return email.strip().lower()


async def _load_user(session: AsyncSession, **criteria: object) -> User | None:
    query = select(User).options(selectinload(User.sites)).filter_by(**criteria)
    return (await session.scalars(query)).one_or_none()


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> User:
    """A user, for an admin or for themselves; `NotFound` otherwise (no hint it exists)."""
    if not actor.is_admin and actor.user_id != user_id:
        raise NotFound()
    user = await _load_user(session, id=user_id)
    if user is None:
        raise NotFound()
    return user


async def create_user(
    session: AsyncSession,
    actor: Actor | None,
    *,
    email: str,
    name: str,
    role: Role,
    now: datetime,
    site_ids: Sequence[int] = (),
    agent_id: int | None = None,
    locale: str = "fr",
    password: str | None = None,
) -> User:
    """Create an account. Only an admin may (or the command line, with `actor=None`).

    Desk agents and coordinators need at least one site; an agent account needs an
    agent record, which no other account uses yet. Every problem is reported field by
    field; nothing is written unless all is well.
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed()
    email = normalise_email(email)
    errors: dict[str, object] = {}
    site_ids = sorted(set(site_ids))
    sites: list[Site] = []
    if role in (Role.DESK, Role.COORDINATOR) and not site_ids:
        errors["site_ids"] = _l("Desk and coordinator accounts need at least one site.")
    if role in (Role.AGENT, Role.ADMIN) and site_ids:
        errors["site_ids"] = _l("Only desk and coordinator accounts are scoped to sites.")
    if site_ids and "site_ids" not in errors:
        sites, missing = await load_by_ids(session, Site, site_ids)
        if missing:
            errors["site_ids"] = _l("Unknown site: %(ids)s.", ids=missing)
    if role is Role.AGENT:
        if agent_id is None:
            errors["agent_id"] = _l("An agent account must be linked to an agent.")
        elif await session.get(Agent, agent_id) is None:
            errors["agent_id"] = _l("Unknown agent.")
        elif await session.scalar(select(User.id).where(User.agent_id == agent_id)) is not None:
            errors["agent_id"] = _l("This agent already has an account.")
    elif agent_id is not None:
        errors["agent_id"] = _l("Only agent accounts are linked to an agent.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _l("At least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    if errors:
        raise InvalidInput(fields=errors)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise _email_taken()

    user = User(
        email=email,
        name=name.strip(),
        role=role,
        agent_id=agent_id if role is Role.AGENT else None,
        locale=locale,
        password_hash=hash_password(password) if password else None,
        created_at=now,
    )
    user.sites = sites
    session.add(user)
    try:
        # Two admins creating the same email at once: the unique index settles it.
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _email_taken() from None
    audit.record(
        session,
        actor_id=actor.user_id if actor else None,
        action="user.create",
        entity="user",
        entity_id=user.id,
        now=now,
        details={"role": role.value, "site_ids": site_ids, "agent_id": user.agent_id},
    )
    return user


def _email_taken() -> AlreadyExists:
    return AlreadyExists(
        _l("An account with this email already exists."),
        fields={"email": _l("Already used by another account.")},
    )


async def create_token(
    session: AsyncSession, actor: Actor | None, *, user_id: int, label: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new API token for a user (an admin's or their own); the clear token is returned once."""
    if actor is not None and not actor.is_admin and actor.user_id != user_id:
        raise NotFound()
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound()
    if not user.active:
        raise Conflict(_l("This account is disabled."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user_id,
        label=label.strip(),
        token_hash=hash_token(token),
        prefix=token[: len(TOKEN_PREFIX) + 4],
        created_at=now,
    )
    session.add(record)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.user_id if actor else None,
        action="token.create",
        entity="user",
        entity_id=user_id,
        now=now,
        details={"token_id": record.id, "label": record.label},
    )
    return record, token


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    """The account with this email (however it is typed), with its sites, or None."""
    return await _load_user(session, email=normalise_email(email))


async def authenticate_token(session: AsyncSession, token: str, now: datetime) -> Actor | None:
    """The actor behind a bearer token, or None for an unknown, revoked or disabled one.

    Every API call comes through here: one plain statement built once (the token with its
    user, a row per site of the user), no ORM objects.
    """
    if not token.startswith(TOKEN_PREFIX):
        return None
    connection = await session.connection()
    rows = (await connection.execute(_token_statement(), {"hash": hash_token(token)})).all()
    if not rows:
        return None
    token_id, last_used_at, user_id, email, name, role, locale, agent_id, _site = rows[0]
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_INTERVAL:
        await connection.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
        )
    return Actor(
        user_id=user_id,
        email=email,
        name=name,
        role=role,
        locale=locale,
        site_ids=frozenset(row[-1] for row in rows if row[-1] is not None),
        agent_id=agent_id,
    )


@functools.cache
def _token_statement() -> Any:
    return (
        select(
            ApiToken.id,
            ApiToken.last_used_at,
            User.id,
            User.email,
            User.name,
            User.role,
            User.locale,
            User.agent_id,
            user_sites.c.site_id,
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(user_sites, user_sites.c.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("hash"),
            ApiToken.revoked_at.is_(None),
            User.active,
        )
    )


async def authenticate_password(
    session: AsyncSession, email: str, password: str, now: datetime
) -> Actor | None:
    """The actor for an email and password, or None; as slow for an unknown email."""
    user = await find_user_by_email(session, email)
    stored = user.password_hash if user is not None and user.active else None
    # argon2 takes a good tenth of a second on purpose: in a thread, not on the event loop.
    if not await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password):
        return None
    if user is None or stored is None:
        return None
    values: dict[str, object] = {"last_login_at": now}
    if _hasher.check_needs_rehash(stored):
        values["password_hash"] = hash_password(password)
    await session.execute(update(User).where(User.id == user.id).values(**values))
    return actor_of(user)


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


async def load_actor(session: AsyncSession, user_id: int) -> Actor | None:
    """The actor for a signed-in session's user, if the account is still active."""
    user = await _load_user(session, id=user_id, active=True)
    return actor_of(user) if user is not None else None
