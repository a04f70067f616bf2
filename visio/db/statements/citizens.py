"""Citizens: the match a booking looks for, the insert, and where a citizen is known."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import date
from typing import NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Exists,
    Select,
    String,
    bindparam,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.sql.dml import ReturningInsert

from visio.db.base import table
from visio.db.models import Appointment, Citizen
from visio.db.statements import shaped


class DetailsRow(NamedTuple):
    """What is read of a citizen."""

    id: int
    first_name: str
    last_name: str
    birth_date: date | None
    email: str | None
    phone: str | None
    locale: str


def details() -> Select[*DetailsRow]:
    """A citizen's details (add `.where(...)`); rows read as `DetailsRow._make(row)`."""
    query = select(
        Citizen.id.label("id"),
        Citizen.first_name.label("first_name"),
        Citizen.last_name.label("last_name"),
        Citizen.birth_date.label("birth_date"),
        Citizen.email.label("email"),
        Citizen.phone.label("phone"),
        Citizen.locale.label("locale"),
    )
    return shaped(query, DetailsRow._fields)


def booked_at(site_ids: Collection[int] | BindParameter[list[int]]) -> Exists:
    """SQL condition: the citizen has an appointment at one of `site_ids`. Checked per
    citizen through the appointments' citizen index, whatever the houses' history."""
    return (
        select(Appointment.id)
        .where(Appointment.citizen_id == Citizen.id, Appointment.site_id.in_(site_ids))
        .exists()
    )


def known_at(site_ids: frozenset[int] | None) -> ColumnElement[bool]:
    """SQL condition: citizens booked at one of `site_ids` (None: every citizen)."""
    return true() if site_ids is None else booked_at(sorted(site_ids))


@functools.cache
def match(*, scoped: bool) -> Select[*DetailsRow]:
    """The same name with the same birth date, email or phone: a detail the desk left
    out is bound as NULL, which matches nothing. Parameters: `first_key`, `last_key`,
    `birth_date`, `email`, `phone`, and `site_ids` when `scoped`."""
    query = details().where(
        Citizen.first_name_key == bindparam("first_key"),
        Citizen.last_name_key == bindparam("last_key"),
        or_(
            Citizen.birth_date == bindparam("birth_date", type_=Date),
            Citizen.email == bindparam("email", type_=String),
            Citizen.phone == bindparam("phone", type_=String),
        ),
        Citizen.erased_at.is_(None),
    )
    if scoped:
        query = query.where(booked_at(bindparam("site_ids", expanding=True)))
    return query.order_by(Citizen.id).limit(1)


@functools.cache
def insert_citizen() -> ReturningInsert[int]:
    """A new citizen, every column but the id bound by name (as `visio.db.direct` wants)."""
    citizens = table(Citizen)
    named = ("first_name", "last_name", "first_name_key", "last_name_key", "birth_date",
             "email", "phone", "locale", "created_at")  # fmt: skip
    values = {name: bindparam(name, type_=citizens.c[name].type) for name in named}
    return insert(citizens).values(values).returning(citizens.c.id)
