"""The demo's history: visio sessions since 2019, the coming weeks' bookings, desk requests.

`History` only draws: it reads the stored houses, partners and agents and returns typed
records; `visio.demo.storage` writes them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from visio.db.models import Agent, AppointmentStatus, Motive, RequestChannel, Station
from visio.demo.days import local, paris_time, today_in_paris, working_days
from visio.demo.figures import (
    ACCOMPANIED_AGAIN_SHARE,
    CHANNEL_WEIGHTS,
    NOT_HELD_SHARES,
    PARTNER_THEMES,
    UNATTACHED_SHARE,
    UNATTACHED_THEMES,
    desk_requests_per_year,
    held_per_year,
    people_accompanied_per_year,
)
from visio.demo.people import FIRST_NAMES, LAST_NAMES, email_address
from visio.demo.records import (
    DrawnAppointment,
    DrawnCitizen,
    DrawnDeskRequest,
    House,
    PartnerTeam,
    Permanence,
)
from visio.meetings.rooms import new_room_name
from visio.scheduling.calendars import public_holidays

# The hours a past session may start at: mornings and afternoons of the houses.
SESSION_HOURS = (9, 10, 11, 14, 15, 16)
# Citizens' details are kept this long: older appointments have none.
RETENTION = timedelta(days=90)
# How far ahead the agents' permanences are already booked, and how full they are: the
# coming week fully, so every agent's agenda has its week; later weeks about half.
COMING_DAYS = 21
FULL_DAYS = 7
COMING_FILL = 0.55
# Today, at every house, whatever the day: sessions held 3 and 2 hours ago, one starting
# within the hour, two later; the demo shows a desk at work the moment it starts.
TODAY_HELD_HOURS_AGO = (3, 2)
TODAY_COMING_HOURS_AHEAD = (1, 2, 4)
# Whose agenda the demo's agent account shows: the desk account's first house sees her.
DEMO_AGENT = "Isabelle Delmas"


class History:
    """A community's visio sessions and desk requests since 2019, from one generator.

    The draws come in a fixed order (the past years, the coming weeks, then the desk
    requests), so one seed and one `now` always give the same history: call
    `appointments()` then `desk_requests()`, once each.
    """

    def __init__(
        self,
        houses: Sequence[House],
        teams: Sequence[PartnerTeam],
        permanences: Mapping[int, Sequence[Permanence]],
        *,
        now: datetime,
        rng: random.Random,
    ) -> None:
        self._houses = houses
        self._teams = teams
        self._permanences = permanences
        self._now = now
        self._rng = rng
        self._today = today_in_paris(now)
        self._weights = [team.spec.weight for team in teams]
        # (agent or station, its id, day, hour) already taken: one appointment per hour cell.
        self._taken: set[tuple[str, int, date, int]] = set()
        self._drawn: list[DrawnAppointment] = []

    def appointments(self) -> list[DrawnAppointment]:
        """Past appointments (held, missed, cancelled), then the coming weeks' bookings.

        Each year has exactly its figure of held sessions; no agent and no station has two
        appointments in the same hour.
        """
        held_today = len(self._houses) * len(TODAY_HELD_HOURS_AGO)
        for year, held in sorted(held_per_year(self._today).items()):
            # Today's held sessions count in this year's figure.
            self._draw_year(year, max(0, held - held_today) if year == self._today.year else held)
        self._draw_today()
        self._draw_coming_weeks()
        return self._drawn

    def desk_requests(self) -> list[DrawnDeskRequest]:
        """The requests counted at the Hautes Terres desks, year by year, up to yesterday: as
        many people accompanied each year as the community published."""
        rng = self._rng
        hautes_terres = [house.site for house in self._houses if house.spec.in_hautes_terres]
        channels = [RequestChannel(name) for name in CHANNEL_WEIGHTS]
        people = people_accompanied_per_year(self._today)
        drawn = []
        for year, count in sorted(desk_requests_per_year(self._today).items()):
            closed = public_holidays(None, date(year, 1, 1), date(year, 12, 31))
            days = list(working_days(date(year, 1, 1), date(year, 12, 31), closed))
            accompanied = people[year]
            if year == self._today.year:
                share = sum(day < self._today for day in days) / len(days)
                count, accompanied = round(count * share), round(accompanied * share)
                days = [day for day in days if day < self._today]
            newcomers = set(rng.sample(range(count), accompanied))
            for number in range(count):
                new = number in newcomers
                again = not new and rng.random() < ACCOMPANIED_AGAIN_SHARE
                moment = time(rng.randint(9, 16), rng.randrange(0, 60, 5))
                if rng.random() < UNATTACHED_SHARE:
                    partner_id, theme, kind = None, rng.choice(UNATTACHED_THEMES), None
                else:
                    team = rng.choices(self._teams, self._weights)[0]
                    partner_id, kind = team.partner.id, rng.choice(team.spec.desk_kinds)
                    theme = PARTNER_THEMES[team.spec.code]
                drawn.append(
                    DrawnDeskRequest(
                        site_id=rng.choice(hautes_terres).id, partner_id=partner_id,
                        theme=theme, kind=kind,
                        channel=rng.choices(channels, list(CHANNEL_WEIGHTS.values()))[0],
                        accompanied=new or again, new_person=new,
                        at=local(rng.choice(days), moment),
                    )
                )  # fmt: skip
        return drawn

    def _draw_year(self, year: int, held: int) -> None:
        """`held` sessions held that year before today, and the missed and cancelled ones."""
        rng = self._rng
        open_houses = [house for house in self._houses if house.spec.since <= year]
        last_day = min(date(year, 12, 31), self._today - timedelta(days=1))
        closed = public_holidays(None, date(year, 1, 1), date(year, 12, 31))
        days = list(working_days(date(year, 1, 1), last_day, closed))
        if year == 2019:
            days = [day for day in days if day.month >= 9]  # the first visio sessions, autumn 2019
        plan = [AppointmentStatus.HELD] * held
        for status, share in NOT_HELD_SHARES:
            plan += [status] * round(held * share)
        for status in plan:
            # Draw again until the house is open that day and the agent and a station free.
            while True:
                day = rng.choice(days)
                house = rng.choice(open_houses)
                if day.isoweekday() not in house.spec.weekdays:
                    continue
                team = rng.choices(self._teams, self._weights)[0]
                agent = rng.choice(team.agents)
                hour = rng.choice(SESSION_HOURS)
                if self._add(day, hour, house, team, agent, status):
                    break

    def _draw_today(self) -> None:
        """Every house's day so far and to come: held sessions, one about to start (with the
        demo's agent at the first house), later ones; hours outside today are left out."""
        rng = self._rng
        now_hour = paris_time(self._now).hour
        demo_team, demo_agent = next(
            (team, agent) for team in self._teams for agent in team.agents
            if agent.name == DEMO_AGENT
        )  # fmt: skip
        for index, house in enumerate(self._houses):
            plan = [(now_hour - ago, AppointmentStatus.HELD) for ago in TODAY_HELD_HOURS_AGO]
            plan += [
                (now_hour + ahead, AppointmentStatus.BOOKED) for ahead in TODAY_COMING_HOURS_AHEAD
            ]
            for position, (hour, status) in enumerate(plan):
                if not 0 <= hour <= 23:
                    continue
                next_one = position == len(TODAY_HELD_HOURS_AGO)
                if next_one and index == 0:
                    candidates = [(demo_team, demo_agent)]
                else:
                    candidates = [(team, agent) for team in self._teams for agent in team.agents]
                    rng.shuffle(candidates)
                for team, agent in candidates:
                    # On the hour: the one about to start is within the hour of now.
                    if self._add(self._today, hour, house, team, agent, status, minute=0):
                        break

    def _draw_coming_weeks(self) -> None:
        """Bookings inside the agents' permanences, at about half of them."""
        rng = self._rng
        by_site_id = {house.site.id: house for house in self._houses}
        first, last = self._today + timedelta(days=1), self._today + timedelta(days=COMING_DAYS)
        closed = public_holidays(None, self._today, last)
        for day in working_days(first, last, closed):
            for team in self._teams:
                for agent in team.agents:
                    for permanence in self._permanences[agent.id]:
                        fill = (
                            1.0 if day <= self._today + timedelta(days=FULL_DAYS) else COMING_FILL
                        )
                        if permanence.weekday != day.isoweekday() or rng.random() > fill:
                            continue
                        house = by_site_id[rng.choice(permanence.site_ids)]
                        if day.isoweekday() not in house.spec.weekdays:
                            continue
                        start, end = permanence.hours
                        hours = [h for h in range(start.hour, end.hour) if time(h) >= start]
                        hour = rng.choice(hours)
                        self._add(day, hour, house, team, agent, AppointmentStatus.BOOKED)

    def _add(
        self,
        day: date,
        hour: int,
        house: House,
        team: PartnerTeam,
        agent: Agent,
        status: AppointmentStatus,
        *,
        minute: int | None = None,
    ) -> bool:
        """Draw an appointment in that hour cell (at `minute`, or one the motive fits in);
        False, drawing nothing, if it is taken."""
        # Within its hour cell, buffers included, so no two appointments' busy time meets.
        motives = team.motives
        if minute is not None:
            motives = tuple(motive for motive in motives if _fits(motive, minute))
            if not motives:
                return False
        station = self._place(day, hour, house.stations, agent)
        if station is None:
            return False
        rng = self._rng
        motive = rng.choice(motives)
        if minute is None:
            minute = rng.choice([at for at in (0, 15, 30) if _fits(motive, at)] or [0])
        start = local(day, time(hour, minute))
        end = start + timedelta(minutes=motive.duration_minutes)
        citizen = self._citizen(start) if day >= self._today - RETENTION else None
        booked_at = min(
            self._now, start - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 6))
        )
        self._drawn.append(
            DrawnAppointment(
                site_id=house.site.id,
                station_id=station.id,
                partner_id=team.partner.id,
                motive_id=motive.id,
                agent_id=agent.id,
                citizen=citizen,
                start_at=start,
                end_at=end,
                busy_from=start - timedelta(minutes=motive.buffer_before_minutes),
                busy_until=end + timedelta(minutes=motive.buffer_after_minutes),
                status=status,
                room=new_room_name(rng.randbytes),
                booked_at=booked_at,
                updated_at=booked_at if status is AppointmentStatus.BOOKED else min(self._now, end),
            )
        )
        return True

    def _place(
        self, day: date, hour: int, stations: Sequence[Station], agent: Agent
    ) -> Station | None:
        """Take the hour cell for the agent and the first free station, if both are free."""
        if ("agent", agent.id, day, hour) in self._taken:
            return None
        for station in stations:
            if ("station", station.id, day, hour) not in self._taken:
                self._taken.add(("agent", agent.id, day, hour))
                self._taken.add(("station", station.id, day, hour))
                return station
        return None

    def _citizen(self, start: datetime) -> DrawnCitizen:
        """A citizen who registered a few days before `start`; many give no email address."""
        rng = self._rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        with_email = rng.random() < 0.45
        phone = f"06{rng.randrange(10**8):08d}" if rng.random() < 0.8 else None
        return DrawnCitizen(
            first_name=first,
            last_name=last,
            email=email_address(f"{first} {last}", "courriel.example") if with_email else None,
            phone=phone,
            created_at=min(self._now, start - timedelta(days=rng.randint(1, 10))),
        )


def _fits(motive: Motive, minute: int) -> bool:
    """Whether the motive, buffers included, fits in its hour cell from `minute` on."""
    return (
        minute >= motive.buffer_before_minutes
        and minute + motive.duration_minutes + motive.buffer_after_minutes <= 60
    )
