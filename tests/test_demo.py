"""The demo data set: the published figures, coherent bookings, and a command that serves it."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tests.test_cli import environment, free_port, wait_for
from visio.db.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Citizen,
    DeskRequest,
    Role,
    Site,
    User,
)
from visio.demo import SEED, populate

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def test_the_demo_data_set(session: AsyncSession) -> None:
    """One population (it takes seconds), four properties of it."""
    await populate(session, now=NOW, rng=random.Random(SEED))
    await _shows_the_published_figures(session)
    await _draws_the_same_history_from_the_same_seed(session)
    await _never_double_books(session)
    await _keeps_no_old_citizen_data(session)


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
    names = set((await session.scalars(select(Site.commune))).all())
    assert {"Murat", "Massiac", "Allanche", "Pélussin"} <= names
    roles = set((await session.scalars(select(User.role))).all())
    assert roles == set(Role)


async def _draws_the_same_history_from_the_same_seed(session: AsyncSession) -> None:
    """Every draw follows from the seed and `now`: these counts move only if the generator
    does, and two demos started the same day show the same figures."""
    statuses = await session.execute(
        select(Appointment.status, func.count()).group_by(Appointment.status)
    )
    by_status = dict(statuses.all())
    assert by_status == {
        AppointmentStatus.HELD: 2_138,  # 1,672 from 2019 to 2025, 466 in 2026 until 23 November
        AppointmentStatus.NO_SHOW: 152,
        AppointmentStatus.AGENT_ABSENT: 42,
        AppointmentStatus.CANCELLED: 214,
        AppointmentStatus.BOOKED: 35,
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
    assert await session.scalar(select(func.count(Citizen.id))) == 195


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


def test_visio_demo_serves_a_ready_populated_service(tmp_path: Path) -> None:
    port = free_port()
    env = environment()
    process = subprocess.Popen(
        [sys.executable, "-m", "visio", "demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(f"http://127.0.0.1:{port}/readyz", process, seconds=90) == 200
        assert (tmp_path / "visio-demo.db").is_file()
        banner = ""
        assert process.stdout is not None
        while "Ctrl+C" not in banner:
            banner += process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        token = re.search(r"API token of admin@visio.example: (\S+)", banner)
        assert token, banner
        for role in ("admin", "desk", "coordinator", "agent"):
            assert re.search(rf"^\s+{role}\s+\S+@\S+\s+\S+$", banner, re.MULTILINE), role
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/sites",
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
            sites = json.loads(response.read())
        assert len(sites) == 5
        assert "secret" not in banner.lower()
    finally:
        process.terminate()
        process.communicate(timeout=20)
