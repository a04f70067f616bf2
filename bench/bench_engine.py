"""Slot engine figures on a generated, realistic data set.

Builds, from ``random.Random(seed)``, a world of 5 France Services houses (1-2 visio stations
each, metropolitan opening hours and holidays), 7 partners with 2-3 motives each, N partner
agents (rules over 2-5 weekday half-days, some every other week, some with an end date, a few
absences) and 2,000 existing bookings over the 4 weeks, placed one by one on slots the engine
itself offers, so that no agent and no station is ever double-booked. Then it times
``find_slots`` for every (site, motive) over the 28 days, with the stations of the site and the
agents of the motive's partner (what the availability service loads), many times over, and
prints median and p95 per call, the slots returned and the 200-agent / 50-agent ratio.

Same-run baseline: in the same rounds, call by call, a bare Python loop sorting and merging
the intervals each query's inputs hold over the 28 days (the house's opening hours, the
agents' rule windows on their weekdays, the busy times of the agents and the stations): a
job of the same size done without the engine, so that the engine's figures can be compared
across machines and days as a multiple of it. Its median and the engine's multiple of it
are printed and marked as results for `python -m bench` (bench/report.py).

    python bench/bench_engine.py [--seed 7] [--repeat 15]

Targets: median <= 5 ms with 50 agents; 200 agents <= 4.5 x the 50-agent median.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time as clock
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from visio.scheduling import slots as engine
from visio.scheduling.calendars import public_holidays, to_utc
from visio.scheduling.slots import (
    AgentSchedule,
    AvailabilityRule,
    MotiveTiming,
    OpeningHours,
    SiteCalendar,
    StationSchedule,
    find_slots,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import result

ZONE = "Europe/Paris"
# Four weeks from Monday 16 March 2026: spans the change to summer time (29 March) and Easter
# Monday (6 April), as a real month of bookings does.
FIRST_DAY = date(2026, 3, 16)
LAST_DAY = FIRST_DAY + timedelta(days=27)
NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
SITE_NAMES = ("Murat", "Massiac", "Neussargues", "Allanche", "Riom-ès-Montagnes")
# Partners and their share of the agents: France Travail, CAF and Assurance maladie first,
# as in the houses' desk statistics.
PARTNERS = (
    ("France Travail", 0.22),
    ("CAF", 0.20),
    ("CPAM", 0.18),
    ("ANTS", 0.12),
    ("MSA", 0.10),
    ("Carsat", 0.09),
    ("DGFiP", 0.09),
)
BOOKINGS = 2_000
MORNINGS = ((time(8, 30), time(12, 30)), (time(9), time(12, 30)), (time(9), time(12)))
AFTERNOONS = ((time(13, 30), time(17, 30)), (time(14), time(17, 30)), (time(13, 30), time(17)))


@dataclass(frozen=True, slots=True)
class World:
    sites: tuple[SiteCalendar, ...]
    stations_by_site: dict[int, tuple[StationSchedule, ...]]
    motives_by_partner: dict[int, tuple[MotiveTiming, ...]]
    agents_by_partner: dict[int, tuple[AgentSchedule, ...]]
    bookings_here: int
    bookings_elsewhere: int


def build_sites(rng: random.Random) -> tuple[list[SiteCalendar], dict[int, list[StationSchedule]]]:
    holidays = public_holidays(None, FIRST_DAY, LAST_DAY)
    sites: list[SiteCalendar] = []
    stations: dict[int, list[StationSchedule]] = {}
    station_id = 0
    for site_id in range(1, len(SITE_NAMES) + 1):
        hours = []
        for weekday in range(1, 6):
            hours.append(OpeningHours(weekday, time(8, 30), time(12, 30)))
            # Most houses close one afternoon a week.
            if weekday != rng.choice((3, 5, 0)):
                hours.append(OpeningHours(weekday, time(13, 30), time(17, 30)))
        if rng.random() < 0.4:
            hours.append(OpeningHours(6, time(9), time(12)))
        closures: tuple[tuple[datetime, datetime], ...] = ()
        if rng.random() < 0.5:
            day = FIRST_DAY + timedelta(days=rng.randrange(28))
            closures = ((_at(day, time(12)), _at(day, time(18))),)
        sites.append(SiteCalendar(site_id, ZONE, tuple(hours), holidays, closures))
        stations[site_id] = []
        for _ in range(rng.choice((1, 2, 2))):
            station_id += 1
            station_closures: tuple[tuple[datetime, datetime], ...] = ()
            if rng.random() < 0.3:
                day = FIRST_DAY + timedelta(days=rng.randrange(28))
                station_closures = ((_at(day, time(8)), _at(day, time(18))),)
            stations[site_id].append(StationSchedule(station_id, station_closures, ()))
    return sites, stations


def build_motives(rng: random.Random) -> dict[int, list[MotiveTiming]]:
    motives: dict[int, list[MotiveTiming]] = {}
    motive_id = 0
    for partner_id in range(1, len(PARTNERS) + 1):
        motives[partner_id] = []
        for _ in range(rng.choice((2, 3))):
            motive_id += 1
            duration = timedelta(minutes=rng.choice((20, 30, 30, 45, 60)))
            motives[partner_id].append(
                MotiveTiming(
                    motive_id,
                    duration,
                    step=rng.choice((None, None, timedelta(minutes=15))),
                    buffer_before=timedelta(minutes=rng.choice((0, 0, 5, 10))),
                    buffer_after=timedelta(minutes=rng.choice((0, 5, 10))),
                    min_notice=timedelta(hours=rng.choice((0, 2, 24))),
                )
            )
    return motives


def build_agents(
    rng: random.Random, agent_count: int, motives: dict[int, list[MotiveTiming]]
) -> dict[int, list[AgentSchedule]]:
    weights = [weight for _, weight in PARTNERS]
    partner_ids = list(range(1, len(PARTNERS) + 1))
    # Every partner has at least one agent; the rest follow the partners' shares.
    owners = partner_ids + rng.choices(partner_ids, weights, k=agent_count - len(partner_ids))
    agents: dict[int, list[AgentSchedule]] = {partner_id: [] for partner_id in partner_ids}
    site_ids = list(range(1, len(SITE_NAMES) + 1))
    for agent_id, partner_id in enumerate(owners, start=1):
        served = rng.sample(site_ids, rng.choice((1, 2, 2, 3)))
        half_days = rng.sample([(w, h) for w in range(1, 6) for h in (0, 1)], rng.randint(2, 5))
        rules = []
        for half in (0, 1):
            weekdays = frozenset(w for w, h in half_days if h == half)
            if not weekdays:
                continue
            start, end = rng.choice(MORNINGS if half == 0 else AFTERNOONS)
            partner_motives = [motive.motive_id for motive in motives[partner_id]]
            every_other_week = rng.random() < 0.2
            rules.append(
                AvailabilityRule(
                    weekdays,
                    start,
                    end,
                    every_weeks=2 if every_other_week else 1,
                    anchor_date=FIRST_DAY + timedelta(days=7 * rng.randrange(2)),
                    valid_until=LAST_DAY - timedelta(days=7) if rng.random() < 0.1 else None,
                    site_ids=None if rng.random() < 0.2 else frozenset(served),
                    motive_ids=(
                        None
                        if rng.random() < 0.7
                        else frozenset(rng.sample(partner_motives, len(partner_motives) - 1))
                    ),
                )
            )
        absences: tuple[tuple[datetime, datetime], ...] = ()
        if rng.random() < 0.2:
            day = FIRST_DAY + timedelta(days=rng.randrange(28))
            absences = ((_at(day, time(0)), _at(day + timedelta(days=rng.randint(1, 5)), time(0))),)
        agents[partner_id].append(AgentSchedule(agent_id, ZONE, tuple(rules), absences, ()))
    return agents


def book(
    rng: random.Random,
    sites: list[SiteCalendar],
    stations: dict[int, list[StationSchedule]],
    motives: dict[int, list[MotiveTiming]],
    agents: dict[int, list[AgentSchedule]],
) -> tuple[int, int]:
    """Place BOOKINGS appointments on slots the engine offers, one day at a time.

    A remote agent serves many houses besides these five: about half of the bookings are
    sessions with another house's station, which make the agent busy but leave these stations
    free (otherwise 2,000 sessions in four weeks would fill nine stations to the brim).
    Returns (bookings here, bookings elsewhere).
    """
    here = elsewhere = 0
    for _ in range(BOOKINGS * 20):
        if here + elsewhere == BOOKINGS:
            break
        site = rng.choice(sites)
        partner_id = rng.choice(list(motives))
        motive = rng.choice(motives[partner_id])
        day = FIRST_DAY + timedelta(days=rng.randrange(28))
        at_this_house = rng.random() < 0.45
        site_stations = stations[site.site_id] if at_this_house else [StationSchedule(0, (), ())]
        offered = find_slots(site, site_stations, motive, agents[partner_id], day, day, NOW)
        if not offered:
            continue
        slot = rng.choice(offered)
        # What the booking service stores as busy: the session widened by its buffers.
        busy = (slot.start - motive.buffer_before, slot.end + motive.buffer_after)
        if at_this_house:
            for index, station in enumerate(site_stations):
                if station.station_id == slot.station_id:
                    site_stations[index] = replace(station, busy=(*station.busy, busy))
            here += 1
        else:
            elsewhere += 1
        partner_agents = agents[partner_id]
        for index, agent in enumerate(partner_agents):
            if agent.agent_id == slot.agent_id:
                partner_agents[index] = replace(agent, busy=(*agent.busy, busy))
    return here, elsewhere


def build_world(agent_count: int, seed: int, *, with_bookings: bool = True) -> World:
    rng = random.Random(seed)
    sites, stations = build_sites(rng)
    motives = build_motives(rng)
    agents = build_agents(rng, agent_count, motives)
    here, elsewhere = book(rng, sites, stations, motives, agents) if with_bookings else (0, 0)
    return World(
        tuple(sites),
        {site_id: tuple(listed) for site_id, listed in stations.items()},
        {partner_id: tuple(listed) for partner_id, listed in motives.items()},
        {partner_id: tuple(listed) for partner_id, listed in agents.items()},
        here,
        elsewhere,
    )


Interval = tuple[datetime, datetime]


def query_intervals(world: World, site: SiteCalendar, partner_id: int) -> list[Interval]:
    """The intervals one query's inputs hold over the 28 days, for the bare baseline: the
    house's opening hours each day, each agent's rule windows on the days of their weekdays
    (as UTC, without the engine's zone arithmetic), the busy times of the agents and of the
    house's stations."""
    intervals: list[Interval] = []
    agents = world.agents_by_partner[partner_id]
    for offset in range((LAST_DAY - FIRST_DAY).days + 1):
        day = FIRST_DAY + timedelta(days=offset)
        weekday = day.isoweekday()
        windows = [(hours.start, hours.end) for hours in site.opening_hours
                   if hours.weekday == weekday]  # fmt: skip
        windows += [(rule.start, rule.end) for agent in agents for rule in agent.rules
                    if weekday in rule.weekdays]  # fmt: skip
        intervals += [
            (datetime.combine(day, start, UTC), datetime.combine(day, end, UTC))
            for start, end in windows
        ]
    for agent in agents:
        intervals += agent.busy
    for station in world.stations_by_site[site.site_id]:
        intervals += station.busy
    return intervals


def merged(intervals: list[Interval]) -> list[Interval]:
    """The bare job: the intervals sorted, those that overlap or touch joined."""
    joined: list[Interval] = []
    for start, end in sorted(intervals):
        if joined and start <= joined[-1][1]:
            if end > joined[-1][1]:
                joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def measure(
    world: World, repeat: int
) -> tuple[list[float], list[int], float, list[float], list[int]]:
    """Time find_slots for every (site, motive) over the 28 days, and in the same rounds the
    bare baseline on the same query's intervals; return per-call times in ms, slots per
    (site, motive), the very first call's time with a cold zone cache, the baseline's
    per-call times in ms and its intervals per (site, motive)."""
    times: list[float] = []
    counts: list[int] = []
    bare_times: list[float] = []
    sizes: list[int] = []
    # Empty the engine's wall-clock conversion cache, so that the first call shows the cost of
    # a fresh process.
    engine._wall_micros.cache_clear()
    cold = 0.0
    for site in world.sites:
        for partner_id, partner_motives in world.motives_by_partner.items():
            for motive in partner_motives:
                arguments = (
                    site,
                    world.stations_by_site[site.site_id],
                    motive,
                    world.agents_by_partner[partner_id],
                    FIRST_DAY,
                    LAST_DAY,
                    NOW,
                )
                intervals = query_intervals(world, site, partner_id)
                for round_ in range(repeat):
                    started = clock.perf_counter()
                    offered = find_slots(*arguments)
                    elapsed = (clock.perf_counter() - started) * 1000
                    if not times and round_ == 0:
                        cold = elapsed
                    times.append(elapsed)
                    started = clock.perf_counter()
                    merged(intervals)
                    bare_times.append((clock.perf_counter() - started) * 1000)
                counts.append(len(offered))
                sizes.append(len(intervals))
    return times, counts, cold, bare_times, sizes


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=15)
    arguments = parser.parse_args()

    medians: dict[int, float] = {}
    bare_medians: dict[int, float] = {}
    # The third run, agendas without any booking, is the most output per call.
    for agent_count, with_bookings in ((50, True), (200, True), (50, False)):
        started = clock.perf_counter()
        world = build_world(agent_count, arguments.seed, with_bookings=with_bookings)
        built = clock.perf_counter() - started
        times, counts, cold, bare_times, sizes = measure(world, arguments.repeat)
        if with_bookings:
            medians[agent_count] = statistics.median(times)
            bare_medians[agent_count] = statistics.median(bare_times)
        station_count = sum(len(listed) for listed in world.stations_by_site.values())
        partner_sizes = sorted(len(listed) for listed in world.agents_by_partner.values())
        print(
            f"{agent_count} agents (per partner {partner_sizes}), {len(world.sites)} sites, "
            f"{station_count} stations, {world.bookings_here + world.bookings_elsewhere} bookings "
            f"({world.bookings_here} at these stations), built in {built:.1f} s"
        )
        print(
            f"  find_slots, one (site, motive), 28 days: {len(counts)} queries x "
            f"{arguments.repeat} runs: median {statistics.median(times):.3f} ms, "
            f"p95 {p95(times):.3f} ms, max {max(times):.3f} ms, first call {cold:.3f} ms"
        )
        print(
            f"  slots returned per query: median {statistics.median(counts):.0f}, "
            f"max {max(counts)}, total {sum(counts)}"
        )
        bare, engine_median = statistics.median(bare_times), statistics.median(times)
        print(
            f"  same-run baseline, bare Python sorting and merging the query's intervals "
            f"(median {statistics.median(sizes):.0f} a query): median {bare:.3f} ms, "
            f"p95 {p95(bare_times):.3f} ms | find_slots median = {engine_median / bare:.1f}x it"
        )
    ratio = medians[200] / medians[50]
    print(f"200 / 50 agents, median time ratio: {ratio:.2f}")
    targets = {
        50: f"median <= 5 ms: {_verdict(medians[50] <= 5)}",
        200: f"200/50 = {ratio:.2f} <= 4.5: {_verdict(ratio <= 4.5)}",
    }
    for agent_count, target in targets.items():
        engine_median, bare = medians[agent_count], bare_medians[agent_count]
        result(bench="engine", database="-",
               figure=f"find_slots {agent_count} agents, median {engine_median:.2f} ms",
               baseline=f"bare Python sort+merge of its intervals, median {bare:.3f} ms",
               share=engine_median / bare, check=target)  # fmt: skip


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _at(day: date, wall: time) -> datetime:
    # Closures and absences are entered on the Paris wall clock, like the ones users enter.
    return to_utc(day, wall, ZONE)


if __name__ == "__main__":
    main()
