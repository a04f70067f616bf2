"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Enum, func
from sqlalchemy.orm import Mapped, mapped_column

E = TypeVar("E", bound=enum.Enum)


def enum_column(enum_type: type[E], name: str) -> Enum:
    """Store an enum by its value in a VARCHAR with a CHECK constraint (portable, readable)."""
    return Enum(
        enum_type,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(str(member.value)) for member in enum_type) + 4,
        values_callable=lambda members: [str(member.value) for member in members],
        validate_strings=True,
    )


def created_at_column() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())
