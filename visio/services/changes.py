"""What corrections and lists of records share: a field left as it is, which records a list
shows, a search typed by a person."""

from __future__ import annotations

from typing import Literal


class Keep:
    """A correction's "leave this field as it is" (None may be a value: no email)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()


# Which records a list shows: those in use (the default), those retired, or all.
ActiveState = Literal["active", "inactive", "all"]


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE: its wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
