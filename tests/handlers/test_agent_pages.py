"""The partner agent's own pages: the agenda's weeks, their absences (the booked
appointments an absence falls on shown before it is saved), their calendar link (shown
once, renewed, stopped). Each is theirs only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.test_appointment_page import post
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    House,
    book,
    house,
    page,
    settings,
    signed_in,
)
from visio.db.models import Absence, Agent

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests


async def test_the_agenda_moves_week_by_week_into_the_past(
    client: Any, house: House, clock: Clock
) -> None:
    held = await book(client, house)  # Monday 16 March, 10:00
    clock.now = datetime(2026, 3, 25, 8, tzinfo=UTC)  # the Wednesday after
    await signed_in(client, house.agent_user)

    html = await page(client, "/agenda")
    assert "Monique" not in html
    assert 'href="/agenda?week=2026-03-16"' in html  # the week before
    past = await page(client, "/agenda?week=2026-03-18")
    assert "La semaine du lundi 16 mars 2026 au dimanche 22 mars 2026." in past
    assert "Monique Chassang" in past and f'href="/appointments/{held["id"]}' in past
    # Begun and still booked: its outcome is asked for.
    assert "Indiquer comment il s'est passé" in past
    status = await client.get("/agenda/status?week=2026-03-18")
    assert [row["id"] for row in (await status.json())["appointments"]] == [held["id"]]

    bad = await client.get("/agenda?week=2026-13-01")
    assert bad.status == 400


async def test_an_absence_over_a_booked_appointment_is_shown_before_saving(
    client: Any, session: AsyncSession, house: House
) -> None:
    booked = await book(client, house, "2026-03-17T10:00:00+01:00")
    await signed_in(client, house.agent_user)
    html = await page(client, "/agenda/absences")
    typed = {"start_date": "2026-03-17", "end_date": "2026-03-17", "reason": "Formation"}

    first = await post(client, "/agenda/absences", html, **typed)
    assert first.status == 409
    shown = await first.text()
    assert "Cette absence tombe sur 1 rendez-vous réservé" in shown
    assert f'href="/appointments/{booked["id"]}"' in shown
    assert 'value="Formation"' in shown and 'name="confirm" value="1"' in shown
    assert (await session.scalars(select(Absence))).all() == []

    second = await post(client, "/agenda/absences", shown, confirm="1", **typed)
    assert second.status == 303
    assert second.headers["Location"] == "/agenda/absences?done=added"
    listed = await page(client, "/agenda/absences?done=added")
    assert "mardi 17 mars 2026, 00:00 – mercredi 18 mars 2026, 00:00 · Formation" in listed
    assert "Rendez-vous réservés pendant votre absence" in listed
    saved = (await session.scalars(select(Absence))).one()
    assert (saved.start_at, saved.end_at) == (
        datetime(2026, 3, 16, 23, tzinfo=UTC),
        datetime(2026, 3, 17, 23, tzinfo=UTC),
    )

    removed = await post(client, f"/agenda/absences/{saved.id}/remove", listed)
    assert removed.headers["Location"] == "/agenda/absences?done=removed"
    assert (await session.scalars(select(Absence).execution_options(
        populate_existing=True))).all() == []  # fmt: skip


async def test_a_wrong_absence_comes_back_with_each_error_beside_its_field(
    client: Any, session: AsyncSession, house: House
) -> None:
    await signed_in(client, house.agent_user)
    html = await page(client, "/agenda/absences")

    response = await post(
        client, "/agenda/absences", html, start_date="2026-03-20", start_time="25:00",
        end_date="", reason="Congés",
    )  # fmt: skip
    assert response.status == 422
    shown = await response.text()
    assert 'id="error-start_time"' in shown and 'id="error-end_date"' in shown
    assert 'href="#start_time"' in shown and 'value="Congés"' in shown
    assert 'value="2026-03-20"' in shown

    backwards = await post(
        client, "/agenda/absences", html, start_date="2026-03-20", end_date="2026-03-19"
    )
    assert backwards.status == 422
    assert 'id="error-end_date"' in await backwards.text()
    assert (await session.scalars(select(Absence))).all() == []


async def test_absences_are_the_agent_own(client: Any, session: AsyncSession, house: House) -> None:
    absence = Absence(
        agent_id=house.agent_id, start_at=datetime(2026, 4, 1, 7, tzinfo=UTC),
        end_at=datetime(2026, 4, 1, 16, tzinfo=UTC), reason="",
    )  # fmt: skip
    session.add(absence)
    await session.flush()
    await signed_in(client, house.desk)
    assert (await client.get("/agenda/absences", allow_redirects=False)).status == 403
    html = await page(client, "/desk")
    refused = await post(client, f"/agenda/absences/{absence.id}/remove", html)
    assert refused.status == 403


async def test_the_calendar_link_is_shown_once_renewed_and_stopped(
    client: Any, session: AsyncSession, house: House
) -> None:
    await signed_in(client, house.agent_user)
    html = await page(client, "/agenda/calendar")
    assert "Vous n'avez pas de lien" in html

    made = await post(client, "/agenda/calendar", html)
    assert made.status == 200 and made.headers["Cache-Control"] == "no-store"
    shown = await made.text()
    first = re.search(r'value="(http[^"]+/calendar/visio_cal_[\w-]+\.ics)"', shown)
    assert first is not None and "webcal://" in shown
    feed_path = "/" + first.group(1).split("://", 1)[1].split("/", 1)[1]
    feed = await client.get(feed_path)
    assert feed.status == 200 and "BEGIN:VCALENDAR" in await feed.text()

    again = await page(client, "/agenda/calendar")
    assert first.group(1) not in again and "Votre lien est actif" in again
    renewed = await post(client, "/agenda/calendar", again)
    second = re.search(r'value="(http[^"]+\.ics)"', await renewed.text())
    assert second is not None and second.group(1) != first.group(1)
    assert (await client.get(feed_path)).status == 404

    stopped = await post(client, "/agenda/calendar/stop", again)
    assert stopped.headers["Location"] == "/agenda/calendar?done=stopped"
    agent = await session.get(Agent, house.agent_id, populate_existing=True)
    assert agent is not None and agent.calendar_token_hash is None
