"""The slot engine, case by case.

Unless a case says otherwise: Monday 16 March 2026 at site 1 in Paris, open Monday to Saturday
09:00-12:00 and 14:00-17:00; two stations (1 and 2) free all day; motive 10 lasting 30 minutes
without buffers; agent 1 in Paris with one rule, weekdays 09:00-12:00; ``now`` two weeks
earlier. Times in expectations are Paris wall clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from visio.scheduling.calendars import public_holidays, to_local, to_utc
from visio.scheduling.slots import (
    AgentSchedule,
    AvailabilityRule,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    Slot,
    StationSchedule,
    find_slots,
    is_bookable,
)

PARIS = "Europe/Paris"
REUNION = "Indian/Reunion"
CAYENNE = "America/Cayenne"
MONDAY = date(2026, 3, 16)
TUESDAY = MONDAY + timedelta(days=1)
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
EVERY_DAY = frozenset(range(1, 8))
MORNING = ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def hhmm(text: str) -> time:
    hours, mins = text.split(":")
    return time(int(hours), int(mins))


def paris(day: date, clock: str) -> datetime:
    return to_utc(day, hhmm(clock), PARIS)


def span(day: date, start: str, end: str) -> tuple[datetime, datetime]:
    """A Paris wall-clock interval on ``day`` (same day)."""
    return paris(day, start), paris(day, end)


def hours(weekdays: Sequence[int], *ranges: str) -> tuple[OpeningHours, ...]:
    """``hours(range(1, 7), "09:00-12:00")``: the same ranges on each weekday."""
    result = []
    for weekday in weekdays:
        for each in ranges:
            start, end = each.split("-")
            result.append(OpeningHours(weekday, hhmm(start), hhmm(end)))
    return tuple(result)


def make_site(
    *,
    site_id: int = 1,
    timezone: str = PARIS,
    opening_hours: tuple[OpeningHours, ...] | None = None,
    holidays: frozenset[date] = frozenset(),
    closures: tuple[tuple[datetime, datetime], ...] = (),
) -> SiteCalendar:
    if opening_hours is None:
        opening_hours = hours(range(1, 7), "09:00-12:00", "14:00-17:00")
    return SiteCalendar(site_id, timezone, opening_hours, holidays, closures)


def make_station(
    station_id: int = 1,
    *,
    closures: tuple[tuple[datetime, datetime], ...] = (),
    busy: tuple[tuple[datetime, datetime], ...] = (),
) -> StationSchedule:
    return StationSchedule(station_id, closures, busy)


def make_rule(
    start: str = "09:00", end: str = "12:00", weekdays: frozenset[int] = WEEKDAYS, **fields: object
) -> AvailabilityRule:
    return AvailabilityRule(weekdays, hhmm(start), hhmm(end), **fields)  # type: ignore[arg-type]


def make_agent(
    agent_id: int = 1,
    *,
    timezone: str = PARIS,
    rules: tuple[AvailabilityRule, ...] | None = None,
    absences: tuple[tuple[datetime, datetime], ...] = (),
    busy: tuple[tuple[datetime, datetime], ...] = (),
) -> AgentSchedule:
    return AgentSchedule(
        agent_id, timezone, rules if rules is not None else (make_rule(),), absences, busy
    )


def make_motive(duration: int = 30, **fields: object) -> MotiveTiming:
    return MotiveTiming(10, minutes(duration), **fields)  # type: ignore[arg-type]


def run(
    *,
    site: SiteCalendar | None = None,
    stations: Sequence[StationSchedule] | None = None,
    motive: MotiveTiming | None = None,
    agents: Sequence[AgentSchedule] | None = None,
    first_day: date = MONDAY,
    last_day: date | None = None,
    now: datetime = NOW,
) -> list[Slot]:
    return find_slots(
        site or make_site(),
        stations if stations is not None else (make_station(1), make_station(2)),
        motive or make_motive(),
        agents if agents is not None else (make_agent(),),
        first_day,
        last_day or first_day,
        now,
    )


def clocks(slots: Sequence[Slot], zone: str = PARIS) -> list[str]:
    return [to_local(slot.start, zone).strftime("%H:%M") for slot in slots]


def dated_clocks(slots: Sequence[Slot], zone: str = PARIS) -> list[str]:
    return [to_local(slot.start, zone).strftime("%m-%d %H:%M") for slot in slots]


# --- one day, one agent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # the plain morning: six half-hours, all at the first station
        ({}, MORNING),
        # the rule runs past the site's lunch closing: cut at 12:00
        ({"agents": [make_agent(rules=(make_rule("09:00", "13:00"),))]}, MORNING),
        # an afternoon rule: the site's afternoon
        (
            {"agents": [make_agent(rules=(make_rule("14:00", "16:00"),))]},
            ["14:00", "14:30", "15:00", "15:30"],
        ),
        # a rule ending at 11:45: 11:15 is not on the grid and 11:30 would end at 12:00 > 11:45
        (
            {"agents": [make_agent(rules=(make_rule("09:00", "11:45"),))]},
            ["09:00", "09:30", "10:00", "10:30", "11:00"],
        ),
        # the grid starts where site and rule overlap (09:10), not at the hour
        (
            {"agents": [make_agent(rules=(make_rule("09:10", "12:00"),))]},
            ["09:10", "09:40", "10:10", "10:40", "11:10"],
        ),
        # the site opens later than the rule starts: the grid starts at the opening
        (
            {"agents": [make_agent(rules=(make_rule("08:00", "12:00"),))]},
            MORNING,
        ),
        # a window shorter than the duration offers nothing
        ({"agents": [make_agent(rules=(make_rule("09:00", "09:20"),))]}, []),
        # two rules overlapping on one day form one window: one grid from 09:00
        (
            {
                "agents": [
                    make_agent(rules=(make_rule("09:00", "10:00"), make_rule("09:45", "12:00")))
                ],
                "motive": make_motive(45),
            },
            ["09:00", "09:45", "10:30", "11:15"],
        ),
        # two rules touching at 10:00 also form one window
        (
            {
                "agents": [
                    make_agent(rules=(make_rule("09:00", "10:00"), make_rule("10:00", "12:00")))
                ],
                "motive": make_motive(45),
            },
            ["09:00", "09:45", "10:30", "11:15"],
        ),
        # a rule for Tuesdays only offers nothing on a Monday
        ({"agents": [make_agent(rules=(make_rule(weekdays=frozenset({2})),))]}, []),
        # a 15-minute step with a 30-minute duration: overlapping candidates every quarter
        (
            {"motive": make_motive(30, step=minutes(15))},
            [f"{h:02d}:{m:02d}" for h in (9, 10, 11) for m in (0, 15, 30, 45)][:-1],
        ),
        # a 45-minute duration on the default step (its duration)
        ({"motive": make_motive(45)}, ["09:00", "09:45", "10:30", "11:15"]),
        # the site has no opening hours on Mondays
        ({"site": make_site(opening_hours=hours([2, 3, 4, 5], "09:00-12:00"))}, []),
    ],
)
def test_grid(case: dict[str, object], expected: list[str]) -> None:
    slots = run(**case)  # type: ignore[arg-type]
    assert clocks(slots) == expected
    motive = case.get("motive", make_motive())
    assert isinstance(motive, MotiveTiming)
    assert all(slot.end - slot.start == motive.duration for slot in slots)


BUSY_10 = (span(MONDAY, "10:00", "10:30"),)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        # the agent is busy 10:00-10:30 elsewhere: that half-hour goes, the rest stays
        (
            {"agents": [make_agent(busy=BUSY_10)]},
            ["09:00", "09:30", "10:30", "11:00", "11:30"],
        ),
        # with 10 minutes before and 5 after, 09:30 (widened 09:20-10:05) and 10:30 (widened
        # 10:20-11:05) touch the busy half-hour too
        (
            {
                "agents": [make_agent(busy=BUSY_10)],
                "motive": make_motive(buffer_before=minutes(10), buffer_after=minutes(5)),
            },
            ["09:00", "11:00", "11:30"],
        ),
        # buffers only count against appointments, not against the rule or the opening hours:
        # 09:00 (widened 08:50-09:35) and 11:30 (widened 11:20-12:05) stay
        (
            {"motive": make_motive(buffer_before=minutes(10), buffer_after=minutes(5))},
            MORNING,
        ),
        # an appointment's own buffers arrive already in its busy interval: 10:00-10:40 blocks
        # 10:30 as well
        (
            {"agents": [make_agent(busy=(span(MONDAY, "10:00", "10:40"),))]},
            ["09:00", "09:30", "11:00", "11:30"],
        ),
        # a busy interval ending exactly at 10:00 leaves 10:00 bookable (half-open intervals)
        (
            {"agents": [make_agent(busy=(span(MONDAY, "09:00", "10:00"),))]},
            ["10:00", "10:30", "11:00", "11:30"],
        ),
        # an empty busy interval blocks nothing, even with buffers
        (
            {
                "agents": [make_agent(busy=(span(MONDAY, "10:00", "10:00"),))],
                "motive": make_motive(buffer_before=minutes(10), buffer_after=minutes(10)),
            },
            MORNING,
        ),
        # a busy agent does not shift the grid: with 45 minutes, 09:00-09:20 busy removes 09:00
        # but the next candidate is still 09:45
        (
            {
                "agents": [make_agent(busy=(span(MONDAY, "09:00", "09:20"),))],
                "motive": make_motive(45),
            },
            ["09:45", "10:30", "11:15"],
        ),
        # an absence until 10:00 ...
        (
            {"agents": [make_agent(absences=(span(MONDAY, "08:00", "10:00"),))]},
            ["10:00", "10:30", "11:00", "11:30"],
        ),
        # ... with a 10-minute preparation buffer: 10:00 would need 09:50
        (
            {
                "agents": [make_agent(absences=(span(MONDAY, "08:00", "10:00"),))],
                "motive": make_motive(buffer_before=minutes(10)),
            },
            ["10:30", "11:00", "11:30"],
        ),
        # an absence over the whole day
        (
            {"agents": [make_agent(absences=((paris(MONDAY, "00:00"), paris(TUESDAY, "00:00")),))]},
            [],
        ),
        # a site closure 10:15-11:00 (plain: no buffers) removes 10:00 and 10:30
        (
            {"site": make_site(closures=(span(MONDAY, "10:15", "11:00"),))},
            ["09:00", "09:30", "11:00", "11:30"],
        ),
        # a site closure ending at 10:00 with buffers: closures ignore the buffers
        (
            {
                "site": make_site(closures=(span(MONDAY, "08:00", "10:00"),)),
                "motive": make_motive(buffer_before=minutes(15)),
            },
            ["10:00", "10:30", "11:00", "11:30"],
        ),
        # a public holiday closes the whole site-local day
        ({"site": make_site(holidays=frozenset({MONDAY}))}, []),
        # a holiday the day before changes nothing
        ({"site": make_site(holidays=frozenset({MONDAY - timedelta(days=1)}))}, MORNING),
    ],
)
def test_agent_and_site_exceptions(case: dict[str, object], expected: list[str]) -> None:
    assert clocks(run(**case)) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stations", "motive", "expected"),
    [
        # station 1 busy at 10:00: that slot falls to station 2, the others stay at station 1
        (
            [make_station(1, busy=BUSY_10), make_station(2)],
            make_motive(),
            [("09:00", 1), ("09:30", 1), ("10:00", 2), ("10:30", 1), ("11:00", 1), ("11:30", 1)],
        ),
        # given in the other order: the same answer
        (
            [make_station(2), make_station(1, busy=BUSY_10)],
            make_motive(),
            [("09:00", 1), ("09:30", 1), ("10:00", 2), ("10:30", 1), ("11:00", 1), ("11:30", 1)],
        ),
        # both stations busy at 10:00: no 10:00 slot
        (
            [make_station(1, busy=BUSY_10), make_station(2, busy=BUSY_10)],
            make_motive(),
            [("09:00", 1), ("09:30", 1), ("10:30", 1), ("11:00", 1), ("11:30", 1)],
        ),
        # the station's busy interval counts with the new motive's buffers too
        (
            [make_station(1, busy=BUSY_10)],
            make_motive(buffer_after=minutes(5)),
            [("09:00", 1), ("10:30", 1), ("11:00", 1), ("11:30", 1)],
        ),
        # a station closure is plain: buffers may reach into it
        (
            [make_station(1, closures=(span(MONDAY, "10:00", "11:00"),))],
            make_motive(buffer_after=minutes(15)),
            [("09:00", 1), ("09:30", 1), ("11:00", 1), ("11:30", 1)],
        ),
        # station 1 out of service all morning: everything at station 2
        (
            [make_station(1, closures=(span(MONDAY, "08:00", "12:00"),)), make_station(2)],
            make_motive(),
            [(clock, 2) for clock in MORNING],
        ),
        # no station at all: nothing
        ([], make_motive(), []),
    ],
)
def test_stations(
    stations: list[StationSchedule], motive: MotiveTiming, expected: list[tuple[str, int]]
) -> None:
    slots = run(stations=stations, motive=motive)
    assert [
        (clock, slot.station_id) for clock, slot in zip(clocks(slots), slots, strict=True)
    ] == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # the rule offers this site (among others)
        (make_rule(site_ids=frozenset({1, 2})), MORNING),
        # the rule offers another site only
        (make_rule(site_ids=frozenset({2})), []),
        # the rule offers this motive
        (make_rule(motive_ids=frozenset({10, 11})), MORNING),
        # the rule offers other motives only
        (make_rule(motive_ids=frozenset({11})), []),
        # valid from the next day
        (make_rule(valid_from=TUESDAY), []),
        # valid until this very day (inclusive)
        (make_rule(valid_until=MONDAY), MORNING),
        # valid until the day before
        (make_rule(valid_until=MONDAY - timedelta(days=1)), []),
        # valid from this very day (inclusive)
        (make_rule(valid_from=MONDAY), MORNING),
    ],
)
def test_rule_filters(rule: AvailabilityRule, expected: list[str]) -> None:
    assert clocks(run(agents=[make_agent(rules=(rule,))])) == expected


def test_only_the_applicable_rules_of_an_agent_count() -> None:
    # One rule for another site in the morning, one for this site in the afternoon.
    agent = make_agent(
        rules=(
            make_rule("09:00", "12:00", site_ids=frozenset({2})),
            make_rule("14:00", "15:00", site_ids=frozenset({1})),
        )
    )
    assert clocks(run(agents=[agent])) == ["14:00", "14:30"]


@pytest.mark.parametrize(
    ("rule_fields", "expected_mondays"),
    [
        # every week
        ({}, ["03-16", "03-23", "03-30", "04-06"]),
        # every other week, anchored on a Wednesday of the week of 16 March
        ({"every_weeks": 2, "anchor_date": date(2026, 3, 18)}, ["03-16", "03-30"]),
        # every other week, anchored a week later
        ({"every_weeks": 2, "anchor_date": date(2026, 3, 25)}, ["03-23", "04-06"]),
        # an anchor long before the range keeps counting whole weeks
        ({"every_weeks": 2, "anchor_date": date(2025, 12, 29)}, ["03-23", "04-06"]),
        # an anchor after the range: the cycle runs backwards too
        ({"every_weeks": 2, "anchor_date": date(2026, 4, 8)}, ["03-23", "04-06"]),
        # every third week
        ({"every_weeks": 3, "anchor_date": date(2026, 3, 16)}, ["03-16", "04-06"]),
        # no anchor: the cycle starts on the week of valid_from (a Tuesday, so the Monday of
        # that week is already outside the validity)
        ({"every_weeks": 2, "valid_from": date(2026, 3, 24)}, ["04-06"]),
        # neither: weeks counted from Monday 1 January 2001; 16 March 2026 is week 1315 (odd)
        ({"every_weeks": 2}, ["03-23", "04-06"]),
        # a cycle inside a validity period
        (
            {"every_weeks": 2, "anchor_date": date(2026, 3, 16), "valid_until": date(2026, 3, 29)},
            ["03-16"],
        ),
    ],
)
def test_every_n_weeks(rule_fields: dict[str, object], expected_mondays: list[str]) -> None:
    agent = make_agent(rules=(make_rule("09:00", "09:30", weekdays=frozenset({1}), **rule_fields),))
    slots = run(agents=[agent], first_day=MONDAY, last_day=date(2026, 4, 12))
    assert [label[:5] for label in dated_clocks(slots)] == expected_mondays


@pytest.mark.parametrize(
    ("now", "motive", "expected"),
    [
        # now at 09:10, no notice: 09:00 has started, 09:30 is still ahead
        (paris(MONDAY, "09:10"), make_motive(), MORNING[1:]),
        # now exactly 09:30: a slot starting now is still bookable
        (paris(MONDAY, "09:30"), make_motive(), MORNING[1:]),
        # one hour of notice from 09:10: 10:10 at the earliest
        (paris(MONDAY, "09:10"), make_motive(min_notice=timedelta(hours=1)), MORNING[3:]),
        # a day of notice from Sunday 10:30: Monday from 10:30
        (
            paris(MONDAY - timedelta(days=1), "10:30"),
            make_motive(min_notice=timedelta(days=1)),
            MORNING[3:],
        ),
        # a one-day horizon from Sunday 10:00: up to Monday 10:00 inclusive
        (
            paris(MONDAY - timedelta(days=1), "10:00"),
            make_motive(horizon=timedelta(days=1)),
            MORNING[:3],
        ),
        # the horizon ends before the day: nothing
        (paris(MONDAY - timedelta(days=3), "10:00"), make_motive(horizon=timedelta(days=2)), []),
        # after the day: nothing
        (paris(TUESDAY, "08:00"), make_motive(), []),
        # now in another offset names the same instant
        (
            paris(MONDAY, "09:10").astimezone(to_local(NOW, REUNION).tzinfo),
            make_motive(),
            MORNING[1:],
        ),
    ],
)
def test_notice_and_horizon(now: datetime, motive: MotiveTiming, expected: list[str]) -> None:
    assert clocks(run(now=now, motive=motive)) == expected


def test_date_range_is_site_local_and_inclusive() -> None:
    # Monday to Wednesday, the rule on Monday and Wednesday only.
    agent = make_agent(rules=(make_rule("09:00", "10:00", weekdays=frozenset({1, 3})),))
    slots = run(agents=[agent], first_day=MONDAY, last_day=MONDAY + timedelta(days=2))
    assert dated_clocks(slots) == ["03-16 09:00", "03-16 09:30", "03-18 09:00", "03-18 09:30"]
    # an empty range
    assert run(agents=[agent], first_day=TUESDAY, last_day=MONDAY) == []


def test_holidays_from_the_calendar() -> None:
    # Easter Monday 6 April 2026 is closed in metropolitan France.
    site = make_site(holidays=public_holidays(None, date(2026, 4, 1), date(2026, 4, 30)))
    agent = make_agent(rules=(make_rule("09:00", "09:30", weekdays=frozenset({1})),))
    slots = run(site=site, agents=[agent], first_day=date(2026, 3, 30), last_day=date(2026, 4, 13))
    assert dated_clocks(slots) == ["03-30 09:00", "04-13 09:00"]


# --- several agents --------------------------------------------------------------------------


def test_one_slot_per_start_and_agent_sorted_by_start_then_agent() -> None:
    agents = [
        make_agent(7, rules=(make_rule("10:00", "11:00"),)),
        make_agent(3, rules=(make_rule("09:30", "10:30"),)),
    ]
    slots = run(agents=agents)
    assert [
        (clock, slot.agent_id, slot.station_id)
        for clock, slot in zip(clocks(slots), slots, strict=True)
    ] == [
        ("09:30", 3, 1),
        ("10:00", 3, 1),
        ("10:00", 7, 1),
        ("10:30", 7, 1),
    ]


def test_stations_are_offered_to_each_agent_independently() -> None:
    # Both agents at 10:00 are offered station 1: a slot is a possibility, not a reservation.
    agents = [
        make_agent(1, rules=(make_rule("10:00", "10:30"),)),
        make_agent(2, rules=(make_rule("10:00", "10:30"),)),
    ]
    slots = run(agents=agents)
    assert [(slot.agent_id, slot.station_id) for slot in slots] == [(1, 1), (2, 1)]


def test_input_order_does_not_matter() -> None:
    agents = [
        make_agent(
            1, busy=BUSY_10, rules=(make_rule("09:00", "10:00"), make_rule("11:00", "12:00"))
        ),
        make_agent(2, absences=(span(MONDAY, "11:00", "11:30"),)),
    ]
    stations = [make_station(1, busy=(span(MONDAY, "09:00", "09:30"), BUSY_10[0])), make_station(2)]
    forward = run(agents=agents, stations=stations)
    backward = run(
        agents=[
            replace(agent, rules=agent.rules[::-1], busy=agent.busy[::-1]) for agent in agents[::-1]
        ],
        stations=[replace(station, busy=station.busy[::-1]) for station in stations[::-1]],
        site=make_site(opening_hours=make_site().opening_hours[::-1]),
    )
    assert forward == backward
    assert forward


@pytest.mark.parametrize(
    ("agents", "stations", "message"),
    [
        # the same agent twice
        ([make_agent(1), make_agent(1)], [make_station(1)], "agent 1 is given twice"),
        # the same station twice
        ([make_agent(1)], [make_station(4), make_station(4)], "station 4 is given twice"),
    ],
)
def test_duplicate_ids_are_refused(
    agents: list[AgentSchedule], stations: list[StationSchedule], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run(agents=agents, stations=stations)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        run(now=datetime(2026, 3, 2, 8, 0))


@pytest.mark.parametrize(
    "build",
    [
        # ISO weekdays run from 1 to 7
        lambda: OpeningHours(0, time(9), time(12)),
        lambda: make_rule(weekdays=frozenset({8})),
        # a cycle of zero weeks
        lambda: make_rule(every_weeks=0),
        # validity ending before it starts
        lambda: make_rule(valid_from=TUESDAY, valid_until=MONDAY),
        # wall-clock times carry no zone
        lambda: OpeningHours(1, time(9, tzinfo=UTC), time(12)),
        # durations and steps are positive, buffers and notice not negative
        lambda: make_motive(0),
        lambda: make_motive(30, step=timedelta(0)),
        lambda: make_motive(30, buffer_before=minutes(-5)),
        lambda: make_motive(30, min_notice=minutes(-5)),
        # an unknown zone
        lambda: make_site(timezone="Europe/Murat"),
        lambda: make_agent(timezone="Mars/Olympus"),
        # naive datetimes in intervals
        lambda: make_agent(busy=((datetime(2026, 3, 16, 9), datetime(2026, 3, 16, 10)),)),
        lambda: make_station(closures=((datetime(2026, 3, 16, 9), datetime(2026, 3, 16, 10)),)),
    ],
)
def test_invalid_inputs_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


# --- changes of time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_day", "offsets"),
    [
        # around the spring change (Sunday 29 March 2026): Saturday +01, Sunday and Monday +02
        (date(2026, 3, 28), ["+0100", "+0200", "+0200"]),
        # around the autumn change (Sunday 25 October 2026): Saturday +02, Sunday and Monday +01
        (date(2026, 10, 24), ["+0200", "+0100", "+0100"]),
    ],
)
def test_changes_of_time_keep_wall_clock_windows(first_day: date, offsets: list[str]) -> None:
    # A Monday-to-Sunday rule 09:00-12:00 at a site open every day 09:00-12:00: the same six
    # wall-clock slots on the day before, the day of and the day after the change.
    site = make_site(opening_hours=hours(range(1, 8), "09:00-12:00"))
    agent = make_agent(rules=(make_rule("09:00", "12:00", weekdays=EVERY_DAY),))
    slots = run(
        site=site,
        agents=[agent],
        first_day=first_day,
        last_day=first_day + timedelta(days=2),
        now=datetime(2026, 3, 1, tzinfo=UTC)
        if first_day.month == 3
        else datetime(2026, 10, 1, tzinfo=UTC),
    )
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        local = to_local(slot.start, PARIS)
        by_day.setdefault(local.date(), []).append(local.strftime("%H:%M%z"))
        assert slot.end - slot.start == minutes(30)
    assert sorted(by_day) == [first_day + timedelta(days=n) for n in range(3)]
    for day, offset in zip(sorted(by_day), offsets, strict=True):
        assert by_day[day] == [f"{clock}{offset}" for clock in MORNING]


ALL_DAY = hours(range(1, 8), "00:00-00:00")


@pytest.mark.parametrize(
    ("day", "rule", "expected"),
    [
        # 00:00-06:00 on the spring change lasts 5 hours: 02:00 does not exist
        (
            date(2026, 3, 29),
            ("00:00", "06:00"),
            ["00:00+0100", "01:00+0100", "03:00+0200", "04:00+0200", "05:00+0200"],
        ),
        # 00:00-06:00 on the autumn change lasts 7 hours: 02:00 happens twice
        (
            date(2026, 10, 25),
            ("00:00", "06:00"),
            [
                "00:00+0200",
                "01:00+0200",
                "02:00+0200",
                "02:00+0100",
                "03:00+0100",
                "04:00+0100",
                "05:00+0100",
            ],
        ),
        # a window starting inside the gap starts as far past it (03:30) and lasts 1.5 hours
        (date(2026, 3, 29), ("02:30", "05:00"), ["03:30+0200"]),
        # a window starting inside the fold starts at its first occurrence and runs 2.5 hours
        (date(2026, 10, 25), ("02:30", "05:00"), ["02:30+0200", "02:30+0100", "03:30+0100"]),
        # an ordinary night for comparison: 6 hours
        (
            date(2026, 3, 22),
            ("00:00", "06:00"),
            ["00:00+0100", "01:00+0100", "02:00+0100", "03:00+0100", "04:00+0100", "05:00+0100"],
        ),
    ],
)
def test_windows_spanning_a_change_have_their_real_length(
    day: date, rule: tuple[str, str], expected: list[str]
) -> None:
    agent = make_agent(rules=(make_rule(*rule, weekdays=EVERY_DAY),))
    slots = run(
        site=make_site(opening_hours=ALL_DAY),
        agents=[agent],
        motive=make_motive(60),
        first_day=day,
        now=datetime(2026, 3, 1, tzinfo=UTC)
        if day.month == 3
        else datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert [to_local(slot.start, PARIS).strftime("%H:%M%z") for slot in slots] == expected


# --- windows past midnight -------------------------------------------------------------------


# Open every day from noon to 06:00 the next morning: one window per date, across midnight.
NOON_TO_SIX = hours(range(1, 8), "12:00-06:00")


@pytest.mark.parametrize(
    ("rules", "site_hours", "duration", "first_day", "last_day", "expected"),
    [
        # Monday 22:00 to Tuesday 02:00, asked for Monday: the starts dated Monday
        (
            (("22:00", "02:00", {1}),),
            NOON_TO_SIX,
            60,
            MONDAY,
            MONDAY,
            ["03-16 22:00", "03-16 23:00"],
        ),
        # the same rule asked for Tuesday: its starts after midnight, dated Tuesday
        (
            (("22:00", "02:00", {1}),),
            NOON_TO_SIX,
            60,
            TUESDAY,
            TUESDAY,
            ["03-17 00:00", "03-17 01:00"],
        ),
        # 90 minutes: one grid from 22:00 across midnight; 01:00 would end after 02:00
        (
            (("22:00", "02:00", {1}),),
            NOON_TO_SIX,
            90,
            MONDAY,
            TUESDAY,
            ["03-16 22:00", "03-16 23:30"],
        ),
        # one rule 20:00-04:00: 23:00 and 00:30 straddle midnight
        (
            (("20:00", "04:00", {1}),),
            NOON_TO_SIX,
            90,
            MONDAY,
            TUESDAY,
            ["03-16 20:00", "03-16 21:30", "03-16 23:00", "03-17 00:30", "03-17 02:00"],
        ),
        # Monday 20:00-24:00 and Tuesday 00:00-04:00 touch at midnight but are two dates' windows:
        # two grids, and no slot straddles them
        (
            (("20:00", "00:00", {1}), ("00:00", "04:00", {2})),
            NOON_TO_SIX,
            90,
            MONDAY,
            TUESDAY,
            ["03-16 20:00", "03-16 21:30", "03-17 00:00", "03-17 01:30"],
        ),
        # likewise a site open 00:00-24:00 every day has one window per date: the 20:00-04:00
        # rule is cut at midnight
        (
            (("20:00", "04:00", {1}),),
            ALL_DAY,
            90,
            MONDAY,
            TUESDAY,
            ["03-16 20:00", "03-16 21:30", "03-17 00:00", "03-17 01:30"],
        ),
        # a Sunday-night rule into Monday, asked for Monday: its after-midnight start counts
        ((("23:00", "01:00", {7}),), NOON_TO_SIX, 60, MONDAY, MONDAY, ["03-16 00:00"]),
    ],
)
def test_windows_past_midnight(
    rules: tuple[tuple[str, str, set[int]], ...],
    site_hours: tuple[OpeningHours, ...],
    duration: int,
    first_day: date,
    last_day: date,
    expected: list[str],
) -> None:
    agent = make_agent(
        rules=tuple(make_rule(start, end, weekdays=frozenset(days)) for start, end, days in rules)
    )
    slots = run(
        site=make_site(opening_hours=site_hours),
        agents=[agent],
        motive=make_motive(duration),
        first_day=first_day,
        last_day=last_day,
    )
    assert dated_clocks(slots) == expected


def test_site_hours_past_midnight() -> None:
    # A site open Monday 20:00 to Tuesday 01:00. An agent available all Monday and all Tuesday
    # has two windows meeting at midnight, so the site's window is cut there: 20:00 to 23:00
    # from Monday's, 00:00 from Tuesday's.
    site = make_site(opening_hours=(OpeningHours(1, time(20), time(1)),))
    both_days = make_agent(rules=(make_rule("00:00", "00:00", weekdays=frozenset({1, 2})),))
    slots = run(
        site=site, agents=[both_days], motive=make_motive(60), first_day=MONDAY, last_day=TUESDAY
    )
    assert dated_clocks(slots) == [
        "03-16 20:00",
        "03-16 21:00",
        "03-16 22:00",
        "03-16 23:00",
        "03-17 00:00",
    ]
    # An agent whose one rule runs Monday 19:30 to Tuesday 02:00: one grid from 20:00, and
    # 90-minute slots across midnight.
    overnight = make_agent(rules=(make_rule("19:30", "02:00", weekdays=frozenset({1})),))
    slots = run(
        site=site, agents=[overnight], motive=make_motive(90), first_day=MONDAY, last_day=TUESDAY
    )
    assert dated_clocks(slots) == ["03-16 20:00", "03-16 21:30", "03-16 23:00"]


# --- agents and sites in different zones -----------------------------------------------------

WINTER_MONDAY = date(2026, 1, 19)
SUMMER_MONDAY = date(2026, 6, 15)


@pytest.mark.parametrize(
    ("site_zone", "site_hours", "rule", "day", "expected"),
    [
        # Paris agent 08:00-12:00 in winter (UTC+1) is 11:00-15:00 in La Réunion (UTC+4); the
        # house's lunch break cuts it
        (
            REUNION,
            ("08:00-12:00", "13:00-16:30"),
            ("08:00", "12:00"),
            WINTER_MONDAY,
            ["11:00", "11:30", "13:00", "13:30", "14:00", "14:30"],
        ),
        # in summer (UTC+2) the same rule is 10:00-14:00 there
        (
            REUNION,
            ("08:00-12:00", "13:00-16:30"),
            ("08:00", "12:00"),
            SUMMER_MONDAY,
            ["10:00", "10:30", "11:00", "11:30", "13:00", "13:30"],
        ),
        # Paris agent 13:00-17:00 in winter is 09:00-13:00 in Guyane (UTC-3)
        (
            CAYENNE,
            ("08:00-12:00", "13:30-17:00"),
            ("13:00", "17:00"),
            WINTER_MONDAY,
            ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
        ),
        # and 08:00-12:00 there in summer
        (
            CAYENNE,
            ("08:00-12:00", "13:30-17:00"),
            ("13:00", "17:00"),
            SUMMER_MONDAY,
            ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30"],
        ),
        # a Paris morning rule finds a Guyane house still closed
        (
            CAYENNE,
            ("08:00-12:00", "13:30-17:00"),
            ("08:00", "12:00"),
            WINTER_MONDAY,
            [],
        ),
    ],
)
def test_paris_agent_serving_an_overseas_house(
    site_zone: str,
    site_hours: tuple[str, ...],
    rule: tuple[str, str],
    day: date,
    expected: list[str],
) -> None:
    site = make_site(timezone=site_zone, opening_hours=hours(range(1, 6), *site_hours))
    agent = make_agent(rules=(make_rule(*rule),))
    slots = run(
        site=site,
        agents=[agent],
        first_day=day,
        now=datetime(2026, 1, 1, tzinfo=UTC)
        if day.month == 1
        else datetime(2026, 6, 1, tzinfo=UTC),
    )
    assert clocks(slots, site_zone) == expected


def test_agent_weekday_is_the_agents_own() -> None:
    # A Monday rule 00:30-02:00 in Paris (winter) falls on Sunday evening in Guyane,
    # 20:30-22:00: the house sees it on its Sunday, and not on its Monday.
    site = make_site(timezone=CAYENNE, opening_hours=hours([7], "20:00-23:00"))
    agent = make_agent(rules=(make_rule("00:30", "02:00", weekdays=frozenset({1})),))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    sunday = date(2026, 1, 18)
    slots = run(site=site, agents=[agent], first_day=sunday, now=now)
    assert dated_clocks(slots, CAYENNE) == ["01-18 20:30", "01-18 21:00", "01-18 21:30"]
    assert run(site=site, agents=[agent], first_day=WINTER_MONDAY, now=now) == []


def test_agent_in_another_zone_sees_the_same_instants() -> None:
    # Agent 1 in Paris 09:00-12:00 and agent 2 in La Réunion 12:00-15:00 (its winter
    # equivalent) offer the same instants at a Paris house; each reads them on their own clock.
    paris_agent = make_agent(1, rules=(make_rule("09:00", "12:00"),))
    reunion_agent = make_agent(2, timezone=REUNION, rules=(make_rule("12:00", "15:00"),))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    slots = run(agents=[paris_agent, reunion_agent], first_day=WINTER_MONDAY, now=now)
    by_agent: dict[int, list[datetime]] = {1: [], 2: []}
    for slot in slots:
        by_agent[slot.agent_id].append(slot.start)
    assert by_agent[1] == by_agent[2]
    assert len(by_agent[1]) == 6
    assert [to_local(start, REUNION).strftime("%H:%M") for start in by_agent[2]] == [
        "12:00",
        "12:30",
        "13:00",
        "13:30",
        "14:00",
        "14:30",
    ]
    assert all(slot.start.tzinfo is UTC for slot in slots)


# --- validating a booking request ------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "agent_id", "station_id", "expected_station"),
    [
        # on the grid, any station: the first free one
        ("10:00", 1, None, 1),
        # on the grid, station 2 asked for explicitly: granted although station 1 is free
        ("10:00", 1, 2, 2),
        # off the grid
        ("10:15", 1, None, None),
        # outside the rule
        ("14:00", 1, None, None),
        # an unknown agent
        ("10:00", 9, None, None),
        # an unknown station
        ("10:00", 1, 9, None),
        # station 1 is busy at 11:00: it cannot be chosen, station 2 can
        ("11:00", 1, 1, None),
        ("11:00", 1, None, 2),
    ],
)
def test_is_bookable(
    start: str, agent_id: int, station_id: int | None, expected_station: int | None
) -> None:
    stations = [make_station(1, busy=(span(MONDAY, "11:00", "11:30"),)), make_station(2)]
    slot = is_bookable(
        paris(MONDAY, start),
        agent_id,
        station_id,
        make_site(),
        stations,
        make_motive(),
        [make_agent()],
        NOW,
    )
    if expected_station is None:
        assert slot is None
    else:
        assert slot == Slot(
            paris(MONDAY, start), paris(MONDAY, start) + minutes(30), agent_id, expected_station
        )


def test_is_bookable_agrees_with_find_slots_over_a_week() -> None:
    # Everything the listing offers over a busy week is accepted, with the same station, even
    # for slots past midnight or around a change of time.
    site = make_site(opening_hours=hours(range(1, 8), "08:00-12:00", "13:30-23:00", "23:30-01:00"))
    agents = [
        make_agent(
            1,
            rules=(
                make_rule("07:00", "12:00", weekdays=EVERY_DAY),
                make_rule("22:00", "00:30", weekdays=EVERY_DAY),
            ),
        ),
        make_agent(
            2,
            rules=(make_rule("10:10", "18:00", weekdays=EVERY_DAY),),
            busy=(span(date(2026, 3, 29), "11:00", "12:00"),),
        ),
    ]
    stations = [make_station(1, busy=(span(date(2026, 3, 30), "10:00", "11:00"),)), make_station(2)]
    motive = make_motive(40, step=minutes(20), buffer_before=minutes(5))
    slots = find_slots(site, stations, motive, agents, date(2026, 3, 26), date(2026, 4, 1), NOW)
    assert len(slots) > 100
    for slot in slots:
        assert (
            is_bookable(slot.start, slot.agent_id, None, site, stations, motive, agents, NOW)
            == slot
        )
