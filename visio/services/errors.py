"""Domain errors raised by services; one middleware maps them to HTTP and to the user's language.

Messages are lazy strings, translated when the response is written, in the caller's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from visio.i18n import lazy_gettext as _l


class DomainError(Exception):
    """A refusal the user can understand; never a bug."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[Any] = _l("The request could not be processed.")

    def __init__(
        self,
        message: Any | None = None,
        *,
        fields: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.fields = dict(fields or {})
        # Machine-readable additions to the error body (next free slots, for instance).
        self.extra = dict(extra or {})
        super().__init__(str(self.message))


class Malformed(DomainError):
    status = 400
    code = "malformed"
    default_message = _l("The request is malformed.")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = _l("Sign in, or give a valid API token.")


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found, or outside your scope.")


class MethodNotAllowed(DomainError):
    status = 405
    code = "method_not_allowed"
    default_message = _l("This method is not allowed here.")


class TooLarge(DomainError):
    status = 413
    code = "too_large"
    default_message = _l("The request is too large.")


class Internal(DomainError):
    status = 500
    code = "internal"
    default_message = _l("Something went wrong on our side; the team has been told.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with the current state.")


class AlreadyExists(Conflict):
    code = "already_exists"
    default_message = _l("This already exists.")


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    default_message = _l("This slot is no longer free.")


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _l("This change is not possible in the appointment's current state.")


class InvalidInput(DomainError):
    status = 422
    code = "invalid"
    default_message = _l("Some fields are invalid.")
