"""Citizens: finding the person already known instead of creating a duplicate."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, String, bindparam, insert, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.base import table
from visio.db.models import Appointment, Citizen, Role
from visio.i18n import lazy_gettext as _l
from visio.services.accounts import Actor
from visio.services.errors import InvalidInput, NotAllowed


def name_key(name: str) -> str:
    """A name folded for matching: case, accents, hyphens and extra spaces ignored.

    "Élodie-Marie  CHASSANG" and "elodie marie chassang" give the same key.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    for separator in "-'’.":
        letters = letters.replace(separator, " ")
    return " ".join(letters.split())


@dataclass(frozen=True, slots=True)
class CitizenDetails:
    """What the desk types about the citizen; `id` picks a record already known."""

    first_name: str
    last_name: str
    birth_date: date | None = None
    email: str | None = None
    phone: str | None = None
    locale: str = "fr"
    id: int | None = None


def known_here(actor: Actor) -> Any:
    """SQL condition: citizens this actor's sites have booked (admins: every citizen).

    Citizen data stays where it is needed: a house neither reads nor changes the records
    of people only another house has seen.
    """
    if actor.is_admin:
        return true()
    return _booked_at(list(actor.site_ids))


# What a booking reads of a citizen found again.
_DETAILS = (
    Citizen.id,
    Citizen.first_name,
    Citizen.last_name,
    Citizen.birth_date,
    Citizen.email,
    Citizen.phone,
    Citizen.locale,
)


@dataclass(frozen=True, slots=True)
class FoundCitizen:
    """The citizen of a booking, and whether visio knew them before it."""

    citizen: Citizen
    known: bool


async def find_or_create_citizen(
    session: AsyncSession, actor: Actor, details: CitizenDetails, *, now: datetime
) -> FoundCitizen:
    """The citizen the desk means: the record picked by id, else one already known at the
    actor's sites under the same name with the same birth date, email or phone (the same
    name alone is not enough: namesakes are common in a village); else a new one.

    A match is updated with what the desk typed (a new email or phone), so the record
    stays current without a second copy of the person. Plain statements, no ORM unit of
    work: this runs for every booking. The record returned is a detached copy.
    """
    if details.id is not None:
        row = (
            await session.execute(
                select(*_DETAILS).where(
                    Citizen.id == details.id, Citizen.erased_at.is_(None), known_here(actor)
                )
            )
        ).one_or_none()
        if row is None:
            raise InvalidInput(fields={"citizen.id": _l("Unknown citizen.")})
        return FoundCitizen(_detached(*row), known=True)
    first_key, last_key = name_key(details.first_name), name_key(details.last_name)
    connection = await session.connection()
    row = None
    if details.birth_date is not None or details.email or details.phone:
        row = (
            await connection.execute(
                _match_statement(scoped=not actor.is_admin),
                {"first_key": first_key, "last_key": last_key, "birth_date": details.birth_date,
                 "email": details.email or None, "phone": details.phone or None,
                 "site_ids": list(actor.site_ids)},
            )
        ).first()  # fmt: skip
    if row is None:
        values = {
            "first_name": details.first_name,
            "last_name": details.last_name,
            "first_name_key": first_key,
            "last_name_key": last_key,
            "birth_date": details.birth_date,
            "email": details.email,
            "phone": details.phone,
            "locale": details.locale,
            "created_at": now,
        }
        citizen_id = await connection.scalar(_insert_statement(), values)
        assert citizen_id is not None
        return FoundCitizen(
            _detached(citizen_id, details.first_name, details.last_name, details.birth_date,
                      details.email, details.phone, details.locale),
            known=False,
        )  # fmt: skip
    citizen_id, first_name, last_name, birth_date, email, phone, locale = row
    known = (birth_date, email, phone, locale)
    birth_date = details.birth_date or birth_date
    email, phone, locale = details.email or email, details.phone or phone, details.locale
    if (birth_date, email, phone, locale) != known:
        await connection.execute(
            update(Citizen)
            .where(Citizen.id == citizen_id)
            .values(birth_date=birth_date, email=email, phone=phone, locale=locale)
        )
    return FoundCitizen(
        _detached(citizen_id, first_name, last_name, birth_date, email, phone, locale),
        known=True,
    )


@functools.cache
def _match_statement(*, scoped: bool) -> Any:
    """The same name with the same birth date, email or phone: a detail the desk left
    out is bound as NULL, which matches nothing."""
    query = select(*_DETAILS).where(
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
        query = query.where(_booked_at(bindparam("site_ids", expanding=True)))
    return query.order_by(Citizen.id).limit(1)


def _booked_at(site_ids: Any) -> Any:
    """SQL condition: the citizen has an appointment at one of `site_ids`. Checked per
    citizen through the appointments' citizen index, whatever the houses' history."""
    return (
        select(Appointment.id)
        .where(Appointment.citizen_id == Citizen.id, Appointment.site_id.in_(site_ids))
        .exists()
    )


@functools.cache
def _insert_statement() -> Any:
    citizens = table(Citizen)
    return insert(citizens).returning(citizens.c.id)


def _detached(
    citizen_id: int,
    first_name: str,
    last_name: str,
    birth_date: date | None,
    email: str | None,
    phone: str | None,
    locale: str,
) -> Citizen:
    return Citizen(
        id=citizen_id, first_name=first_name, last_name=last_name, birth_date=birth_date,
        email=email, phone=phone, locale=locale, erased_at=None,
    )  # fmt: skip


async def search_citizens(
    session: AsyncSession, actor: Actor, *, text: str, limit: int = 10
) -> list[Citizen]:
    """Citizens already booked at the actor's sites whose name, email or phone starts with
    what the desk types: so the desk picks the record instead of typing a duplicate."""
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    words = name_key(text).split()
    if not words:
        return []
    query = select(Citizen).where(Citizen.erased_at.is_(None))
    for word in words:
        query = query.where(
            or_(
                Citizen.last_name_key.startswith(word, autoescape=True),
                Citizen.first_name_key.startswith(word, autoescape=True),
                Citizen.email.startswith(text.strip().lower(), autoescape=True),
                Citizen.phone.startswith(text.replace(" ", ""), autoescape=True),
            )
        )
    query = query.where(known_here(actor))
    query = query.order_by(Citizen.last_name_key, Citizen.first_name_key).limit(limit)
    return list((await session.scalars(query)).all())
