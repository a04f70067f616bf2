"""Accounts: the statement behind every API call, a bearer token with its user."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select

from visio.db.models import ApiToken, User, user_sites
from visio.db.statements import shaped
from visio.domain import Role


class TokenRow(NamedTuple):
    """A live token with its active user, once per site of the user."""

    token_id: int
    last_used_at: datetime | None
    user_id: int
    email: str
    name: str
    role: Role
    locale: str
    agent_id: int | None
    site_id: int | None


@functools.cache
def token_user() -> Select[*TokenRow]:
    """The live token with hash `hash` and its active user, one row per site of the user;
    rows read as `TokenRow._make(row)`."""
    return shaped(
        select(
            ApiToken.id.label("token_id"),
            ApiToken.last_used_at.label("last_used_at"),
            User.id.label("user_id"),
            User.email.label("email"),
            User.name.label("name"),
            User.role.label("role"),
            User.locale.label("locale"),
            User.agent_id.label("agent_id"),
            user_sites.c.site_id.label("site_id"),
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(user_sites, user_sites.c.user_id == User.id)
        .where(
            ApiToken.token_hash == bindparam("hash"),
            ApiToken.revoked_at.is_(None),
            User.active,
        ),
        TokenRow._fields,
    )
