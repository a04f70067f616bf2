"""Citizens, straight through `visio.services.citizens`.

Promised: the person the desk types is found, not duplicated, when their name (whatever
its case, accents or hyphens) comes with the same birth date, email or phone; a name
alone is not enough (namesakes are common in a village); what the desk typed anew is
kept; a house never reads nor changes a citizen only another house has booked; the
search offers the desk its own house's citizens only.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import MONIQUE, House, book, use_case
from visio.db.models import Citizen
from visio.services.citizens import (
    CitizenDetails,
    FoundCitizen,
    find_or_create_citizen,
    name_key,
    search_citizens,
)
from visio.services.errors import InvalidInput, NotAllowed
from visio.services.permissions import Actor
from visio.services.records import CitizenView

ELODIE = CitizenDetails(
    first_name="Élodie-Marie",
    last_name="Chassang",
    birth_date=date(1988, 11, 3),
    email="elodie.chassang@courriel.example",
    phone="0471200000",
    locale="fr",
)


async def find(
    session: AsyncSession, actor: Actor, details: CitizenDetails, clock: Clock
) -> FoundCitizen:
    return await find_or_create_citizen(session, actor, details, now=clock())


async def known_at_murat(session: AsyncSession, house: House, clock: Clock) -> CitizenView:
    """Élodie-Marie Chassang, booked once at Murat."""
    view = await book(session, house, clock, citizen=ELODIE)
    assert view.citizen is not None
    return view.citizen


async def citizens(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Citizen)) or 0)


async def row(session: AsyncSession, citizen_id: int) -> Citizen:
    found = await session.scalar(
        select(Citizen).where(Citizen.id == citizen_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


def test_names_are_folded_for_matching() -> None:
    assert name_key("Élodie-Marie  CHASSANG") == name_key("elodie marie chassang")
    assert name_key("N'Diaye") == name_key("n diaye")
    assert name_key("Chassang") != name_key("Chassaing")


@pytest.mark.parametrize(
    "typed",
    [
        CitizenDetails(first_name="ELODIE MARIE", last_name="chassang",
                       birth_date=date(1988, 11, 3)),
        CitizenDetails(first_name="elodie-marie", last_name="Chassang",
                       email="elodie.chassang@courriel.example"),
        CitizenDetails(first_name="Élodie Marie", last_name="CHASSANG", phone="0471200000"),
    ],
    ids=["birth date", "email", "phone"],
)  # fmt: skip
async def test_a_known_citizen_is_found_by_name_and_one_detail(
    session: AsyncSession, house: House, clock: Clock, typed: CitizenDetails
) -> None:
    known = await known_at_murat(session, house, clock)
    before = await citizens(session)

    found = await find(session, house.desk, typed, clock)

    assert found.known
    assert found.citizen.id == known.id
    # The record keeps its own spelling, and what the desk did not type.
    assert (found.citizen.first_name, found.citizen.last_name) == ("Élodie-Marie", "Chassang")
    assert found.citizen.email == ELODIE.email and found.citizen.phone == ELODIE.phone
    assert await citizens(session) == before


@pytest.mark.parametrize(
    "typed",
    [
        CitizenDetails(first_name="Élodie-Marie", last_name="Chassang"),
        CitizenDetails(
            first_name="Élodie-Marie", last_name="Chassang", birth_date=date(1990, 1, 1)
        ),
        CitizenDetails(first_name="Élodie", last_name="Chassang", birth_date=date(1988, 11, 3)),
        CitizenDetails(first_name="Élodie-Marie", last_name="Chassang", phone="0471999999"),
    ],
    ids=["name alone", "another birth date", "another first name", "another phone"],
)
async def test_a_namesake_is_another_person(
    session: AsyncSession, house: House, clock: Clock, typed: CitizenDetails
) -> None:
    known = await known_at_murat(session, house, clock)

    found = await find(session, house.desk, typed, clock)

    assert not found.known
    assert found.citizen.id != known.id
    assert (found.citizen.first_name, found.citizen.last_name) == (
        typed.first_name,
        typed.last_name,
    )
    stored = await row(session, found.citizen.id)
    assert (stored.first_name_key, stored.last_name_key) == (
        name_key(typed.first_name),
        name_key(typed.last_name),
    )


async def test_what_the_desk_types_anew_is_kept(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    known = await known_at_murat(session, house, clock)
    typed = CitizenDetails(
        first_name="Elodie-Marie", last_name="CHASSANG", birth_date=ELODIE.birth_date,
        email="elodie.c@nouveau.example", locale="en",
    )  # fmt: skip

    found = await find(session, house.desk, typed, clock)

    assert found.known and found.citizen.id == known.id
    assert (found.citizen.email, found.citizen.phone, found.citizen.locale) == (
        "elodie.c@nouveau.example",
        ELODIE.phone,
        "en",
    )
    stored = await row(session, known.id)
    assert (stored.email, stored.phone, stored.locale, stored.birth_date) == (
        "elodie.c@nouveau.example",
        ELODIE.phone,
        "en",
        ELODIE.birth_date,
    )


async def test_another_house_never_reads_nor_changes_the_citizen(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    known = await known_at_murat(session, house, clock)
    typed = CitizenDetails(
        first_name=ELODIE.first_name, last_name=ELODIE.last_name, birth_date=ELODIE.birth_date,
        email="quelqu.un@ailleurs.example",
    )  # fmt: skip

    found = await find(session, house.other_desk, typed, clock)

    assert not found.known
    assert found.citizen.id != known.id
    assert found.citizen.phone is None  # nothing of Murat's record leaks
    assert (await row(session, known.id)).email == ELODIE.email


async def test_a_record_is_picked_by_id_only_within_the_house(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    known = await known_at_murat(session, house, clock)
    picked = CitizenDetails(first_name="", last_name="", id=known.id)

    found = await find(session, house.desk, picked, clock)
    assert (found.known, found.citizen) == (True, known)

    before = await citizens(session)
    for actor, citizen_id in ((house.other_desk, known.id), (house.desk, known.id + 1000)):
        with pytest.raises(InvalidInput) as refused:
            async with use_case(session):
                await find(session, actor, CitizenDetails("", "", id=citizen_id), clock)
        assert set(refused.value.fields) == {"citizen.id"}
    assert await citizens(session) == before


async def test_an_admin_finds_the_citizen_of_any_house(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    known = await known_at_murat(session, house, clock)

    found = await find(session, house.admin, ELODIE, clock)

    assert (found.known, found.citizen.id) == (True, known.id)


async def test_an_erased_citizen_is_never_found_again(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    known = await known_at_murat(session, house, clock)
    await session.execute(update(Citizen).where(Citizen.id == known.id).values(erased_at=clock()))

    found = await find(session, house.desk, ELODIE, clock)
    with pytest.raises(InvalidInput):
        async with use_case(session):
            await find(session, house.desk, CitizenDetails("", "", id=known.id), clock)

    assert not found.known and found.citizen.id != known.id
    # Neither the erased record nor the new one, not booked yet, is offered.
    assert await search_citizens(session, house.desk, text="chassang") == []


@pytest.mark.parametrize("who", ["agent_actor", "coordinator"])
async def test_only_those_who_book_look_citizens_up(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    await known_at_murat(session, house, clock)
    actor: Actor = getattr(house, who)

    with pytest.raises(NotAllowed):
        await find(session, actor, ELODIE, clock)
    with pytest.raises(NotAllowed):
        await search_citizens(session, actor, text="chassang")


# ---------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("chas", ["Élodie-Marie", "Monique"]),
        ("CHASSANG", ["Élodie-Marie", "Monique"]),
        ("élodie", ["Élodie-Marie"]),
        ("elodie chas", ["Élodie-Marie"]),
        ("chassang mon", ["Monique"]),
        ("elodie.chassang@", ["Élodie-Marie"]),
        ("04 71 20", ["Élodie-Marie"]),
        ("rigal", []),
    ],
)
async def test_the_search_finds_the_house_citizens_as_the_desk_types(
    session: AsyncSession, house: House, clock: Clock, text: str, expected: list[str]
) -> None:
    await known_at_murat(session, house, clock)
    await book(session, house, clock, citizen=MONIQUE, agent=house.colleague)

    found = await search_citizens(session, house.desk, text=text)

    assert [citizen.first_name for citizen in found] == expected


async def test_the_search_orders_by_name_and_stays_in_scope(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    elodie = await known_at_murat(session, house, clock)
    monique = await book(session, house, clock, citizen=MONIQUE, agent=house.colleague)

    assert [c.first_name for c in await search_citizens(session, house.desk, text="chassang")] == [
        "Élodie-Marie",
        "Monique",
    ]
    assert await search_citizens(session, house.other_desk, text="chassang") == []
    assert await search_citizens(session, house.admin, text="chassang") == [
        elodie,
        monique.citizen,
    ]
    assert await search_citizens(session, house.desk, text="chassang", limit=1) == [elodie]
    for nothing in ("", "   ", "%", "_hassang"):
        assert await search_citizens(session, house.desk, text=nothing) == []
