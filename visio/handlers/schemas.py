"""Request and response models of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from visio.domain import AppointmentStatus, RequestChannel, Role
from visio.handlers.validation import EARLIEST, LATEST, field_error
from visio.scheduling.calendars import HOLIDAY_CALENDARS, is_valid_holiday_calendar

# How many days one slot search may span (API.md).
MAX_SEARCH_DAYS = 62

# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the SMTP
# server's call; this catches typing slips at the desk.
# No @, control character nor space in a part (written out: `\s` differs between the
# document's regular expressions and Python's).
_EMAIL_PART = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]+"
_EMAIL = rf"{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}"
# The document states the same check: an address without the spaces around it.
EMAIL_MAX_LENGTH = 254


def _check_email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > EMAIL_MAX_LENGTH or not re.fullmatch(_EMAIL, value):
        raise field_error("email")
    return value


Email = Annotated[
    str,
    AfterValidator(_check_email),
    WithJsonSchema(
        {"type": "string", "pattern": f"^{_EMAIL}$", "maxLength": EMAIL_MAX_LENGTH,
         "description": "An email address (one @, a dot in the domain); kept in lower case."}
    ),
]  # fmt: skip
# Something besides the spaces pydantic strips (Unicode's White_Space).
_NOT_BLANK = r"[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=160, pattern=_NOT_BLANK),
]
# A house's, a commune's, a station's or a citizen's name: their columns hold 120 characters.
ShortName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=_NOT_BLANK),
]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Locale = Literal["fr", "en"]


def _no_null_default(schema: dict[str, Any]) -> None:
    """A field that may be left out but not null (`NOT_NULL`) has no default to state."""
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None and "anyOf" not in field:
            del field["default"]


class Strict(BaseModel):
    """Requests refuse unknown fields: a typo must not pass silently."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_default)


class UserCreate(Strict):
    email: Email
    name: Name
    role: Role
    site_ids: list[Id] = Field(default_factory=list, max_length=500)
    agent_id: Id | None = None
    locale: Locale = "fr"
    password: (
        Annotated[
            str,
            StringConstraints(max_length=200),
            # The service asks for 10 characters at least (accounts.MIN_PASSWORD_LENGTH).
            WithJsonSchema({"type": "string", "minLength": 10, "maxLength": 200}),
        ]
        | None
    ) = None


class UserPatch(Strict):
    """An account's correction: only the fields given change; the role, houses and agent
    are checked together as at creation. `active` false disables the account."""

    name: Annotated[Name | None, NOT_NULL] = None
    email: Annotated[Email | None, NOT_NULL] = None
    role: Annotated[Role | None, NOT_NULL] = None
    site_ids: Annotated[list[Id] | None, NOT_NULL] = Field(default=None, max_length=500)
    agent_id: Id | None = None
    locale: Annotated[Locale | None, NOT_NULL] = None
    active: Annotated[bool | None, NOT_NULL] = None


class UserListQuery(Strict):
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = Field(
        default="", description="Part of the name or the email, letters' case aside."
    )
    role: Role | None = None
    site_id: Id | None = None
    state: Literal["active", "inactive", "all"] = Field(
        default="active", description="Active accounts (the default), disabled ones, or all."
    )
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int | None = Field(
        default=None, ge=1, le=1000,
        description="Accounts per page; none: all. X-Total-Count and Link say where a page "
        "stands.",
    )  # fmt: skip


class TokenCreate(Strict):
    label: Label = ""


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    database: Literal["ok", "unreachable"]
    schema_revision: str | None
    expected_revision: str
    reason: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, str] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---------------------------------------------------------------- set-up: sites, partners, agents


# IANA zone names of places ("CET", "EST"…: ambiguous abbreviations, not places, are
# refused), as the system's time zone database knows them; the document lists them.
TIMEZONES = sorted(name for name in available_timezones() if "/" in name or name == "UTC")
_TIMEZONE_SET = frozenset(TIMEZONES)


def _check_timezone(value: str) -> str:
    if value not in _TIMEZONE_SET:
        raise field_error("timezone")
    return value


def _check_holiday_calendar(value: str | None) -> str | None:
    if value is not None and not is_valid_holiday_calendar(value):
        raise field_error("holiday_calendar")
    return value


def _check_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("timezone_aware", "timezone_aware")
    if not EARLIEST <= value.date() <= LATEST:
        raise PydanticCustomError("out_of_range", "out_of_range")
    return value


def _check_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise PydanticCustomError("out_of_range", "out_of_range")
    return value


def _check_birth_date(value: date) -> date:
    if not date(1900, 1, 1) <= value <= LATEST:
        raise PydanticCustomError("out_of_range", "out_of_range")
    return value


# Six to fifteen digits, a + before them, spaces, dots, dashes and brackets between them.
_PHONE_SEPARATORS = r"[ .()-]"
_PHONE = rf"{_PHONE_SEPARATORS}*\+?(?:{_PHONE_SEPARATORS}*[0-9]){{6,15}}{_PHONE_SEPARATORS}*"


PHONE_MAX_LENGTH = 40


def _check_phone(value: str) -> str:
    if len(value) > PHONE_MAX_LENGTH or not re.fullmatch(_PHONE, value):
        raise field_error("phone")
    return re.sub(_PHONE_SEPARATORS, "", value)


def _whole_number(value: object, info: ValidationInfo) -> object:
    """A whole number of a JSON body is a JSON number, `3` or `3.0` (JSON Schema's integer),
    never `false` nor `"3"`; queries and forms, text by nature, are read as before."""
    if info.mode != "json":
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "int_type")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# After the bounds, so the document still states them.
WHOLE = BeforeValidator(_whole_number)


def _not_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("not_null", "not_null")
    return value


class _NotNull:
    """A correction's field that may be left out but not emptied: null is refused, and the
    document offers no null either."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # After the type's own validation: a validator before it would hand the type a
        # Python value, and strict JSON bodies would then refuse dates and enums as text.
        return core_schema.no_info_after_validator_function(_not_null, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        document = dict(handler(schema))
        choices = [choice for choice in document.pop("anyOf", []) if choice != {"type": "null"}]
        if len(choices) == 1:
            document.update(choices[0])
        elif choices:
            document["anyOf"] = choices
        return document


def _shaped(pattern: str, kind: str, parse: Callable[[str], object]) -> Any:
    """Text read as the document states it: refused unless of `pattern`, so pydantic's
    wider parsing (`2026-03-30 09:00`, a week date…) does not pass silently, then `parse`d
    here, as strict JSON bodies hand the type a Python value."""

    def check(value: object) -> object:
        if not isinstance(value, str):
            return value
        if not re.fullmatch(pattern, value):
            raise PydanticCustomError(kind, kind)
        try:
            return parse(value)
        except ValueError:
            raise PydanticCustomError(kind, kind) from None

    return BeforeValidator(check)


def _days_of(years: str, leap_years: str) -> str:
    """A pattern of the calendar's days in `years`, February 29 in `leap_years` only."""
    days = (
        r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
        r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    )
    return rf"(?:{years}-{days}|{leap_years}-02-29)"


# The days visio takes (EARLIEST to LATEST, validation.py), as the document states them
# (2000 is a leap year, 2100 is not).
_DAY = _days_of(r"(?:20[0-9]{2}|2100)", r"(?:20(?:[02468][048]|[13579][26]))")
_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_INSTANT = rf"{_DAY}T{_CLOCK}(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_WALL_CLOCK = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"

NOT_NULL = _NotNull()
Timezone = Annotated[
    str,
    AfterValidator(_check_timezone),
    WithJsonSchema({"type": "string", "enum": TIMEZONES, "description": "An IANA time zone."}),
]
HolidayCalendar = Annotated[
    str | None,
    AfterValidator(_check_holiday_calendar),
    WithJsonSchema(
        {"anyOf": [{"type": "string", "enum": sorted(code for code in HOLIDAY_CALENDARS if code)},
                   {"type": "null"}],
         "description": "null: metropolitan France; else a French subdivision's code."}
    ),
]  # fmt: skip
Instant = Annotated[
    datetime,
    _shaped(_INSTANT, "datetime_parsing", datetime.fromisoformat),
    AfterValidator(_check_aware),
    WithJsonSchema(
        {"type": "string", "pattern": f"^{_INSTANT}$",
         "description": "A date and time with its offset, years 2000 to 2100."}
    ),
]  # fmt: skip
Day = Annotated[
    date,
    _shaped(_DAY, "date_parsing", date.fromisoformat),
    AfterValidator(_check_date),
    WithJsonSchema(
        {"type": "string", "pattern": f"^{_DAY}$",
         "description": "A date YYYY-MM-DD, years 2000 to 2100."}
    ),
]  # fmt: skip
# A time of day on a wall clock, without an offset (the zone is the house's or the agent's).
WallClock = Annotated[
    time,
    _shaped(_WALL_CLOCK, "time_parsing", time.fromisoformat),
    WithJsonSchema({"type": "string", "pattern": f"^{_WALL_CLOCK}$", "description": "HH:MM"}),
]
_BIRTH_DAY = _days_of(
    r"(?:19[0-9]{2}|20[0-9]{2}|2100)",
    r"(?:19(?:0[48]|[2468][048]|[13579][26])|20(?:[02468][048]|[13579][26]))",
)
BirthDate = Annotated[
    date,
    _shaped(_BIRTH_DAY, "date_parsing", date.fromisoformat),
    AfterValidator(_check_birth_date),
    WithJsonSchema(
        {"type": "string", "pattern": f"^{_BIRTH_DAY}$",
         "description": "A date YYYY-MM-DD, years 1900 to 2100."}
    ),
]  # fmt: skip
# Ids are 32-bit integers in the database: anything larger is refused before it gets there.
Id = Annotated[int, Field(ge=1, le=2**31 - 1), WHOLE]
Phone = Annotated[
    str,
    AfterValidator(_check_phone),
    WithJsonSchema({"type": "string", "pattern": f"^{_PHONE}$", "maxLength": PHONE_MAX_LENGTH}),
]
Weekday = Annotated[int, Field(ge=1, le=7), WHOLE]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9_-]{2,32}$")
]


class TimeRange(Strict):
    """A wall-clock range; the end must come after the start."""

    start: WallClock
    end: WallClock

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise field_error("end_before_start")
        return end


class OpeningHoursIn(TimeRange):
    weekday: Weekday


class SiteCreate(Strict):
    name: ShortName
    commune: ShortName
    timezone: Timezone
    holiday_calendar: HolidayCalendar = None
    opening_hours: list[OpeningHoursIn] = Field(default_factory=list, max_length=50)
    address: ShortText = ""
    email: Email | None = None
    phone: Phone | None = None


class StationCreate(Strict):
    name: ShortName


class SitePatch(Strict):
    """A site's correction: only the fields given change, each checked as at creation;
    `opening_hours` given replace the week's; `active` false closes the house for good."""

    name: Annotated[ShortName | None, NOT_NULL] = None
    commune: Annotated[ShortName | None, NOT_NULL] = None
    timezone: Annotated[Timezone | None, NOT_NULL] = None
    holiday_calendar: HolidayCalendar = None
    opening_hours: Annotated[list[OpeningHoursIn] | None, NOT_NULL] = Field(
        default=None, max_length=50
    )
    address: Annotated[ShortText | None, NOT_NULL] = None
    email: Email | None = None
    phone: Phone | None = None
    active: Annotated[bool | None, NOT_NULL] = None


class StationPatch(Strict):
    name: Annotated[ShortName | None, NOT_NULL] = None
    active: Annotated[bool | None, NOT_NULL] = Field(
        default=None,
        description="false: out of service (bookings to come on it: 409 listing them, unless "
        "confirm=true sets them aside to rebook)",
    )


class ConfirmQuery(Strict):
    confirm: bool = Field(
        default=False,
        description="true: go on even though booked appointments lose their agent or station "
        "(they are then set aside to rebook, their citizens and agents told by email); "
        "without it such a change answers 409 would_strand_appointments, listing them.",
    )


class SiteListQuery(Strict):
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = Field(
        default="", description="Part of the name or the commune, letters' case aside."
    )
    state: Literal["active", "inactive", "all"] = Field(
        default="active", description="Open houses (the default), closed ones, or all."
    )
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int | None = Field(
        default=None, ge=1, le=1000,
        description="Sites per page; none: all. X-Total-Count and Link say where a page stands.",
    )  # fmt: skip


class PastQuery(Strict):
    past: bool = Field(default=False, description="Also those already over.")


class InstantRange(Strict):
    start: Instant
    end: Instant

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise field_error("end_before_start")
        return end


class ClosureCreate(InstantRange):
    reason: ShortText = ""
    station_id: Id | None = Field(
        default=None, description="Close only this station; none closes the whole site."
    )


class PartnerCreate(Strict):
    code: Code
    name: Name


class PartnerPatch(Strict):
    code: Annotated[Code | None, NOT_NULL] = None
    name: Annotated[Name | None, NOT_NULL] = None
    active: Annotated[bool | None, NOT_NULL] = Field(
        default=None, description="false: gone from the network (no new booking)"
    )


class PartnerListQuery(Strict):
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = Field(
        default="", description="Part of the code or the name, letters' case aside."
    )
    state: Literal["active", "inactive", "all"] = Field(
        default="active", description="Partners in the network (the default), gone, or all."
    )
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int | None = Field(
        default=None, ge=1, le=1000,
        description="Partners per page; none: all. X-Total-Count and Link say where a page "
        "stands.",
    )  # fmt: skip


Duration = Annotated[int, Field(ge=5, le=480), WHOLE]
Buffer = Annotated[int, Field(ge=0, le=240), WHOLE]
Notice = Annotated[int, Field(ge=0, le=60 * 24 * 30), WHOLE]
Horizon = Annotated[int, Field(ge=1, le=730), WHOLE]
Documents = Annotated[
    list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]],
    Field(max_length=30),
]
Instructions = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ReminderOffsets = Annotated[
    list[Annotated[int, Field(ge=5, le=60 * 24 * 14), WHOLE]], Field(max_length=5)
]


class MotiveCreate(Strict):
    name: Name
    duration_minutes: Duration
    slot_step_minutes: Duration | None = None
    buffer_before_minutes: Buffer = 0
    buffer_after_minutes: Buffer = 0
    min_notice_minutes: Notice = 60
    horizon_days: Horizon = 60
    documents: Documents = Field(default_factory=list)
    instructions: Instructions = ""
    reminder_offsets_minutes: ReminderOffsets = Field(default_factory=lambda: [1440, 60])


class MotivePatch(Strict):
    """A motive's correction: only the fields given change, each checked as at creation;
    bookings already made keep their times. `active` false retires it."""

    name: Annotated[Name | None, NOT_NULL] = None
    duration_minutes: Annotated[Duration | None, NOT_NULL] = None
    slot_step_minutes: Duration | None = None
    buffer_before_minutes: Annotated[Buffer | None, NOT_NULL] = None
    buffer_after_minutes: Annotated[Buffer | None, NOT_NULL] = None
    min_notice_minutes: Annotated[Notice | None, NOT_NULL] = None
    horizon_days: Annotated[Horizon | None, NOT_NULL] = None
    documents: Annotated[Documents | None, NOT_NULL] = None
    instructions: Annotated[Instructions | None, NOT_NULL] = None
    reminder_offsets_minutes: Annotated[ReminderOffsets | None, NOT_NULL] = None
    active: Annotated[bool | None, NOT_NULL] = None


class AgentCreate(Strict):
    partner_id: Id
    name: Name
    email: Email
    timezone: Timezone
    locale: Locale = "fr"


class AgentPatch(Strict):
    name: Annotated[Name | None, NOT_NULL] = None
    email: Annotated[Email | None, NOT_NULL] = None
    timezone: Annotated[Timezone | None, NOT_NULL] = None
    locale: Annotated[Locale | None, NOT_NULL] = None
    active: Annotated[bool | None, NOT_NULL] = Field(
        default=None,
        description="false: left (appointments with them to come: 409 listing them, unless "
        "confirm=true sets them aside to rebook)",
    )


class AgentListQuery(Strict):
    partner_id: Id | None = None
    site_id: Id | None = Field(default=None, description="Agents whose permanences serve it.")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = Field(
        default="", description="Part of the name or the email, letters' case aside."
    )
    state: Literal["active", "inactive", "all"] = Field(
        default="active", description="Agents still working (the default), gone, or all."
    )
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int | None = Field(
        default=None, ge=1, le=1000,
        description="Agents per page; none: all. X-Total-Count and Link say where a page stands.",
    )  # fmt: skip


class RuleCreate(TimeRange):
    weekdays: list[Weekday] = Field(
        min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}
    )
    every_weeks: Annotated[int, Field(ge=1, le=8), WHOLE] = 1
    anchor_date: Day | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None
    site_ids: list[Id] | None = Field(default=None, max_length=500)
    motive_ids: list[Id] | None = Field(default=None, max_length=500)

    @field_validator("weekdays")
    @classmethod
    def _distinct(cls, weekdays: list[int]) -> list[int]:
        if len(set(weekdays)) != len(weekdays):
            raise field_error("unique_items")
        return sorted(weekdays)

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, until: date | None, info: ValidationInfo) -> date | None:
        valid_from = info.data.get("valid_from")
        if until is not None and valid_from is not None and until < valid_from:
            raise PydanticCustomError("valid_until_before_from", "valid_until_before_from")
        return until


class RulePatch(Strict):
    """A permanence's correction: only the fields given change; the result is checked as
    at creation (hours and validity in order, no overlap with the agent's others)."""

    weekdays: Annotated[list[Weekday] | None, NOT_NULL] = Field(
        default=None, min_length=1, max_length=7, json_schema_extra={"uniqueItems": True}
    )
    start: Annotated[WallClock | None, NOT_NULL] = None
    end: Annotated[WallClock | None, NOT_NULL] = None
    every_weeks: Annotated[Annotated[int, Field(ge=1, le=8), WHOLE] | None, NOT_NULL] = None
    anchor_date: Day | None = None
    valid_from: Day | None = None
    valid_until: Day | None = None
    site_ids: list[Id] | None = Field(default=None, max_length=500, description="null: every house")
    motive_ids: list[Id] | None = Field(
        default=None, max_length=500, description="null: every motive of the partner"
    )

    @field_validator("weekdays")
    @classmethod
    def _distinct(cls, weekdays: list[int] | None) -> list[int] | None:
        if weekdays is not None and len(set(weekdays)) != len(weekdays):
            raise field_error("unique_items")
        return sorted(weekdays) if weekdays is not None else None


class AbsenceCreate(InstantRange):
    reason: ShortText = ""


# ---------------------------------------------------------------- slots


class SlotQuery(Strict):
    site_id: Id
    motive_id: Id
    from_: Day = Field(alias="from", description="First site-local day, YYYY-MM-DD")
    to: Day = Field(description="Last site-local day (inclusive), at most 62 days after `from`")
    agent_id: Id | None = None
    agent: Literal["any"] | None = Field(
        default=None,
        description="`any`: one row per start time at which some agent is free, with how "
        "many (`agents_free`), instead of one row per free agent; not with `agent_id`.",
    )

    @field_validator("to")
    @classmethod
    def _span(cls, to: date, info: ValidationInfo) -> date:
        first = info.data.get("from_")
        if first is not None:
            if to < first:
                raise PydanticCustomError("to_before_from", "to_before_from")
            if (to - first).days > MAX_SEARCH_DAYS:
                raise PydanticCustomError(
                    "range_too_long", "range_too_long", {"days": MAX_SEARCH_DAYS}
                )
        return to


class FirstSlotQuery(Strict):
    motive_id: Id
    site_id: Id | None = None


class SlotOut(BaseModel):
    start: datetime
    end: datetime
    agent_id: Id
    station_id: Id


class SlotsOut(BaseModel):
    site_id: Id
    timezone: str
    slots: list[SlotOut]
    reason_code: Literal["no_station", "no_agent", "no_opening_hours", "all_taken"] | None = None
    reason: str | None = Field(
        default=None, description="Why there is no slot, for the desk agent to read."
    )


class FreeTimeOut(BaseModel):
    start: datetime
    end: datetime
    station_id: Id
    agents_free: int = Field(description="How many agents are free at that time (at least 1).")


class FreeTimesOut(BaseModel):
    site_id: Id
    timezone: str
    slots: list[FreeTimeOut]
    reason_code: Literal["no_station", "no_agent", "no_opening_hours", "all_taken"] | None = None
    reason: str | None = Field(
        default=None, description="Why there is no free time, for the desk agent to read."
    )


class FirstSlotsOut(BaseModel):
    sites: list[SlotsOut] = Field(
        description="Per site of the caller's scope, its earliest free slot, earliest first."
    )


# ---------------------------------------------------------------- appointments


class CitizenIn(Strict):
    first_name: ShortName
    last_name: ShortName
    birth_date: BirthDate | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale = "fr"
    id: Id | None = Field(
        default=None, description="A citizen already known (from GET /api/v1/citizens)."
    )


class AppointmentCreate(Strict):
    site_id: Id
    motive_id: Id
    start: Instant
    agent_id: Id | None = None
    station_id: Id | None = None
    citizen: CitizenIn


class AppointmentQuery(Strict):
    site_id: Id | None = None
    agent_id: Id | None = None
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None
    status: list[AppointmentStatus] | None = Field(
        default=None, description="One status, or several separated by commas."
    )
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int = Field(
        default=500, ge=1, le=1000,
        description="Appointments per page. The answer's X-Total-Count header gives how many "
        "there are in all, and its Link header the next and previous pages.",
    )  # fmt: skip

    @field_validator("status", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _ordered(cls, to: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("from_")
        if to is not None and first is not None and to < first:
            raise PydanticCustomError("to_before_from", "to_before_from")
        return to


class CancelIn(Strict):
    reason: ShortText = ""


class RescheduleIn(Strict):
    start: Instant
    agent_id: Id | None = None
    station_id: Id | None = None


class OutcomeIn(Strict):
    status: Literal["held", "no_show", "agent_absent"]
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class JoinQuery(Strict):
    as_: Literal["station", "agent"] = Field(alias="as")


class JoinOut(BaseModel):
    url: str
    room: str
    jwt: str | None
    not_before: datetime
    expires: datetime
    state: Literal["too_early", "open", "over"] = Field(
        description="Whether the join button should be active now."
    )


class CitizenSearch(Strict):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=120)]


class CalendarFeedOut(BaseModel):
    url: str = Field(description="The webcal:// address to subscribe to; shown once.")
    https_url: str


# ---------------------------------------------------------------- statistics


class StatsQuery(Strict):
    from_: Day | None = Field(default=None, alias="from", description="First house-local day")
    to: Day | None = Field(default=None, description="Last house-local day (inclusive)")
    site_id: Id | None = None
    partner_id: Id | None = None
    format: Literal["json", "csv"] = Field(
        default="json", description="csv: UTF-8 with a byte order mark, as Excel reads it"
    )
    sep: Literal["comma", "semicolon"] = Field(
        default="comma", description="The CSV separator (semicolon for Excel in French)"
    )

    @field_validator("group_by", mode="before", check_fields=False)
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip(" ") for part in value.split(",") if part.strip(" ")]
        return value


def _groupings(*keys: str) -> Any:
    """`group_by` as the document states it: keys separated by commas (spaces allowed)."""
    key = "(?:" + "|".join(keys) + ")"
    part = rf" *(?:{key} *)?"
    return WithJsonSchema({"type": "string", "pattern": f"^{part}(?:,{part})*$"})


class SessionStatsQuery(StatsQuery):
    group_by: Annotated[
        list[str], _groupings("year", "month", "week", "day", "site", "partner", "motive", "agent")
    ] = Field(
        default_factory=list,
        description="Any of year, month, week, day, site, partner, motive, agent, separated "
        "by commas; none: one row for everything.",
    )


class CrossTabQuery(Strict):
    year: int = Field(ge=2000, le=2100)
    status: AppointmentStatus = Field(
        default=AppointmentStatus.HELD, description="Which appointments: held are the sessions"
    )
    partner_id: Id | None = None
    format: Literal["json", "csv"] = "json"
    sep: Literal["comma", "semicolon"] = "comma"


class CrossTabRow(BaseModel):
    site_id: Id
    site_name: str
    months: list[int] = Field(description="January to December")
    total: int


class CrossTabOut(BaseModel):
    year: int
    status: AppointmentStatus
    rows: list[CrossTabRow]


class DeskStatsQuery(StatsQuery):
    group_by: Annotated[
        list[str], _groupings("year", "month", "week", "day", "site", "partner", "theme", "channel")
    ] = Field(
        default_factory=list,
        description="Any of year, month, week, day, site, partner, theme, channel, separated "
        "by commas; none: one row for everything.",
    )


class StatsKeys(BaseModel):
    """A group's period and house keys, those asked for (each house's own calendar)."""

    year: int | None = None
    month: str | None = Field(default=None, description="YYYY-MM")
    week: str | None = Field(default=None, description="ISO week, YYYY-Www")
    day: date | None = None
    site_id: Id | None = None
    site_name: str | None = None


class SessionStatsRow(StatsKeys):
    """One group: its keys (those asked for), then the counts by status."""

    partner_id: Id | None = None
    partner_name: str | None = None
    motive_id: Id | None = None
    motive_name: str | None = None
    agent_id: Id | None = None
    agent_name: str | None = None
    held: int
    no_show: int
    agent_absent: int
    cancelled: int
    booked: int
    minutes: int = Field(description="Booked minutes of the appointments not cancelled")


class SessionStatsOut(BaseModel):
    rows: list[SessionStatsRow]


class DeskStatsRow(StatsKeys):
    """One group: its keys (those asked for), then the counts."""

    partner_id: Id | None = Field(default=None, description="None: no partner in particular")
    partner_name: str | None = None
    theme_id: Id | None = None
    theme_name: str | None = Field(default=None, description="In the caller's language")
    channel: RequestChannel | None = None
    count: int = Field(description="Requests")
    accompanied: int = Field(description="Requests where the person was accompanied")
    new_people: int = Field(description="Requests from people first seen this year")
    people_accompanied: int = Field(description="People accompanied, each once a year")
    opening_days: int = Field(description="Days the group's houses opened in its period")
    per_opening_day: float | None = Field(
        default=None,
        description="Requests per opening day; absent when the group's houses never opened",
    )


class DeskStatsOut(BaseModel):
    rows: list[DeskStatsRow]


class DeskRequestCreate(Strict):
    """One request at the desk, counts only: never who asked."""

    site_id: Id
    partner_id: Id | None = Field(default=None, description="None: no partner in particular")
    theme_id: Id | None = Field(default=None, description="Required unless kind is given")
    kind: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)] | None = Field(
        default=None, description="What it was about, in a few words"
    )
    channel: RequestChannel
    accompanied: bool = False
    new_person: bool = Field(default=False, description="First time this year at the house")


class ThemeCreate(Strict):
    code: Code
    name: Label = Field(description="In French")
    name_en: Label


class ThemeChange(Strict):
    name: Label | None = None
    name_en: Label | None = None
    position: Annotated[int, Field(ge=1, le=1000), WHOLE] | None = None
    active: bool | None = None


class AuditQuery(Strict):
    who: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = Field(
        default="", description="Part of the name or the email of who made the change."
    )
    user_id: Id | None = Field(default=None, description="The changes of this account.")
    action: Annotated[str, StringConstraints(strip_whitespace=True, max_length=60)] = Field(
        default="", description="An action (agent.change), or its first part (agent: all of them)."
    )
    entity: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = Field(
        default="", description="The kind of record changed: site, agent, user, appointment…"
    )
    entity_id: Id | None = None
    from_: Day | None = Field(
        default=None, alias="from", description="From this day (VISIO_DEFAULT_TIMEZONE's clock)."
    )
    to: Day | None = Field(default=None, description="To this day, included.")
    page: int = Field(default=1, ge=1, le=1_000_000, description="The page wanted, from 1.")
    limit: int = Field(
        default=50, ge=1, le=1000,
        description="Entries per page, the newest first. X-Total-Count and Link say where a "
        "page stands.",
    )  # fmt: skip

    @field_validator("to")
    @classmethod
    def _ordered(cls, to: date | None, info: ValidationInfo) -> date | None:
        first = info.data.get("from_")
        if to is not None and first is not None and to < first:
            raise PydanticCustomError("to_before_from", "to_before_from")
        return to
