"""People who sign in: desk agents, partner agents, coordinators, administrators."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from visio.db.base import Base, metadata
from visio.db.models._columns import created_at_column, enum_column
from visio.domain import Role

if TYPE_CHECKING:
    from visio.db.models.sites import Site


# The sites a desk agent or a coordinator works for.
user_sites = Table(
    "user_sites",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(Base):
    """An account; its role and sites decide what it may see and do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: one person, one account, however they type it.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), unique=True
    )
    locale: Mapped[str] = mapped_column(String(8), server_default="fr")
    # argon2id hash; None for an account that only uses API tokens.
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(server_default=true())
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None]

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, lazy="raise")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", lazy="raise")


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(120), server_default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens", lazy="raise")
