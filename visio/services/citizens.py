"""Citizens: finding the person already known instead of creating a duplicate."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

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
    booked_here = select(Appointment.citizen_id).where(
        Appointment.site_id.in_(actor.site_ids), Appointment.citizen_id.is_not(None)
    )
    return Citizen.id.in_(booked_here)


async def find_or_create_citizen(
    session: AsyncSession, actor: Actor, details: CitizenDetails, *, now: datetime
) -> Citizen:
    """The citizen the desk means: the record picked by id, else one already known at the
    actor's sites under the same name with the same birth date, email or phone (the same
    name alone is not enough: namesakes are common in a village); else a new one.

    A match is updated with what the desk typed (a new email or phone), so the record
    stays current without a second copy of the person.
    """
    if details.id is not None:
        citizen = await session.scalar(
            select(Citizen).where(
                Citizen.id == details.id, Citizen.erased_at.is_(None), known_here(actor)
            )
        )
        if citizen is None:
            raise InvalidInput(fields={"citizen.id": _l("Unknown citizen.")})
        return citizen
    first_key, last_key = name_key(details.first_name), name_key(details.last_name)
    same_name = and_(Citizen.first_name_key == first_key, Citizen.last_name_key == last_key)
    conditions = []
    if details.birth_date is not None:
        conditions.append(and_(same_name, Citizen.birth_date == details.birth_date))
    if details.email:
        conditions.append(and_(same_name, Citizen.email == details.email))
    if details.phone:
        conditions.append(and_(same_name, Citizen.phone == details.phone))
    citizen = None
    if conditions:
        citizen = await session.scalar(
            select(Citizen)
            .where(or_(*conditions), Citizen.erased_at.is_(None), known_here(actor))
            .order_by(Citizen.id)
            .limit(1)
        )
    if citizen is None:
        citizen = Citizen(
            first_name=details.first_name,
            last_name=details.last_name,
            first_name_key=first_key,
            last_name_key=last_key,
            birth_date=details.birth_date,
            email=details.email,
            phone=details.phone,
            locale=details.locale,
            created_at=now,
        )
        session.add(citizen)
    else:
        citizen.email = details.email or citizen.email
        citizen.phone = details.phone or citizen.phone
        citizen.birth_date = details.birth_date or citizen.birth_date
        citizen.locale = details.locale
    await session.flush()
    return citizen


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
