"""The desk's tally, straight through `visio.services.desk_tally`.

Promised: a request is counted in two clicks with its daily counter, in one transaction;
no personal data is kept; a wrong partner or theme is refused by field with nothing
written; only the house's own desk records (and takes back, the same day) its requests;
after any sequence of requests and take-backs the counters equal a count of the requests.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import TUESDAY, House, paris, use_case
from tests.services.test_statistics import assert_rollups_agree
from visio.db.models import DeskRequest, DeskRequestCount, RequestTheme
from visio.domain import RequestChannel
from visio.services import desk_tally
from visio.services.errors import DomainError, InvalidInput, NotAllowed, NotFound

Counts = dict[tuple[object, ...], tuple[int, int, int, int]]


async def theme_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(RequestTheme.id).where(RequestTheme.code == code))
    assert found is not None
    return found


async def counters(session: AsyncSession) -> Counts:
    await session.flush()
    rows = await session.execute(
        select(
            DeskRequestCount.site_id, DeskRequestCount.day, DeskRequestCount.partner_id,
            DeskRequestCount.theme_id, DeskRequestCount.channel, DeskRequestCount.requests,
            DeskRequestCount.accompanied, DeskRequestCount.new_people,
            DeskRequestCount.people_accompanied,
        ).where(DeskRequestCount.requests > 0)
    )  # fmt: skip
    return {tuple(row[:5]): tuple(row[5:]) for row in rows}  # type: ignore[misc]


async def raw_counts(session: AsyncSession) -> Counts:
    """The requests counted the slow, obvious way."""
    counts: dict[tuple[object, ...], list[int]] = {}
    for request in await session.scalars(select(DeskRequest)):
        key = (
            request.site_id, request.day, request.partner_id or 0, request.theme_id or 0,
            request.channel,
        )  # fmt: skip
        sums = counts.setdefault(key, [0, 0, 0, 0])
        both = request.accompanied and request.new_person
        for position, value in enumerate((True, request.accompanied, request.new_person, both)):
            sums[position] += int(value)
    return {key: (a, b, c, d) for key, (a, b, c, d) in counts.items()}


async def test_the_six_france_services_themes_are_there(
    session: AsyncSession, house: House
) -> None:
    themes = await desk_tally.themes(session, house.desk)
    assert [theme.code for theme in themes] == [
        "employment", "justice", "health", "budget", "family", "housing",
    ]  # fmt: skip
    assert themes[0].name == "Emploi, formation, retraite"
    assert themes[0].label("en") == "Employment, training, retirement"


async def test_a_request_is_counted_on_the_house_day_with_its_counter(
    session: AsyncSession, house: House
) -> None:
    health = await theme_id(session, "health")
    # 23:30 UTC on Tuesday is already Wednesday in Murat.
    late = paris(0, 30, day=TUESDAY + timedelta(days=1))
    recorded = await desk_tally.record(
        session, house.desk, site_id=house.site.id, partner_id=house.partner.id,
        theme_id=health, channel=RequestChannel.EMAIL, accompanied=True, new_person=True,
        now=late,
    )  # fmt: skip
    assert recorded.day == TUESDAY + timedelta(days=1)
    assert recorded.channel is RequestChannel.EMAIL
    assert await counters(session) == {
        (house.site.id, TUESDAY + timedelta(days=1), house.partner.id, health,
         RequestChannel.EMAIL): (1, 1, 1, 1),
    }  # fmt: skip
    stored = await session.get(DeskRequest, recorded.id)
    assert stored is not None and stored.recorded_by_id == house.desk.user_id


async def test_a_request_for_no_partner_counts_under_none(
    session: AsyncSession, house: House
) -> None:
    budget = await theme_id(session, "budget")
    await desk_tally.record(
        session, house.desk, site_id=house.site.id, theme_id=budget,
        channel=RequestChannel.IN_PERSON, now=paris(10),
    )  # fmt: skip
    assert list(await counters(session)) == [
        (house.site.id, TUESDAY, 0, budget, RequestChannel.IN_PERSON)
    ]


async def test_wrong_partner_and_theme_are_refused_by_field_nothing_written(
    session: AsyncSession, house: House
) -> None:
    with pytest.raises(InvalidInput) as refused:
        async with use_case(session):
            await desk_tally.record(
                session, house.desk, site_id=house.site.id, partner_id=999_999,
                theme_id=999_999, channel=RequestChannel.PHONE, now=paris(10),
            )  # fmt: skip
    assert set(refused.value.fields) == {"partner_id", "theme_id"}
    with pytest.raises(InvalidInput) as missing:
        async with use_case(session):
            await desk_tally.record(
                session, house.desk, site_id=house.site.id, theme_id=None,
                channel=RequestChannel.PHONE, now=paris(10),
            )  # fmt: skip
    assert set(missing.value.fields) == {"theme_id"}
    assert await session.scalar(select(func.count()).select_from(DeskRequest)) == 0
    assert await counters(session) == {}


async def test_a_retired_theme_is_refused(session: AsyncSession, house: House) -> None:
    justice = await theme_id(session, "justice")
    await desk_tally.change_theme(session, house.admin, justice, active=False, now=paris(8))
    assert "justice" not in [theme.code for theme in await desk_tally.themes(session, house.desk)]
    with pytest.raises(InvalidInput) as refused:
        await desk_tally.record(
            session, house.desk, site_id=house.site.id, theme_id=justice,
            channel=RequestChannel.PHONE, now=paris(10),
        )  # fmt: skip
    assert set(refused.value.fields) == {"theme_id"}


async def test_only_the_house_desk_records_its_requests(
    session: AsyncSession, house: House
) -> None:
    health = await theme_id(session, "health")
    for someone, error in (
        (house.other_desk, NotFound), (house.coordinator, NotAllowed),
        (house.agent_actor, NotAllowed),
    ):  # fmt: skip
        with pytest.raises(error):
            await desk_tally.record(
                session, someone, site_id=house.site.id, theme_id=health,
                channel=RequestChannel.PHONE, now=paris(10),
            )  # fmt: skip
    # an administrator may, for any house
    await desk_tally.record(
        session, house.admin, site_id=house.elsewhere.id, theme_id=health,
        channel=RequestChannel.PHONE, now=paris(10),
    )  # fmt: skip


async def test_a_request_is_taken_back_the_same_day_only(
    session: AsyncSession, house: House
) -> None:
    health = await theme_id(session, "health")
    first = await desk_tally.record(
        session, house.desk, site_id=house.site.id, theme_id=health,
        channel=RequestChannel.PHONE, accompanied=True, now=paris(10),
    )  # fmt: skip
    second = await desk_tally.record(
        session, house.desk, site_id=house.site.id, theme_id=health,
        channel=RequestChannel.PHONE, now=paris(10, 5),
    )  # fmt: skip
    listed = await desk_tally.today(session, house.desk, house.site.id, now=paris(11))
    assert [view.id for view in listed] == [second.id, first.id]
    with pytest.raises(NotFound):
        await desk_tally.take_back(session, house.other_desk, first.id, now=paris(11))
    await desk_tally.take_back(session, house.desk, first.id, now=paris(11))
    assert await counters(session) == await raw_counts(session)
    assert list((await counters(session)).values()) == [(1, 0, 0, 0)]
    with pytest.raises(NotFound):  # yesterday's counts are settled
        await desk_tally.take_back(
            session, house.desk, second.id, now=paris(9, day=TUESDAY + timedelta(days=1))
        )


async def test_themes_are_set_up_by_admins_codes_unique(
    session: AsyncSession, house: House
) -> None:
    added = await desk_tally.add_theme(
        session, house.admin, code="digital", name="Numérique", name_en="Digital", now=paris(8)
    )
    assert added.position == 7 and added.active
    with pytest.raises(DomainError):
        await desk_tally.add_theme(
            session, house.admin, code="digital", name="Autre", name_en="Other", now=paris(8)
        )
    with pytest.raises(NotAllowed):
        await desk_tally.add_theme(
            session, house.desk, code="other", name="Autre", name_en="Other", now=paris(8)
        )
    with pytest.raises(InvalidInput) as refused:
        await desk_tally.change_theme(session, house.admin, added.id, name=" ", now=paris(8))
    assert set(refused.value.fields) == {"name"}


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("record"), st.sampled_from(list(RequestChannel)), st.booleans(),
            st.booleans(), st.integers(0, 2),
        ),
        st.tuples(st.just("take_back"), st.integers(0, 9), st.booleans(), st.booleans(),
                  st.integers(0, 2)),
    ),
    max_size=12,
)  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=OPERATIONS)
async def test_the_counters_equal_a_count_of_the_requests(
    session: AsyncSession, house: House, clock: Clock, operations: list[tuple[object, ...]]
) -> None:
    themes = [await theme_id(session, code) for code in ("health", "budget", "family")]
    async with session.begin_nested() as example:
        for kind, first, accompanied, new_person, which in operations:
            assert isinstance(which, int) and isinstance(accompanied, bool)
            assert isinstance(new_person, bool)
            try:
                async with use_case(session):
                    if kind == "record":
                        assert isinstance(first, RequestChannel)
                        await desk_tally.record(
                            session, house.desk, site_id=house.site.id,
                            partner_id=house.partner.id if which else None,
                            theme_id=themes[which], channel=first, accompanied=accompanied,
                            new_person=new_person, now=paris(9 + which),
                        )  # fmt: skip
                    else:
                        assert isinstance(first, int)
                        ids = (await session.scalars(select(DeskRequest.id))).all()
                        if ids:
                            await desk_tally.take_back(
                                session, house.desk, ids[first % len(ids)], now=paris(17)
                            )
            except DomainError:
                pass
            assert await counters(session) == await raw_counts(session)
        assert await desk_tally.rebuild(session) == len(
            (await session.scalars(select(DeskRequest.id))).all()
        )
        assert await counters(session) == await raw_counts(session)
        await assert_rollups_agree(session)
        await example.rollback()
