"""What corrections and lists of records share: a field left as it is, which records a list
shows, a search typed by a person."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement, func, or_
from sqlalchemy.orm import QueryableAttribute


class Keep:
    """A correction's "leave this field as it is" (None may be a value: no email)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


# Which records a list shows: those in use (the default), those retired, or all.
ActiveState = Literal["active", "inactive", "all"]


def matching(search: str, *columns: QueryableAttribute[str]) -> list[ColumnElement[bool]]:
    """The condition that one of `columns` holds `search` as typed (letters' case aside,
    wildcards taken literally); none for an empty search."""
    text = search.strip().lower()
    if not text:
        return []
    return [or_(*(func.lower(column).contains(text, autoescape=True) for column in columns))]
