"""Domain errors raised by services: what went wrong, in the domain's words.

They carry no HTTP status: the web layer maps them (one table, `visio.middlewares`).
Messages are lazy strings, translated when the response is written, in the caller's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from babel.support import LazyProxy

from visio.i18n import lazy_gettext as _l

# What a user reads: a translated text, or one translated when the answer is written.
Message = str | LazyProxy


class DomainError(Exception):
    """A refusal the user can understand; never a bug."""

    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[Message] = _l("The request could not be processed.")

    def __init__(
        self,
        message: Message | None = None,
        *,
        fields: Mapping[str, Message] | None = None,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = dict(fields or {})
        # Machine-readable additions to the error body (next free slots, for instance).
        self.extra = dict(extra or {})
        super().__init__(str(self.message))


class Malformed(DomainError):
    code = "malformed"
    default_message = _l("The request is malformed.")


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    default_message = _l("Sign in, or give a valid API token.")


class NotAllowed(DomainError):
    code = "not_allowed"
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    code = "not_found"
    default_message = _l("Not found, or outside your scope.")


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    default_message = _l("This method is not allowed here.")


class TooLarge(DomainError):
    code = "too_large"
    default_message = _l("The request is too large.")


class Internal(DomainError):
    code = "internal"
    default_message = _l("Something went wrong on our side; the team has been told.")


class Conflict(DomainError):
    code = "conflict"
    default_message = _l("This conflicts with the current state.")


class InUse(Conflict):
    """Removing or retiring something that others still need: `extra` says what (counts,
    or the future appointments it would leave without an agent or a station)."""

    code = "in_use"
    default_message = _l("This is still in use.")


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_message = _l("This slot is no longer free.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _l("This change is not possible in the appointment's current state.")


class InvalidInput(DomainError):
    code = "invalid"
    default_message = _l("Some fields are invalid.")


class IdempotencyKeyReused(InvalidInput):
    """An idempotency key sent again with another request (another body, another path)
    while the first request's answer is kept: refused rather than answered with that
    answer, which would be for something else."""

    code = "idempotency_key_reused"
    default_message = _l(
        "This key was already used for a different request in the last 24 hours: "
        "send a new key with each new request."
    )


class AlreadyExists(InvalidInput):
    """A name, code or email another record has: refused by field, as any invalid field
    (422), with its own code."""

    code = "already_exists"
    default_message = _l("This already exists.")


class Unavailable(DomainError):
    """Our own fault, for a while: the database cannot be reached or does not answer in
    time. The caller may try again in a few seconds (the answer says when)."""

    code = "service_unavailable"
    default_message = _l("The service is temporarily unavailable: try again in a few moments.")
