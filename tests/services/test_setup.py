"""Setting visio up, straight through `visio.services.setup`.

Promised: administrators alone set up houses, stations, closures, partners, motives,
agents, permanences and absences; what the request models cannot check (overlapping
hours, references, uniqueness) is refused field by field with nothing written; the
records returned show what was made; each person lists the houses of their scope (an
agent, those they serve).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import LINKS, House, add_permanence, use_case
from visio.db.base import Base
from visio.db.models import AuditEntry, AvailabilityRule, Motive, Partner, Site
from visio.services import setup
from visio.services.errors import AlreadyExists, InvalidInput, NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.records import (
    OpeningHoursView,
    RuleView,
    SiteSummary,
    SiteView,
    StationView,
)
from visio.services.setup import MotiveSettings, OpeningRange, RuleSettings

WEEK = [OpeningRange(day, time(9), time(12)) for day in (1, 2, 3, 4, 5)]


async def count(session: AsyncSession, *models: type[Base]) -> tuple[int, ...]:
    await session.flush()
    found = []
    for model in models:
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


async def new_site(
    session: AsyncSession,
    actor: Actor,
    clock: Clock,
    *,
    name: str = "France Services Allanche",
    hours: Sequence[OpeningRange] = WEEK,
    timezone: str = "Europe/Paris",
) -> SiteView:
    return await setup.create_site(
        session, actor, name=name, commune="Allanche", timezone=timezone,
        holiday_calendar=None, opening_hours=hours, address="Place de la mairie, 15160 Allanche",
        email="allanche@fs.example", phone="0471204800", now=clock(),
    )  # fmt: skip


def rule(*, site_ids: list[int] | None = None, motive_ids: list[int] | None = None) -> RuleSettings:
    return RuleSettings(
        weekdays=[4, 2, 2], start=time(13), end=time(16, 30), every_weeks=2,
        anchor_date=date(2026, 3, 17), valid_from=date(2026, 3, 1), valid_until=None,
        site_ids=site_ids, motive_ids=motive_ids,
    )  # fmt: skip


def motive(name: str = "Retraite") -> MotiveSettings:
    return MotiveSettings(
        name=name, duration_minutes=45, slot_step_minutes=None, buffer_before_minutes=0,
        buffer_after_minutes=5, min_notice_minutes=120, horizon_days=30,
        documents=["Relevé de carrière"], instructions="", reminder_offsets_minutes=[60, 1440, 60],
    )  # fmt: skip


# ---------------------------------------------------------------- sites and stations


async def test_a_site_is_created_with_its_hours_then_its_stations(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    hours = [
        OpeningRange(2, time(13, 30), time(17)),
        OpeningRange(1, time(9), time(12)),
        OpeningRange(2, time(9), time(12)),
    ]
    created = await new_site(session, house.admin, clock, hours=hours)

    assert created == SiteView(
        id=created.id, name="France Services Allanche", commune="Allanche",
        timezone="Europe/Paris", active=True, holiday_calendar=None,
        address="Place de la mairie, 15160 Allanche",
        opening_hours=[OpeningHoursView(1, "09:00", "12:00"), OpeningHoursView(2, "09:00", "12:00"),
                       OpeningHoursView(2, "13:30", "17:00")],
        stations=[],
    )  # fmt: skip
    cabin = await setup.create_station(
        session, house.admin, site_id=created.id, name="Cabine 1", now=clock()
    )
    kiosk = await setup.create_station(
        session, house.admin, site_id=created.id, name="Borne", now=clock()
    )
    read = await setup.get_site(session, house.admin, created.id)
    assert read.stations == [StationView(cabin.id, "Cabine 1"), StationView(kiosk.id, "Borne")]
    assert read.opening_hours == created.opening_hours
    await session.flush()
    actions = (
        await session.scalars(
            select(AuditEntry.action).where(AuditEntry.user_id == house.admin.user_id)
        )
    ).all()
    assert sorted(actions) == ["site.create", "station.create", "station.create"]


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([OpeningRange(1, time(9), time(12)), OpeningRange(1, time(11), time(14))],
         "opening_hours.1"),
        ([OpeningRange(1, time(9), time(12)), OpeningRange(2, time(9), time(12)),
          OpeningRange(2, time(10), time(11))], "opening_hours.2"),
        ([OpeningRange(3, time(14), time(17)), OpeningRange(3, time(8), time(18))],
         "opening_hours.1"),
    ],
    ids=["straddling", "inside", "around"],
)  # fmt: skip
async def test_overlapping_hours_are_refused(
    session: AsyncSession, house: House, clock: Clock, hours: list[OpeningRange], field: str
) -> None:
    before = await count(session, Site, AuditEntry)

    with pytest.raises(InvalidInput) as refused:
        async with use_case(session):
            await new_site(session, house.admin, clock, hours=hours)

    assert set(refused.value.fields) == {field}
    assert await count(session, Site, AuditEntry) == before


async def test_hours_that_touch_or_fall_on_other_days_are_fine(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    hours = [OpeningRange(1, time(9), time(12)), OpeningRange(1, time(12), time(14)),
             OpeningRange(2, time(9), time(12))]  # fmt: skip

    created = await new_site(session, house.admin, clock, hours=hours)

    assert len(created.opening_hours) == 3


async def test_a_site_name_is_taken_once(session: AsyncSession, house: House, clock: Clock) -> None:
    before = await count(session, Site)

    with pytest.raises(AlreadyExists) as refused:
        async with use_case(session):
            await new_site(session, house.admin, clock, name="France Services Murat")

    assert set(refused.value.fields) == {"name"}
    assert await count(session, Site) == before


@pytest.mark.parametrize("who", ["desk", "agent_actor", "coordinator"])
async def test_only_administrators_set_up(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    actor: Actor = getattr(house, who)
    before = await count(session, Site, Partner, AvailabilityRule)

    with pytest.raises(NotAllowed):
        await new_site(session, actor, clock)
    with pytest.raises(NotAllowed):
        await setup.create_station(session, actor, site_id=house.site.id, name="X", now=clock())
    with pytest.raises(NotAllowed):
        await setup.create_partner(session, actor, code="MSA", name="MSA", now=clock())
    with pytest.raises(NotAllowed):
        await setup.create_rule(session, actor, agent_id=house.agent.id, rule=rule(), now=clock())

    assert await count(session, Site, Partner, AvailabilityRule) == before


async def test_each_person_lists_the_sites_of_their_scope(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    murat = SiteSummary(
        house.site.id, "France Services Murat", house.site.commune, "Europe/Paris", True
    )
    massiac = SiteSummary(
        house.elsewhere.id,
        "France Services Massiac",
        house.elsewhere.commune,
        "Europe/Paris",
        True,
    )

    assert await setup.list_sites(session, house.desk) == [murat]
    assert await setup.list_sites(session, house.other_desk) == [massiac]
    assert await setup.list_sites(session, house.coordinator) == [murat]
    assert await setup.list_sites(session, house.admin) == [massiac, murat]
    # Isabelle Delmas's permanence names Murat: she serves Murat.
    assert await setup.list_sites(session, house.agent_actor) == [murat]
    with pytest.raises(NotFound):
        await setup.get_site(session, house.agent_actor, house.elsewhere.id)
    with pytest.raises(NotFound):
        await setup.get_site(session, house.desk, house.elsewhere.id)
    assert (await setup.get_site(session, house.agent_actor, house.site.id)).name == murat.name


async def test_an_agent_whose_permanence_names_no_site_serves_them_all(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await add_permanence(session, house.colleague, weekdays=[4], start=time(14), end=time(16))

    assert [site.id for site in await setup.list_sites(session, house.colleague_actor)] == [
        house.elsewhere.id,
        house.site.id,
    ]


async def test_closures_are_for_the_site_own_stations(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    start = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    end = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    station = house.stations[0]

    closure = await setup.create_closure(
        session, house.admin, site_id=house.site.id, start=start, end=end, reason="Travaux",
        station_id=station.id, links=LINKS, now=clock(),
    )  # fmt: skip

    assert (closure.station_id, closure.reason) == (station.id, "Travaux")
    assert closure.start.isoformat() == "2026-03-20T09:00:00+01:00"
    with pytest.raises(InvalidInput) as refused:
        async with use_case(session):
            await setup.create_closure(
                session, house.admin, site_id=house.elsewhere.id, start=start, end=end,
                reason="", station_id=station.id, links=LINKS, now=clock(),
            )  # fmt: skip
    assert set(refused.value.fields) == {"station_id"}
    with pytest.raises(NotFound):
        await setup.create_closure(
            session, house.admin, site_id=999_999, start=start, end=end, reason="",
            station_id=None, links=LINKS, now=clock(),
        )  # fmt: skip


# ---------------------------------------------------------------- partners and motives


async def test_partners_and_motives_are_unique_where_they_must_be(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    carsat = await setup.create_partner(
        session, house.admin, code="CARSAT", name="Carsat Auvergne", now=clock()
    )
    retraite = await setup.create_motive(
        session, house.admin, partner_id=carsat.id, motive=motive(), now=clock()
    )
    # The same name at another partner is another motive.
    await setup.create_motive(
        session, house.admin, partner_id=house.partner.id, motive=motive(), now=clock()
    )

    assert (retraite.partner_id, retraite.duration_minutes) == (carsat.id, 45)
    assert retraite.reminder_offsets_minutes == [1440, 60]
    before = await count(session, Partner, Motive)
    with pytest.raises(AlreadyExists) as code_taken:
        async with use_case(session):
            await setup.create_partner(session, house.admin, code="CARSAT", name="X", now=clock())
    with pytest.raises(AlreadyExists) as name_taken:
        async with use_case(session):
            await setup.create_motive(
                session, house.admin, partner_id=carsat.id, motive=motive(), now=clock()
            )
    with pytest.raises(NotFound):
        await setup.create_motive(
            session, house.admin, partner_id=999_999, motive=motive("Autre"), now=clock()
        )
    assert (set(code_taken.value.fields), set(name_taken.value.fields)) == ({"code"}, {"name"})
    assert await count(session, Partner, Motive) == before
    listed = {partner.code: partner for partner in await setup.list_partners(session, house.desk)}
    assert [m.name for m in listed["CARSAT"].motives] == ["Retraite"]


async def test_retired_motives_are_not_listed(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    house.motive.active = False
    await session.flush()

    partners = await setup.list_partners(session, house.agent_actor)

    assert [(partner.code, partner.motives) for partner in partners] == [("CAF", [])]


# ---------------------------------------------------------------- agents and permanences


async def test_a_permanence_is_recorded_as_asked(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    created = await setup.create_rule(
        session, house.admin, agent_id=house.agent.id, now=clock(),
        rule=rule(site_ids=[house.site.id, house.elsewhere.id], motive_ids=[house.motive.id]),
    )  # fmt: skip

    assert created == RuleView(
        id=created.id, agent_id=house.agent.id, weekdays=[2, 4], start="13:00", end="16:30",
        every_weeks=2, anchor_date=date(2026, 3, 17), valid_from=date(2026, 3, 1),
        valid_until=None, site_ids=sorted([house.site.id, house.elsewhere.id]),
        motive_ids=[house.motive.id],
    )  # fmt: skip
    # The other weeks of the cycle: no overlap with the first.
    everywhere = await setup.create_rule(
        session, house.admin, agent_id=house.agent.id,
        rule=replace(rule(), anchor_date=date(2026, 3, 24)), now=clock(),
    )  # fmt: skip
    assert (everywhere.site_ids, everywhere.motive_ids) == (None, None)


async def test_a_permanence_names_existing_sites_and_its_partner_motives(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    msa = await setup.create_partner(session, house.admin, code="MSA", name="MSA", now=clock())
    foreign = await setup.create_motive(
        session, house.admin, partner_id=msa.id, motive=motive("Affiliation"), now=clock()
    )
    before = await count(session, AvailabilityRule, AuditEntry)
    asked = [
        (rule(motive_ids=[house.motive.id, foreign.id]), {"motive_ids"}),
        (rule(site_ids=[house.site.id, 999_999]), {"site_ids"}),
        (rule(site_ids=[999_999], motive_ids=[foreign.id]), {"site_ids", "motive_ids"}),
    ]

    for settings, fields in asked:
        with pytest.raises(InvalidInput) as refused:
            async with use_case(session):
                await setup.create_rule(
                    session, house.admin, agent_id=house.agent.id, rule=settings, now=clock()
                )
        assert set(refused.value.fields) == fields
    with pytest.raises(NotFound):
        await setup.create_rule(session, house.admin, agent_id=999_999, rule=rule(), now=clock())

    assert await count(session, AvailabilityRule, AuditEntry) == before


async def test_agents_belong_to_a_known_partner_under_one_email(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    created = await setup.create_agent(
        session, house.admin, partner_id=house.partner.id, name="Sarah Hoarau",
        email="sarah.hoarau@caf.example", timezone="Indian/Reunion", locale="en", now=clock(),
    )  # fmt: skip

    assert (created.partner_id, created.timezone, created.locale) == (
        house.partner.id,
        "Indian/Reunion",
        "en",
    )
    with pytest.raises(InvalidInput) as unknown:
        await setup.create_agent(
            session, house.admin, partner_id=999_999, name="X", email="x@caf.example",
            timezone="Europe/Paris", locale="fr", now=clock(),
        )  # fmt: skip
    assert set(unknown.value.fields) == {"partner_id"}
    with pytest.raises(AlreadyExists):
        await setup.create_agent(
            session, house.admin, partner_id=house.partner.id, name="Autre",
            email="isabelle.delmas@caf.example", timezone="Europe/Paris", locale="fr",
            now=clock(),
        )  # fmt: skip


async def test_an_absence_reads_in_the_agent_zone(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    absence = await setup.create_absence(
        session, house.admin, agent_id=house.agent.id,
        start=datetime(2026, 3, 23, 23, 0, tzinfo=UTC),
        end=datetime(2026, 3, 27, 23, 0, tzinfo=UTC), reason="Congés", links=LINKS, now=clock(),
    )  # fmt: skip

    assert (absence.agent_id, absence.reason) == (house.agent.id, "Congés")
    assert absence.start.isoformat() == "2026-03-24T00:00:00+01:00"
    with pytest.raises(NotFound):
        await setup.create_absence(
            session, house.admin, agent_id=999_999, start=absence.start, end=absence.end,
            reason="", links=LINKS, now=clock(),
        )  # fmt: skip
