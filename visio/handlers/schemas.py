"""Request and response models of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from visio.domain import AppointmentStatus, RequestChannel, Role
from visio.handlers.validation import EARLIEST, LATEST, field_error
from visio.scheduling.calendars import is_valid_holiday_calendar

# How many days one slot search may span (API.md).
MAX_SEARCH_DAYS = 62

# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the SMTP
# server's call; this catches typing slips at the desk.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise field_error("email")
    return value


Email = Annotated[str, AfterValidator(_check_email)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=160)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Locale = Literal["fr", "en"]


class Strict(BaseModel):
    """Requests refuse unknown fields: a typo must not pass silently."""

    model_config = ConfigDict(extra="forbid")


class UserCreate(Strict):
    email: Email
    name: Name
    role: Role
    site_ids: list[Id] = Field(default_factory=list, max_length=500)
    agent_id: Id | None = None
    locale: Locale = "fr"
    password: Annotated[str, StringConstraints(max_length=200)] | None = None


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


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_error("timezone") from None
    if "/" not in value and value != "UTC":
        raise field_error("timezone")  # "CET", "EST"…: ambiguous abbreviations, not places
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


def _check_phone(value: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", value)
    if not re.fullmatch(r"\+?\d{6,15}", digits):
        raise field_error("phone")
    return digits


def _not_null(value: object) -> object:
    if value is None:
        raise PydanticCustomError("not_null", "not_null")
    return value


# A correction's field that may be left out but not emptied: null is refused.
NOT_NULL = BeforeValidator(_not_null)
Timezone = Annotated[str, AfterValidator(_check_timezone)]
HolidayCalendar = Annotated[str | None, AfterValidator(_check_holiday_calendar)]
Instant = Annotated[datetime, AfterValidator(_check_aware)]
Day = Annotated[date, AfterValidator(_check_date)]
BirthDate = Annotated[date, AfterValidator(_check_birth_date)]
# Ids are 32-bit integers in the database: anything larger is refused before it gets there.
Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Phone = Annotated[str, AfterValidator(_check_phone)]
Weekday = Annotated[int, Field(ge=1, le=7)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z0-9_-]{2,32}$")
]


class TimeRange(Strict):
    """A wall-clock range; the end must come after the start."""

    start: time
    end: time

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
    name: Name
    commune: Name
    timezone: Timezone
    holiday_calendar: HolidayCalendar = None
    opening_hours: list[OpeningHoursIn] = Field(default_factory=list, max_length=50)
    address: ShortText = ""
    email: Email | None = None
    phone: Phone | None = None


class StationCreate(Strict):
    name: Name


class SitePatch(Strict):
    """A site's correction: only the fields given change, each checked as at creation;
    `opening_hours` given replace the week's; `active` false closes the house for good."""

    name: Annotated[Name | None, NOT_NULL] = None
    commune: Annotated[Name | None, NOT_NULL] = None
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
    name: Annotated[Name | None, NOT_NULL] = None
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


Duration = Annotated[int, Field(ge=5, le=480)]
Buffer = Annotated[int, Field(ge=0, le=240)]
Notice = Annotated[int, Field(ge=0, le=60 * 24 * 30)]
Horizon = Annotated[int, Field(ge=1, le=730)]
Documents = Annotated[
    list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]],
    Field(max_length=30),
]
Instructions = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ReminderOffsets = Annotated[list[Annotated[int, Field(ge=5, le=60 * 24 * 14)]], Field(max_length=5)]


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
    weekdays: list[Weekday] = Field(min_length=1, max_length=7)
    every_weeks: int = Field(default=1, ge=1, le=8)
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
        default=None, min_length=1, max_length=7
    )
    start: Annotated[time | None, NOT_NULL] = None
    end: Annotated[time | None, NOT_NULL] = None
    every_weeks: Annotated[int | None, NOT_NULL] = Field(default=None, ge=1, le=8)
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
    first_name: Name
    last_name: Name
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
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class SessionStatsQuery(StatsQuery):
    group_by: list[str] = Field(
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
    group_by: list[str] = Field(
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
    per_opening_day: float | None = Field(description="Requests per opening day")


class DeskStatsOut(BaseModel):
    rows: list[DeskStatsRow]


class DeskRequestCreate(Strict):
    """One request at the desk, counts only: never who asked."""

    site_id: Id
    partner_id: Id | None = Field(default=None, description="None: no partner in particular")
    theme_id: Id | None = Field(default=None, description="Required unless kind is given")
    kind: Label | None = Field(default=None, description="What it was about, in a few words")
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
    position: int | None = Field(default=None, ge=1, le=1000)
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
