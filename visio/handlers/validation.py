"""Turning pydantic's validation errors into one clear message per field, in the user's language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import TypeVar

from babel.support import LazyProxy
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.services.errors import InvalidInput, Malformed

M = TypeVar("M", bound=BaseModel)

# Dates and instants outside this range are typing slips, and would overflow the calendar
# arithmetic around them (a day before 0001-01-01, an offset past 9999-12-31).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)

# pydantic error type → message; `%(name)s` placeholders come from the error's context.
_MESSAGES: dict[str, LazyProxy] = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("Unknown field."),
    "string_type": _l("Text is expected."),
    "string_too_short": _l("Must not be empty."),
    "string_too_long": _l("At most %(max_length)s characters."),
    "int_type": _l("A whole number is expected."),
    "int_parsing": _l("A whole number is expected."),
    "int_from_float": _l("A whole number is expected."),
    "greater_than_equal": _l("Must be at least %(ge)s."),
    "greater_than": _l("Must be more than %(gt)s."),
    "less_than_equal": _l("Must be at most %(le)s."),
    "less_than": _l("Must be less than %(lt)s."),
    "bool_type": _l("true or false is expected."),
    "bool_parsing": _l("true or false is expected."),
    "enum": _l("One of: %(expected)s."),
    "literal_error": _l("One of: %(expected)s."),
    "date_type": _l("A date YYYY-MM-DD is expected."),
    "date_parsing": _l("A date YYYY-MM-DD is expected."),
    "date_from_datetime_parsing": _l("A date YYYY-MM-DD is expected."),
    "date_from_datetime_inexact": _l("A date YYYY-MM-DD is expected."),
    "time_type": _l("A time HH:MM is expected."),
    "time_parsing": _l("A time HH:MM is expected."),
    "datetime_type": _l("A date and time with its offset is expected (2026-03-30T09:00:00+02:00)."),
    "datetime_parsing": _l(
        "A date and time with its offset is expected (2026-03-30T09:00:00+02:00)."
    ),
    "datetime_from_date_parsing": _l(
        "A date and time with its offset is expected (2026-03-30T09:00:00+02:00)."
    ),
    "timezone_aware": _l("The time needs its offset (+02:00) or Z."),
    "list_type": _l("A list is expected."),
    "too_short": _l("At least %(min_length)s items."),
    "too_long": _l("At most %(max_length)s items."),
    "model_type": _l("An object is expected."),
    "model_attributes_type": _l("An object is expected."),
    "dict_type": _l("An object is expected."),
    "json_invalid": _l("The body is not valid JSON."),
}

# Our own checks raise PydanticCustomError with one of these types.
CUSTOM_MESSAGES: dict[str, LazyProxy] = {
    "email": _l("Not a valid email address."),
    "phone": _l("Not a valid phone number."),
    "timezone": _l("Unknown time zone; use an IANA name such as Europe/Paris."),
    "holiday_calendar": _l("Unknown holiday calendar."),
    "end_before_start": _l("The end must come after the start."),
    "blank": _l("Must not be empty."),
    "not_null": _l("May be left out, not null."),
    "unique_items": _l("Each value may appear only once."),
    "valid_until_before_from": _l("valid_until must not come before valid_from."),
    "to_before_from": _l("Must not come before the start of the range."),
    "out_of_range": _l("This date is out of range."),
    "range_too_long": _l("The range may span at most %(days)s days."),
}


def field_error(kind: str, **context: object) -> PydanticCustomError:
    """An error for one of our own checks (see `CUSTOM_MESSAGES`)."""
    if kind not in CUSTOM_MESSAGES:
        raise KeyError(kind)
    return PydanticCustomError(kind, kind, context)


def _message(error: ErrorDetails) -> str:
    context = dict(error.get("ctx") or {})
    template = CUSTOM_MESSAGES.get(error["type"]) or _MESSAGES.get(error["type"])
    if template is None:
        return _("Invalid value.")
    text = str(template)
    if "expected" in context:
        # pydantic quotes the choices its own way ("'a', 'b' or 'c'"); keep the values only.
        context["expected"] = ", ".join(re.findall(r"'([^']*)'", str(context["expected"])))
    try:
        return text % {key: str(value) for key, value in context.items()}
    except (KeyError, TypeError, ValueError):
        return text


def field_path(location: tuple[int | str, ...]) -> str:
    """`("citizen", "email")` → `citizen.email`; list positions as `weekdays.2`."""
    return ".".join(str(part) for part in location) or "body"


def fields_of(error: ValidationError) -> dict[str, str]:
    """One message per field: the first pydantic reports for it."""
    fields: dict[str, str] = {}
    for detail in error.errors(include_url=False):
        location = detail["loc"]
        # Union and tagged members add the member's name to the path; it means nothing here.
        location = tuple(part for part in location if not _is_member_name(part))
        fields.setdefault(field_path(location), _message(detail))
    return fields


def _is_member_name(part: int | str) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def parse_json(model: type[M], body: bytes) -> M:
    """Validate a JSON body: 400 when it is not JSON or not an object, 422 field by field.

    Strictly: a number is a JSON number, not `false` nor `"1"`, a flag `true` or `false`,
    as the document says; dates and times stay JSON strings of their documented form.
    """
    try:
        document = json.loads(body or b"null", parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed(_l("The body is not valid JSON.")) from None
    if not isinstance(document, dict):
        raise Malformed(_l("The body must be a JSON object."))
    _refuse_nul(document, ())
    try:
        # JSON mode: strict there still reads a date from its string, as Python mode would not.
        return model.model_validate_json(body, strict=True)
    except ValidationError as error:
        if any(detail["type"] == "json_invalid" for detail in error.errors()):
            raise Malformed(_l("The body is not valid JSON.")) from None
        raise InvalidInput(fields=fields_of(error)) from None


# PostgreSQL's text cannot hold the NUL character: refused as any other invalid text.
_NUL_MESSAGE = _l("Text may not contain the NUL character.")


def _refuse_nul(value: object, location: tuple[int | str, ...]) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise InvalidInput(fields={field_path(location): _NUL_MESSAGE})
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(item, (*location, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, (*location, index))


def _no_constant(name: str) -> object:
    """NaN and Infinity are not JSON."""
    raise ValueError(name)


def parse_query(model: type[M], query: Mapping[str, str]) -> M:
    """Validate query parameters (strings) against `model`: 422 field by field."""
    for name, value in query.items():
        if "\x00" in value:
            raise InvalidInput(fields={name: _NUL_MESSAGE})
    try:
        return model.model_validate(dict(query))
    except ValidationError as error:
        raise InvalidInput(fields=fields_of(error)) from None


def day_query(query: Mapping[str, str], name: str) -> date | None:
    """A `YYYY-MM-DD` date from a page's query string (None when absent); a clear 400 for
    anything else, or a date out of the range the calendar arithmetic accepts."""
    text = query.get(name)
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or not EARLIEST <= day <= LATEST:
        raise Malformed(_l("This date is not valid: use the form YYYY-MM-DD."))
    return day
