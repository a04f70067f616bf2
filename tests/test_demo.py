"""The demo data set: the published figures, coherent bookings, and a command that serves it."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tests.test_cli import environment, listening_port
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import (
    ACTIVE_STATUSES,
    Agent,
    Appointment,
    AppointmentStatus,
    AvailabilityRule,
    Citizen,
    DeskRequest,
    RequestChannel,
    Role,
    Site,
    User,
)
from visio.demo import SEED, populate, prepare_demo
from visio.services import dashboard
from visio.services.permissions import Actor
from visio.settings import Settings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_the_demo_data_set(session: AsyncSession) -> None:
    """One population (it takes seconds), four properties of it."""
    await populate(session, now=NOW, rng=random.Random(SEED))
    await _shows_the_published_figures(session)
    await _draws_the_same_history_from_the_same_seed(session)
    await _never_double_books(session)
    await _keeps_no_old_citizen_data(session)
    await _is_alive_today(session)
    await _reads_the_founding_figures_on_the_dashboard(session)


async def _shows_the_published_figures(session: AsyncSession) -> None:
    year = func.extract("year", Appointment.start_at)
    held = dict(
        (int(y), n)
        for y, n in (
            await session.execute(
                select(year, func.count())
                .where(Appointment.status == AppointmentStatus.HELD)
                .group_by(year)
            )
        ).all()
    )
    assert held[2019] == 12
    assert held[2020] == 110
    # then it keeps growing, year after year
    assert [held[y] for y in range(2020, 2026)] == sorted(held[y] for y in range(2020, 2026))
    assert held[2026] > 0
    # every status is present, and the coming weeks are booked
    statuses = set((await session.scalars(select(Appointment.status).distinct())).all())
    assert statuses == set(AppointmentStatus)
    upcoming = await session.scalar(
        select(func.count()).where(Appointment.start_at > NOW, Appointment.status == "booked")
    )
    assert upcoming and upcoming >= 20
    # 8,620 desk requests in 2020, about 24 a working day
    desk_year = func.extract("year", DeskRequest.at)
    assert await session.scalar(select(func.count()).where(desk_year == 2020)) == 8_620
    # 1,954 people accompanied in 2020 against 1,634 in 2019, each counted once that year
    people = dict(
        (int(year), count)
        for year, count in (
            await session.execute(
                select(desk_year, func.count())
                .where(DeskRequest.accompanied, DeskRequest.new_person)
                .group_by(desk_year)
            )
        ).all()
    )
    assert (people[2019], people[2020]) == (1_634, 1_954)
    # every request has a theme; every channel is used; the day is the house's
    assert await session.scalar(select(func.count()).where(DeskRequest.theme_id.is_(None))) == 0
    channels = set((await session.scalars(select(DeskRequest.channel).distinct())).all())
    assert channels == set(RequestChannel)
    names = set((await session.scalars(select(Site.commune))).all())
    assert {"Murat", "Massiac", "Allanche", "Pélussin"} <= names
    roles = set((await session.scalars(select(User.role))).all())
    assert roles == set(Role)


async def _reads_the_founding_figures_on_the_dashboard(session: AsyncSession) -> None:
    """The statistics read the founding article's figures for 2020, from the counters."""
    admin = Actor(user_id=0, email="a@visio.example", name="A", role=Role.ADMIN, locale="fr")
    board = await dashboard.dashboard(
        session, admin, first_day=date(2020, 1, 1), last_day=date(2020, 12, 31),
        today=NOW.date(),
    )  # fmt: skip
    assert (board.sessions.current, board.sessions.previous) == (110, 12)
    assert (board.people_accompanied.current, board.people_accompanied.previous) == (1954, 1634)
    assert board.desk_requests.current == 8_620
    assert round(board.desk_requests.current / 366) == 24  # "24 requests a day"
    asked = [line.name for line in board.desk_partners if line.key][:4]
    assert asked == [
        "France Travail", "Caisse d'allocations familiales du Cantal",
        "Assurance maladie (CPAM du Cantal)", "Ministère de l'Intérieur (ANTS)",
    ]  # fmt: skip


async def _draws_the_same_history_from_the_same_seed(session: AsyncSession) -> None:
    """Every draw follows from the seed and `now`: these counts move only if the generator
    does, and two demos started the same day show the same figures."""
    statuses = await session.execute(
        select(Appointment.status, func.count()).group_by(Appointment.status)
    )
    by_status = dict(statuses.all())
    assert by_status == {
        # 1,672 from 2019 to 2025, 466 in 2026 until 23 November at 10:00 in Paris (10 of
        # them that morning, 2 at each house)
        AppointmentStatus.HELD: 2_138,
        AppointmentStatus.NO_SHOW: 151,
        AppointmentStatus.AGENT_ABSENT: 42,
        AppointmentStatus.CANCELLED: 213,
        # 3 later today at each house, the coming week full, then about half
        AppointmentStatus.BOOKED: 63,
    }
    desk_year = func.extract("year", DeskRequest.at)
    desk_requests = dict(
        (int(year), count)
        for year, count in (
            await session.execute(select(desk_year, func.count()).group_by(desk_year))
        ).all()
    )
    # 4 % more each year after 2020; 2026 until the day before 23 November
    assert desk_requests == {
        2019: 7_400,
        2020: 8_620,
        2021: 8_965,
        2022: 9_324,
        2023: 9_697,
        2024: 10_085,
        2025: 10_488,
        2026: 9_696,
    }
    assert await session.scalar(select(func.count(Citizen.id))) == 231


async def _never_double_books(session: AsyncSession) -> None:
    for column in ("agent_id", "station_id"):
        first, second = aliased(Appointment), aliased(Appointment)
        clashes = await session.scalar(
            select(func.count())
            .select_from(first)
            .join(
                second,
                and_(
                    getattr(first, column) == getattr(second, column),
                    first.id < second.id,
                    # busy time, buffers included, as PostgreSQL's exclusion constraints see it
                    first.busy_from < second.busy_until,
                    second.busy_from < first.busy_until,
                ),
            )
            .where(first.status.in_(ACTIVE_STATUSES), second.status.in_(ACTIVE_STATUSES))
        )
        assert clashes == 0, column


async def _keeps_no_old_citizen_data(session: AsyncSession) -> None:
    retention_start = NOW - timedelta(days=91)
    with_citizen_before = await session.scalar(
        select(func.count()).where(
            Appointment.start_at < retention_start, Appointment.citizen_id.is_not(None)
        )
    )
    assert with_citizen_before == 0
    recent = await session.scalar(
        select(func.count()).where(
            Appointment.start_at >= NOW - timedelta(days=80), Appointment.citizen_id.is_not(None)
        )
    )
    assert recent and recent > 50
    without_email = await session.scalar(select(func.count()).where(Citizen.email.is_(None)))
    assert without_email and without_email > 0  # many citizens give no email address


async def _is_alive_today(session: AsyncSession) -> None:
    """The first look shows the product at work: at every house today, sessions already
    held, one starting within the hour and later ones; the demo's agent has the one about
    to start at Murat; every agent with permanences has bookings in the coming week."""
    paris = ZoneInfo("Europe/Paris")
    today = NOW.astimezone(paris).date()
    day_start = datetime.combine(today, datetime.min.time(), paris)
    rows = (
        await session.execute(
            select(Site.commune, Appointment.start_at, Appointment.status, Agent.name)
            .join(Site, Site.id == Appointment.site_id)
            .join(Agent, Agent.id == Appointment.agent_id)
            .where(
                Appointment.start_at >= day_start,
                Appointment.start_at < day_start + timedelta(days=1),
            )
        )
    ).all()
    communes = set((await session.scalars(select(Site.commune))).all())
    soon = NOW + timedelta(hours=1)
    for commune in communes:
        held = [start for site, start, status, _ in rows if site == commune and status == "held"]
        booked = [
            start for site, start, status, _ in rows if site == commune and status == "booked"
        ]
        assert any(start < NOW for start in held), commune
        assert any(NOW < start <= soon for start in booked), commune
        assert any(start > soon for start in booked), commune
    assert any(
        site == "Murat" and NOW < start <= soon and agent == "Isabelle Delmas"
        for site, start, _status, agent in rows
    )
    with_permanences = set(
        (await session.scalars(select(AvailabilityRule.agent_id).distinct())).all()
    )
    booked_this_week = set(
        (
            await session.scalars(
                select(Appointment.agent_id).where(
                    Appointment.start_at > NOW,
                    Appointment.start_at < NOW + timedelta(days=7),
                    Appointment.status == AppointmentStatus.BOOKED,
                )
            )
        ).all()
    )
    assert with_permanences and with_permanences <= booked_this_week


def test_visio_demo_serves_a_ready_populated_service(tmp_path: Path) -> None:
    env = environment()
    process = subprocess.Popen(
        [sys.executable, "-m", "visio", "demo", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The banner comes once the demo listens, on the port the system gave it (port 0).
        port, banner = listening_port(process, last_line="Ctrl+C")
        ready = f"http://127.0.0.1:{port}/readyz"
        with urllib.request.urlopen(ready, timeout=60) as response:
            assert response.status == 200
        assert (tmp_path / "visio-demo.db").is_file()
        assert f"visio demo on http://127.0.0.1:{port} " in banner
        token = re.search(r"API token of admin@visio.example: (\S+)", banner)
        assert token, banner
        for role in ("admin", "desk", "coordinator", "agent"):
            assert re.search(rf"^\s+{role}\s+\S+@\S+\s+\S+$", banner, re.MULTILINE), role
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/sites",
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            sites = json.loads(response.read())
        assert len(sites) == 5
        assert "secret" not in banner.lower()
    finally:
        process.terminate()
        process.communicate(timeout=20)


async def test_a_demo_started_on_a_later_day_is_filled_again_for_that_day(
    scratch_url: str,
) -> None:
    """Started again the next morning, the demo does not open on yesterday's day: it is
    filled anew, with today's sessions; started again the same day, it keeps what it has
    (a booking made while trying it stays)."""
    settings = Settings(database_url=scratch_url, secret_key="demo-" + "x" * 40)
    first_morning = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    await prepare_demo(settings, reset=False, now=first_morning)
    first = await _demo_day(scratch_url, first_morning)
    await prepare_demo(settings, reset=False, now=first_morning + timedelta(hours=6))
    assert await _demo_day(scratch_url, first_morning) == first

    next_morning = first_morning + timedelta(days=1)
    await prepare_demo(settings, reset=False, now=next_morning)
    filled_at, appointments, starting_soon, houses = await _demo_day(scratch_url, next_morning)
    assert filled_at == next_morning
    assert appointments != first[1]
    # the day goes on at every house: one session starting within the hour at each
    assert starting_soon == houses == 5


async def _demo_day(url: str, now: datetime) -> tuple[datetime | None, set[int], int, int]:
    """When the demo was filled, its appointments, those starting within the hour of
    `now`, and the number of houses; read through an engine of its own (the demo erases
    SQLite files: a connection kept open would still read the erased one)."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            filled_at = await session.scalar(select(func.min(Site.created_at)))
            ids = set((await session.scalars(select(Appointment.id))).all())
            soon = await session.scalar(
                select(func.count()).where(
                    Appointment.start_at > now,
                    Appointment.start_at <= now + timedelta(hours=1),
                    Appointment.status == AppointmentStatus.BOOKED,
                )
            )
            houses = await session.scalar(select(func.count(Site.id)))
    finally:
        await engine.dispose()
    return filled_at, ids, soon or 0, houses or 0
