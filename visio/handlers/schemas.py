"""Request and response models of the JSON API; the OpenAPI document is generated from them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from visio.db.models import Role
from visio.handlers.validation import field_error

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
    site_ids: list[int] = Field(default_factory=list, max_length=500)
    agent_id: int | None = None
    locale: Locale = "fr"
    password: Annotated[str, StringConstraints(max_length=200)] | None = None


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    site_ids: list[int]
    agent_id: int | None
    locale: str
    active: bool
    created_at: datetime


class TokenCreate(Strict):
    label: Label = ""


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="The bearer token; shown once, only its hash is kept.")
    prefix: str
    label: str
    created_at: datetime


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
