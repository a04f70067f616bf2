"""Citizens: finding the person already known instead of creating a duplicate."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.direct import direct
from visio.db.models import Citizen
from visio.db.statements import citizens as statements
from visio.db.statements.citizens import DetailsRow
from visio.i18n import lazy_gettext as _l
from visio.services.errors import InvalidInput, NotFound
from visio.services.permissions import Action, Actor, citizen_sites, require
from visio.services.records import CitizenView


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


@dataclass(frozen=True, slots=True)
class FoundCitizen:
    """The citizen of a booking, and whether visio knew them before it."""

    citizen: CitizenView
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
    # Booking is the desk's: the houses whose citizens they may look up are theirs.
    require(actor, Action.BOOK)
    known_at = citizen_sites(actor)
    connection = await session.connection()
    if details.id is not None:
        query = statements.details().where(
            Citizen.id == details.id, Citizen.erased_at.is_(None), statements.known_at(known_at)
        )
        picked = (await connection.execute(query)).one_or_none()
        if picked is None:
            raise InvalidInput(fields={"citizen.id": _l("Unknown citizen.")})
        return FoundCitizen(_view(picked), known=True)
    first_key, last_key = name_key(details.first_name), name_key(details.last_name)
    row = None
    if details.birth_date is not None or details.email or details.phone:
        row = (
            await connection.execute(
                statements.match(scoped=known_at is not None),
                {"first_key": first_key, "last_key": last_key, "birth_date": details.birth_date,
                 "email": details.email or None, "phone": details.phone or None,
                 "site_ids": sorted(known_at or ())},
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
        citizen_id = await direct(statements.insert_citizen()).scalar(connection, values)
        assert citizen_id is not None
        return FoundCitizen(
            CitizenView(citizen_id, details.first_name, details.last_name, details.birth_date,
                        details.email, details.phone, details.locale),
            known=False,
        )  # fmt: skip
    found = _view(row)
    # What the desk typed is the news: a new email or phone, a birth date, the language.
    current = CitizenView(
        found.id, found.first_name, found.last_name, details.birth_date or found.birth_date,
        details.email or found.email, details.phone or found.phone, details.locale,
    )  # fmt: skip
    if current != found:
        await connection.execute(
            update(Citizen)
            .where(Citizen.id == found.id)
            .values(birth_date=current.birth_date, email=current.email, phone=current.phone,
                    locale=current.locale)
        )  # fmt: skip
    return FoundCitizen(current, known=True)


def _view(row: Sequence[object]) -> CitizenView:
    """A row of `statements.details()` as the record (the same field names)."""
    return CitizenView(**DetailsRow._make(row)._asdict())


async def search_citizens(
    session: AsyncSession, actor: Actor, *, text: str, limit: int = 10
) -> list[CitizenView]:
    """Citizens already booked at the actor's sites whose name, email or phone starts with
    what the desk types: so the desk picks the record instead of typing a duplicate."""
    known_at = citizen_sites(actor)
    words = name_key(text).split()
    if not words:
        return []
    query = statements.details().where(Citizen.erased_at.is_(None))
    for word in words:
        query = query.where(
            or_(
                Citizen.last_name_key.startswith(word, autoescape=True),
                Citizen.first_name_key.startswith(word, autoescape=True),
                Citizen.email.startswith(text.strip().lower(), autoescape=True),
                Citizen.phone.startswith(text.replace(" ", ""), autoescape=True),
            )
        )
    query = query.where(statements.known_at(known_at))
    query = query.order_by(Citizen.last_name_key, Citizen.first_name_key).limit(limit)
    return [_view(row) for row in await session.execute(query)]


async def get_citizen(session: AsyncSession, actor: Actor, citizen_id: int) -> CitizenView:
    """A citizen known at the actor's houses (the desk picked them); `NotFound` else."""
    query = statements.details().where(
        Citizen.id == citizen_id,
        Citizen.erased_at.is_(None),
        statements.known_at(citizen_sites(actor)),
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        raise NotFound()
    return _view(row)
