"""What every set-up use case shares: who may, and how a unique name is settled."""

from __future__ import annotations

from datetime import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from visio.services.errors import AlreadyExists
from visio.services.permissions import Action, Actor, require


class Keep:
    """A correction's "leave this field as it is" (None may be a value: no email)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


def require_admin(actor: Actor) -> None:
    """Set-up is for administrators: `NotAllowed` for anyone else."""
    require(actor, Action.SET_UP)


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


async def flush_unique(session: AsyncSession, conflict: AlreadyExists) -> None:
    """Flush; a unique index refusing the row (two scripts at once) becomes `conflict`."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise conflict from None
