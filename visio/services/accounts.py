"""Accounts: users, their roles and site scopes, passwords and API tokens."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.base import Base
from visio.db.direct import direct
from visio.db.models import Agent, ApiToken, Site, User, user_sites
from visio.db.statements import accounts as statements
from visio.db.statements import sessions as sessions_statements
from visio.domain import Role
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.changes import KEEP, ActiveState, Keep, matching
from visio.services.errors import AlreadyExists, Conflict, InvalidInput, Message, NotFound
from visio.services.permissions import (
    LINKED_TO_AGENT,
    SCOPED_TO_SITES,
    Action,
    Actor,
    require,
    require_self_or_admin,
)
from visio.services.records import Listing, NewToken, TokenView, UserView

__all__ = ["Actor"]  # the signed-in person, defined with the rules that apply to them

# Tokens carry 256 random bits: a fast hash is enough to store them (unlike passwords).
TOKEN_PREFIX = "visio_"  # noqa: S105 (a marker, not a secret)
# Writing `last_used_at` on every API call would turn reads into writes; once a minute is enough.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10


class _Passwords:
    """argon2id at the library's recommended cost (RFC 9106's second choice: 64 MiB, 3
    passes, 4 lanes), and the hash a wrong email is verified against, made at first use."""

    def __init__(self) -> None:
        self.hasher = PasswordHasher()
        self._dummy: str | None = None

    @property
    def dummy(self) -> str:
        # Verifying against this keeps a wrong email as slow as a wrong password.
        if self._dummy is None:
            self._dummy = self.hasher.hash("not a real password, only a timing guard")
        return self._dummy

    def set_cost(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        self._dummy = None


_passwords = _Passwords()


def set_password_cost(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """argon2's cost for this process from now on (memory in KiB). The test suite lowers it:
    thousands of sign-ins there check the rules, not the cost; visio itself never calls it."""
    _passwords.set_cost(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


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
        houses=tuple(sorted(site.name for site in user.sites)),
    )


_Row = TypeVar("_Row", bound=Base)


async def load_by_ids(
    session: AsyncSession, model: type[_Row], ids: Sequence[int], *criteria: ColumnElement[bool]
) -> tuple[list[_Row], str]:
    """The rows of `model` with these ids (and `criteria`), and the ids not found, as text."""
    wanted = set(ids)
    key = inspect(model).primary_key[0]
    found = list((await session.scalars(select(model).where(key.in_(wanted), *criteria))).all())
    found_ids = {identity[0] for row in found if (identity := inspect(row).identity)}
    missing = sorted(wanted - found_ids)
    return found, ", ".join(str(i) for i in missing)


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    return _passwords.hasher.hash(password)


def hash_token(token: str) -> str:
    """The SHA-256 of an API token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """An email as stored: trimmed and lower-cased, one account per person."""
    return email.strip().lower()


async def _load_user(session: AsyncSession, **criteria: object) -> User | None:
    query = select(User).options(selectinload(User.sites)).filter_by(**criteria)
    return (await session.scalars(query)).one_or_none()


def user_view(user: User) -> UserView:
    """The record of a user whose `sites` are loaded."""
    return UserView(
        id=user.id, email=user.email, name=user.name, role=user.role,
        site_ids=sorted(site.id for site in user.sites), agent_id=user.agent_id,
        locale=user.locale, active=user.active, created_at=user.created_at,
    )  # fmt: skip


async def get_user(session: AsyncSession, actor: Actor, user_id: int) -> UserView:
    """A user, for an admin or for themselves; `NotFound` otherwise (no hint it exists)."""
    require_self_or_admin(actor, user_id)
    user = await _load_user(session, id=user_id)
    if user is None:
        raise NotFound()
    return user_view(user)


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
) -> UserView:
    """Create an account. Only an admin may (or the command line, with `actor=None`).

    Desk agents and coordinators need at least one site; an agent account needs an
    agent record, which no other account uses yet. Every problem is reported field by
    field; nothing is written unless all is well.
    """
    if actor is not None:
        require(actor, Action.MANAGE_USERS)
    email = normalise_email(email)
    site_ids = sorted(set(site_ids))
    errors, sites = await _check_account(session, role, site_ids, agent_id, user_id=None)
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
        agent_id=agent_id if role in LINKED_TO_AGENT else None,
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
    return user_view(user)


async def _check_account(
    session: AsyncSession, role: Role, site_ids: list[int], agent_id: int | None,
    *, user_id: int | None,
) -> tuple[dict[str, Message], list[Site]]:  # fmt: skip
    """What is wrong with an account's role, houses and agent, field by field (desk and
    coordinator accounts are scoped to houses, an agent account to its own agent), and the
    houses named. `user_id`: the account itself, when it is corrected."""
    errors: dict[str, Message] = {}
    sites: list[Site] = []
    if role in SCOPED_TO_SITES and not site_ids:
        errors["site_ids"] = _l("Desk and coordinator accounts need at least one site.")
    if role not in SCOPED_TO_SITES and site_ids:
        errors["site_ids"] = _l("Only desk and coordinator accounts are scoped to sites.")
    if site_ids and "site_ids" not in errors:
        sites, missing = await load_by_ids(session, Site, site_ids)
        if missing:
            errors["site_ids"] = _l("Unknown site: %(ids)s.", ids=missing)
    if role in LINKED_TO_AGENT:
        linked = select(User.id).where(User.agent_id == agent_id)
        if user_id is not None:
            linked = linked.where(User.id != user_id)
        if agent_id is None:
            errors["agent_id"] = _l("An agent account must be linked to an agent.")
        elif await session.get(Agent, agent_id) is None:
            errors["agent_id"] = _l("Unknown agent.")
        elif await session.scalar(linked) is not None:
            errors["agent_id"] = _l("This agent already has an account.")
    elif agent_id is not None:
        errors["agent_id"] = _l("Only agent accounts are linked to an agent.")
    return errors, sites


async def find_users(
    session: AsyncSession, actor: Actor, *, search: str = "", role: Role | None = None,
    site_id: int | None = None, state: ActiveState = "active", page: int = 1,
    per_page: int | None = None,
) -> Listing[UserView]:  # fmt: skip
    """The accounts, by name (administrators): of a role, of a house, whose name or email
    holds `search`; active (`state`), disabled, or all; a page of `per_page` (None: all)."""
    require(actor, Action.MANAGE_USERS)
    criteria: list[ColumnElement[bool]] = []
    if role is not None:
        criteria.append(User.role == role)
    if site_id is not None:
        criteria.append(
            User.id.in_(select(user_sites.c.user_id).where(user_sites.c.site_id == site_id))
        )
    if state != "all":
        criteria.append(User.active.is_(state == "active"))
    criteria += matching(search, User.name, User.email)
    total = int(await session.scalar(select(func.count()).select_from(User).where(*criteria)) or 0)
    query = (
        select(User).where(*criteria).order_by(User.name, User.id)
        .options(selectinload(User.sites))
    )  # fmt: skip
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [user_view(user) for user in await session.scalars(query)]
    return Listing(items, total, page, per_page)


@dataclass(frozen=True, slots=True)
class UserChanges:
    """What a correction of an account changes: each field given, the others `KEEP`."""

    name: str | Keep = KEEP
    email: str | Keep = KEEP
    role: Role | Keep = KEEP
    site_ids: list[int] | Keep = KEEP
    agent_id: int | Keep | None = KEEP
    locale: str | Keep = KEEP
    active: bool | Keep = KEEP


async def change_user(
    session: AsyncSession, actor: Actor, user_id: int, changes: UserChanges, *, now: datetime
) -> UserView:
    """Correct an account (administrators), checked as at its creation, the role, houses
    and agent together; or disable it (its tokens and sign-in refused from then on, its
    sessions ended) or enable it again. An administrator cannot disable or demote themselves."""
    require(actor, Action.MANAGE_USERS)
    user = await _load_user(session, id=user_id)
    if user is None:
        raise NotFound()
    role = changes.role if isinstance(changes.role, Role) else user.role
    site_ids = (sorted(set(changes.site_ids)) if isinstance(changes.site_ids, list)
                else sorted(site.id for site in user.sites))  # fmt: skip
    agent_id = user.agent_id if isinstance(changes.agent_id, Keep) else changes.agent_id
    if role not in LINKED_TO_AGENT and isinstance(changes.agent_id, Keep):
        agent_id = None  # an account no longer an agent's lets its agent go
    if (
        role not in SCOPED_TO_SITES
        and not isinstance(changes.role, Keep)
        and isinstance(changes.site_ids, Keep)
    ):
        site_ids = []  # nor its houses
    errors, sites = await _check_account(session, role, site_ids, agent_id, user_id=user_id)
    if user_id == actor.user_id:
        if changes.active is False:
            errors["active"] = _l("You cannot disable your own account.")
        if role is not Role.ADMIN:
            errors["role"] = _l("You cannot take away your own administration rights.")
    if errors:
        raise InvalidInput(fields=errors)
    email = normalise_email(changes.email) if isinstance(changes.email, str) else user.email
    if email != user.email:
        taken = select(User.id).where(User.email == email, User.id != user_id)
        if await session.scalar(taken) is not None:
            raise _email_taken()
    changed = []
    for field, value in (("name", changes.name.strip() if isinstance(changes.name, str)
                          else KEEP), ("email", email), ("role", role), ("agent_id", agent_id),
                         ("locale", changes.locale), ("active", changes.active)):  # fmt: skip
        if not isinstance(value, Keep) and value != getattr(user, field):
            setattr(user, field, value)
            changed.append(field)
    if site_ids != sorted(site.id for site in user.sites):
        user.sites = sites
        changed.append("site_ids")
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise _email_taken() from None
    if "active" in changed and not user.active:
        # A disabled account is signed out everywhere: enabled again, it starts afresh.
        await sessions_statements.end_user_sessions(await session.connection(), user_id, now)
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="user.change", entity="user",
            entity_id=user_id, now=now, details={"fields": ", ".join(changed)},
        )  # fmt: skip
    return user_view(user)


def _email_taken() -> AlreadyExists:
    return AlreadyExists(
        _l("An account with this email already exists."),
        fields={"email": _l("Already used by another account.")},
    )


async def create_token(
    session: AsyncSession, actor: Actor | None, *, user_id: int, label: str, now: datetime
) -> NewToken:
    """A new API token for a user (an admin's or their own); the clear token is returned once."""
    if actor is not None:
        require_self_or_admin(actor, user_id)
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
    return NewToken(record.id, token, record.prefix, record.label, record.created_at)


async def list_tokens(session: AsyncSession, actor: Actor, user_id: int) -> list[TokenView]:
    """A user's API tokens, newest first, revoked ones too (an admin's or their own)."""
    require_self_or_admin(actor, user_id)
    if await session.get(User, user_id) is None:
        raise NotFound()
    tokens = await session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return [
        TokenView(id=token.id, prefix=token.prefix, label=token.label,
                  created_at=token.created_at, last_used_at=token.last_used_at,
                  revoked_at=token.revoked_at)
        for token in tokens
    ]  # fmt: skip


async def revoke_token(
    session: AsyncSession, actor: Actor, user_id: int, token_id: int, *, now: datetime
) -> None:
    """Revoke one of a user's API tokens (an admin, or the user): refused from then on.
    Revoking it again changes nothing."""
    require_self_or_admin(actor, user_id)
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound()
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="token.revoke", entity="user",
        entity_id=user_id, now=now, details={"token_id": token_id, "label": token.label},
    )  # fmt: skip


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
    found = await direct(statements.token_user()).rows(connection, {"hash": hash_token(token)})
    rows = [statements.TokenRow._make(row) for row in found]
    if not rows:
        return None
    first = rows[0]
    if first.last_used_at is None or now - first.last_used_at > TOKEN_TOUCH_INTERVAL:
        await connection.execute(
            update(ApiToken).where(ApiToken.id == first.token_id).values(last_used_at=now)
        )
    return actor_of_rows(rows)


class UserRow(Protocol):
    """What the sign-in statements read of a person: one row per house of theirs."""

    @property
    def user_id(self) -> int: ...
    @property
    def email(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> Role: ...
    @property
    def locale(self) -> str: ...
    @property
    def agent_id(self) -> int | None: ...
    @property
    def site_id(self) -> int | None: ...


def actor_of_rows(rows: Sequence[UserRow], houses: Iterable[str] = ()) -> Actor:
    """The actor of the rows a sign-in statement read (a token's, a session's), with the
    names of their houses when the statement read them."""
    first = rows[0]
    return Actor(
        user_id=first.user_id,
        email=first.email,
        name=first.name,
        role=first.role,
        locale=first.locale,
        site_ids=frozenset(row.site_id for row in rows if row.site_id is not None),
        agent_id=first.agent_id,
        houses=tuple(sorted(houses)),
    )


async def authenticate_password(
    session: AsyncSession, email: str, password: str, now: datetime
) -> Actor | None:
    """The actor for an email and password, or None; as slow for an unknown email."""
    user = await find_user_by_email(session, email)
    stored = user.password_hash if user is not None and user.active else None
    # argon2 takes a good tenth of a second on purpose: in a thread, not on the event loop.
    if not await asyncio.to_thread(_verify, stored or _passwords.dummy, password):
        return None
    if user is None or stored is None:
        return None
    values: dict[str, object] = {"last_login_at": now}
    if _passwords.hasher.check_needs_rehash(stored):
        values["password_hash"] = hash_password(password)
    await session.execute(update(User).where(User.id == user.id).values(**values))
    return actor_of(user)


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_passwords.hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


async def load_actor(session: AsyncSession, user_id: int) -> Actor | None:
    """The actor for a signed-in session's user, if the account is still active."""
    user = await _load_user(session, id=user_id, active=True)
    return actor_of(user) if user is not None else None
