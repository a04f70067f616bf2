"""Jitsi room names: random, unguessable, free of personal data.

Format, stated once: ``visio-`` followed by the 16 random bytes in RFC 4648 base32,
lowercase, without padding, i.e. ``^visio-[a-z2-7]{26}$`` (32 characters in all).

A room name is generated once, when the appointment is booked, and stored with it: every
link for that appointment (station side, agent side, any later re-issue) points to the same
room, so the two sides always meet. A reschedule books a new appointment and so gets a new
room; the cancelled one's room is never reused.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Final

ROOM_PREFIX: Final = "visio-"
# 128 bits: guessing an active room is hopeless even with millions of rooms alive.
ROOM_ENTROPY_BYTES: Final = 16
# base32 carries 5 bits per character: ceil(128 / 5) = 26 characters once padding is dropped.
_ENCODED_LENGTH: Final = 26
ROOM_NAME_LENGTH: Final = len(ROOM_PREFIX) + _ENCODED_LENGTH
ROOM_NAME_PATTERN: Final = re.compile(r"visio-[a-z2-7]{26}")


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def new_room_name(random_bytes: Callable[[int], bytes]) -> str:
    """Return a fresh room name built from 16 bytes of ``random_bytes`` and nothing else.

    The result always matches ``^visio-[a-z2-7]{26}$``: lowercase, URL-safe as is, of fixed
    length, carrying 128 bits from the source and no personal data (the function is given
    none). Pass ``secrets.token_bytes`` in production; tests may pass a fixed source.

    Raises ``ValueError`` if the source does not return exactly 16 bytes, rather than
    silently issuing a shorter, guessable name.
    """
    raw = random_bytes(ROOM_ENTROPY_BYTES)
    if not isinstance(raw, bytes) or len(raw) != ROOM_ENTROPY_BYTES:
        raise ValueError(
            f"the random source must return exactly {ROOM_ENTROPY_BYTES} bytes, "
            f"got {len(raw) if isinstance(raw, bytes) else type(raw).__name__}"
        )
    return ROOM_PREFIX + _encode(raw)


def is_room_name(s: str) -> bool:
    """Tell whether ``s`` is exactly a name that `new_room_name` can produce.

    Beyond the pattern, the name must be the canonical encoding of 16 bytes (the last
    character carries 3 data bits and 2 zero bits), so that one room has one spelling.
    """
    if not isinstance(s, str) or ROOM_NAME_PATTERN.fullmatch(s) is None:
        return False
    encoded = s[len(ROOM_PREFIX) :]
    try:
        raw = base64.b32decode(encoded.upper() + "======")
    except binascii.Error:
        return False
    return len(raw) == ROOM_ENTROPY_BYTES and _encode(raw) == encoded
