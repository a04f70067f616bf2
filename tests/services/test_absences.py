"""A partner agent's own absences, straight through `visio.services.absences`.

Promised: an agent lists, adds and takes back their own absences (someone else's do not
exist for them); an absence over booked appointments is saved only on a second, explicit
yes, and those appointments stay booked and listed; one under way cannot be taken back;
a refused absence writes nothing; while away, nobody can book them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import JEAN, LINKS, TUESDAY, House, book, paris, use_case
from visio.db.models import Absence, AuditEntry
from visio.domain import AppointmentStatus
from visio.scheduling.calendars import time_zone
from visio.services import absences, slots
from visio.services.absences import WouldHit
from visio.services.errors import Conflict, InvalidInput, NotAllowed, NotFound


async def absence_count(session: AsyncSession) -> int:
    await session.flush()
    return int(await session.scalar(select(func.count()).select_from(Absence)) or 0)


async def test_an_agent_adds_lists_and_takes_back_an_absence(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    saved = await absences.add_own_absence(
        session, house.agent_actor, start=paris(9), end=paris(12), reason=" Formation ",
        confirm=False, links=LINKS, now=clock(),
    )  # fmt: skip

    found = await absences.own_absences(session, house.agent_actor, now=clock())
    assert [(view.id, view.start, view.end, view.reason) for view in found.absences] == [
        (saved.id, paris(9), paris(12), "Formation")
    ]
    assert found.timezone == "Europe/Paris" and found.hit == ()
    assert (await absences.own_absences(session, house.colleague_actor, now=clock())).absences == ()

    await absences.remove_own_absence(session, house.agent_actor, saved.id, now=clock())
    assert (await absences.own_absences(session, house.agent_actor, now=clock())).absences == ()
    await session.flush()
    actions = (
        await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "agent"))
    ).all()
    assert {"absence.create", "absence.delete"} <= set(actions)


async def test_while_away_nobody_can_book_the_agent(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await absences.add_own_absence(
        session, house.agent_actor, start=paris(9), end=paris(12), reason="", confirm=False,
        links=LINKS, now=clock(),
    )  # fmt: skip
    found = await slots.search_slots(
        session, house.desk, site_id=house.site.id, motive_id=house.motive.id,
        first_day=TUESDAY, last_day=TUESDAY, now=clock(),
    )  # fmt: skip
    assert found.slots and {slot.agent_id for slot in found.slots} == {house.colleague.id}


async def test_an_absence_over_booked_appointments_needs_a_second_yes(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(session, house, clock, agent=house.agent)
    second = await book(session, house, clock, agent=house.agent, start=paris(11), citizen=JEAN)
    await book(session, house, clock, agent=house.colleague, start=paris(10, 30))

    # The agent's appointments it falls on, shown before anything is saved.
    hit = await absences.hit_by(
        session, house.agent_actor, start=paris(0), end=paris(23), now=clock()
    )
    assert [view.id for view in hit] == [first.id, second.id]

    before = await absence_count(session)
    with pytest.raises(WouldHit) as refused:
        async with use_case(session):
            await absences.add_own_absence(
                session, house.agent_actor, start=paris(0), end=paris(23), reason="Malade",
                confirm=False, links=LINKS, now=clock(),
            )  # fmt: skip
    assert [view.id for view in refused.value.hit] == [first.id, second.id]
    assert refused.value.extra == {"appointments": [first.id, second.id]}
    assert await absence_count(session) == before

    await absences.add_own_absence(
        session, house.agent_actor, start=paris(0), end=paris(23), reason="Malade",
        confirm=True, links=LINKS, now=clock(),
    )  # fmt: skip
    found = await absences.own_absences(session, house.agent_actor, now=clock())
    assert [view.id for view in found.hit] == [first.id, second.id]
    assert {view.status for view in found.hit} == {AppointmentStatus.BOOKED}


@pytest.mark.parametrize(
    ("start_hour", "end_hour", "days", "field"),
    [
        (12, 9, 0, "end"),  # the end before the start
        (10, 10, 0, "end"),  # no length at all
        (9, 12, -7, "end"),  # over a week ago
        (9, 12, 367, "end"),  # more than a year long
    ],
)
async def test_a_wrong_range_is_refused_field_by_field_and_writes_nothing(
    session: AsyncSession,
    house: House,
    clock: Clock,
    start_hour: int,
    end_hour: int,
    days: int,
    field: str,
) -> None:
    start = paris(start_hour)
    end = paris(end_hour)
    if days < 0:
        start, end = start + timedelta(days=days), end + timedelta(days=days)
    elif days > 0:
        end += timedelta(days=days)
    before = await absence_count(session)
    with pytest.raises(InvalidInput) as refused:
        await absences.add_own_absence(
            session, house.agent_actor, start=start, end=end, reason="", confirm=True,
            links=LINKS, now=clock(),
        )  # fmt: skip
    assert list(refused.value.fields) == [field]
    assert await absence_count(session) == before


async def test_a_reason_too_long_is_refused(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await absences.add_own_absence(
            session, house.agent_actor, start=paris(9), end=paris(12), reason="x" * 201,
            confirm=True, links=LINKS, now=clock(),
        )  # fmt: skip
    assert list(refused.value.fields) == ["reason"]


async def test_an_absence_under_way_cannot_be_taken_back(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    saved = await absences.add_own_absence(
        session, house.agent_actor, start=paris(9), end=paris(12), reason="", confirm=True,
        links=LINKS, now=clock(),
    )  # fmt: skip
    clock.now = paris(10).astimezone(time_zone("UTC"))
    with pytest.raises(Conflict):
        await absences.remove_own_absence(session, house.agent_actor, saved.id, now=clock())
    assert [view.id for view in (await absences.own_absences(
        session, house.agent_actor, now=clock())).absences] == [saved.id]  # fmt: skip

    clock.now = paris(13).astimezone(time_zone("UTC"))
    assert (await absences.own_absences(session, house.agent_actor, now=clock())).absences == ()


async def test_absences_are_each_agent_own(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    saved = await absences.add_own_absence(
        session, house.agent_actor, start=paris(9), end=paris(12), reason="", confirm=True,
        links=LINKS, now=clock(),
    )  # fmt: skip
    with pytest.raises(NotFound):
        await absences.remove_own_absence(session, house.colleague_actor, saved.id, now=clock())
    with pytest.raises(NotFound):
        await absences.remove_own_absence(session, house.agent_actor, 10_000, now=clock())
    for actor in (house.desk, house.admin, house.coordinator):
        with pytest.raises(NotAllowed):
            await absences.own_absences(session, actor, now=clock())
        with pytest.raises(NotAllowed):
            await absences.add_own_absence(
                session, actor, start=paris(13), end=paris(14), reason="", confirm=True,
                links=LINKS, now=clock(),
            )  # fmt: skip
    assert await absence_count(session) == 1
