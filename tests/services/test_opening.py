"""When houses open (`visio.services.opening`): the days for "requests per opening day" and
the stations' open minutes for station occupancy.

Promised: a day opens when its weekday has opening hours and it is not a public holiday of
the house's calendar nor closed all day; a closure takes its minutes off the house's
stations (a station's closure off that station only); houses of one kind share one
computation, and the union counts a day open anywhere once; what is worked out is kept while
no calendar changes, and any change (or its rollback) is seen at once.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Closure, OpeningHour, Site, Station
from visio.services.opening import openings, union

PARIS = ZoneInfo("Europe/Paris")
# May 2026: 21 weekdays, of which 1 May, 8 May, 14 May (Ascension) and 25 May (Whit
# Monday) are public holidays in metropolitan France.
MAY = (date(2026, 5, 1), date(2026, 5, 31))
DAY_MINUTES = 3 * 60 + 3 * 60 + 30  # 9:00–12:00 and 13:30–17:00


async def test_weekdays_without_the_public_holidays(
    session: AsyncSession, create_site: Any
) -> None:
    site = await create_site(stations=2)
    opened = (await openings(session, [site.id], *MAY))[site.id]
    assert opened.days.count(*MAY) == 17
    assert date(2026, 5, 8) not in opened.days and date(2026, 5, 4) in opened.days
    assert opened.station_minutes(*MAY) == 17 * DAY_MINUTES * 2
    # any range within: the first week of May (the 1st a holiday)
    assert opened.station_minutes(date(2026, 5, 1), date(2026, 5, 7)) == 4 * DAY_MINUTES * 2
    assert opened.days.minutes(date(2026, 5, 1), date(2026, 5, 1)) == 0


async def test_alsace_moselle_keeps_its_own_calendar(
    session: AsyncSession, create_site: Any
) -> None:
    # Good Friday is a holiday in Alsace-Moselle only.
    april = (date(2026, 4, 1), date(2026, 4, 30))
    paris = await create_site()
    strasbourg = await create_site(holiday_calendar="6AE")
    opened = await openings(session, [paris.id, strasbourg.id], *april)
    assert date(2026, 4, 3) in opened[paris.id].days
    assert date(2026, 4, 3) not in opened[strasbourg.id].days
    # Open somewhere on Good Friday: the union counts it once.
    both = union(opened.values())
    assert both.count(*april) == opened[paris.id].days.count(*april)


async def test_closures_take_their_days_and_minutes(
    session: AsyncSession, create_site: Any
) -> None:
    site = await create_site(stations=2)
    stations = (
        await session.scalars(
            select(Station).where(Station.site_id == site.id).order_by(Station.id)
        )
    ).all()
    session.add_all(
        [
            # Monday 4 May closed all day
            Closure(site_id=site.id, start_at=datetime(2026, 5, 4, 0, 0, tzinfo=PARIS),
                    end_at=datetime(2026, 5, 5, 0, 0, tzinfo=PARIS), reason="Inventaire"),
            # Tuesday 5 May: closed in the afternoon only
            Closure(site_id=site.id, start_at=datetime(2026, 5, 5, 13, 0, tzinfo=PARIS),
                    end_at=datetime(2026, 5, 5, 18, 0, tzinfo=PARIS)),
            # one station off on Wednesday morning
            Closure(site_id=site.id, station_id=stations[0].id,
                    start_at=datetime(2026, 5, 6, 9, 0, tzinfo=PARIS),
                    end_at=datetime(2026, 5, 6, 12, 0, tzinfo=PARIS)),
        ]
    )  # fmt: skip
    await session.flush()
    opened = (await openings(session, [site.id], *MAY))[site.id]
    assert opened.days.count(*MAY) == 16
    assert date(2026, 5, 4) not in opened.days and date(2026, 5, 5) in opened.days
    assert opened.station_minutes(*MAY) == (16 * DAY_MINUTES - 210) * 2 - 180


async def test_a_house_without_hours_never_opens(session: AsyncSession, create_site: Any) -> None:
    site = await create_site(weekdays=())
    opened = (await openings(session, None, *MAY))[site.id]
    assert opened.days.count(*MAY) == 0 and opened.station_minutes(*MAY) == 0


async def test_kept_while_the_calendars_stay_and_worked_out_again_when_they_change(
    session: AsyncSession, create_site: Any
) -> None:
    """A dashboard of the whole network reads the houses' openings once; any change to a
    house's calendar is seen by the next request, and a change rolled back is forgotten."""
    site = await create_site(stations=2)
    other = await create_site()
    every = await openings(session, None, *MAY)
    assert await openings(session, None, *MAY) is every  # nothing changed: kept
    assert (await openings(session, [site.id], *MAY))[site.id] is every[site.id]
    assert every.station_minutes(*MAY) == 17 * DAY_MINUTES * 3
    assert every.union().count(*MAY) == 17

    async def minutes() -> int:
        return (await openings(session, [site.id], *MAY))[site.id].station_minutes(*MAY)

    # a change rolled back takes its stamp back with it
    savepoint = await session.begin_nested()
    session.add(
        Closure(site_id=site.id, start_at=datetime(2026, 5, 4, 0, 0, tzinfo=PARIS),
                end_at=datetime(2026, 5, 5, 0, 0, tzinfo=PARIS))
    )  # fmt: skip
    await session.flush()
    assert await minutes() == 16 * DAY_MINUTES * 2
    await savepoint.rollback()
    assert await openings(session, None, *MAY) is every

    # each kind of change: a station taken out of service, a closure, an opening range gone
    station = await session.scalar(select(Station).where(Station.site_id == site.id))
    assert station is not None
    station.active = False
    await session.flush()
    assert await minutes() == 17 * DAY_MINUTES
    session.add(
        Closure(site_id=site.id, start_at=datetime(2026, 5, 4, 0, 0, tzinfo=PARIS),
                end_at=datetime(2026, 5, 5, 0, 0, tzinfo=PARIS))
    )  # fmt: skip
    await session.flush()
    assert await minutes() == 16 * DAY_MINUTES
    await session.execute(
        delete(OpeningHour).where(
            OpeningHour.site_id == site.id, OpeningHour.weekday == 1,
            OpeningHour.start == time(13, 30),
        )
    )  # fmt: skip
    # Mondays 11 and 18 May lose their afternoon (the 4th is closed, the 25th a holiday)
    assert await minutes() == 16 * DAY_MINUTES - 2 * 210
    # the house moves to Alsace-Moselle's calendar: Good Friday closes it
    april = (date(2026, 4, 1), date(2026, 4, 30))
    before = (await openings(session, None, *april))[other.id].days.count(*april)
    await session.execute(update(Site).where(Site.id == other.id).values(holiday_calendar="6AE"))
    assert (await openings(session, None, *april))[other.id].days.count(*april) == before - 1
