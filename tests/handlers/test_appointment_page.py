"""One appointment's page: what the desk (or its agent) may do with it now, and doing it:
move it to another time, cancel it with a reason, mark the arrival and take it back within
five minutes, record how it went. A refusal says why on the page and writes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.test_booking_pages import slot_value
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    House,
    book,
    house,
    page,
    settings,
    signed_in,
)
from tests.handlers.test_pages import form_token
from visio.db.models import Appointment, AppointmentStatus

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests


async def post(client: Any, path: str, html: str, **fields: str) -> Any:
    return await client.post(
        path, data={"csrf_token": form_token(html), **fields}, allow_redirects=False
    )


async def test_the_page_offers_what_is_possible_now(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)  # Monday 10:00; now is 09:00
    await signed_in(client, house.desk)
    path = f"/appointments/{booked['id']}"
    html = await page(client, path)
    assert "Rendez-vous en visio " + booked["reference"] in html
    assert "lundi 16 mars 2026, 10:00 – 10:30" in html and "Monique Chassang" in html
    assert "Choisir un nouvel horaire" in html and "Annuler le rendez-vous" in html
    assert "L'usager est arrivé" not in html  # too early
    assert "Enregistrer l'issue" not in html  # not started
    desk = await page(client, "/desk")
    assert f'href="{path}"' in desk

    clock.now = datetime(2026, 3, 16, 8, 35, tzinfo=UTC)  # 09:35: 25 minutes before
    html = await page(client, path)
    assert "L'usager est arrivé" in html
    clock.now = datetime(2026, 3, 16, 9, 5, tzinfo=UTC)  # started
    html = await page(client, path)
    assert "Enregistrer l'issue" in html and "Choisir un nouvel horaire" not in html


async def test_arrival_marked_then_taken_back_within_five_minutes(
    client: Any, session: AsyncSession, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    path = f"/appointments/{booked['id']}"
    clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)
    response = await post(client, f"{path}/arrival", await page(client, path))
    assert response.status == 303 and response.headers["Location"] == f"{path}?done=arrived"
    html = await page(client, f"{path}?done=arrived")
    assert (
        "L&#39;arrivée de l&#39;usager est signalée." in html
        or "arrivée de l'usager est signalée" in html
    )
    assert "Annuler l'arrivée" in html

    clock.now = datetime(2026, 3, 16, 8, 54, tzinfo=UTC)
    undone = await post(client, f"{path}/arrival", html, undo="1")
    assert undone.headers["Location"] == f"{path}?done=arrival_undone"
    stored = await session.get(Appointment, booked["id"], populate_existing=True)
    assert stored is not None and stored.arrived_at is None

    await post(client, f"{path}/arrival", await page(client, path))
    clock.now = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # six minutes later: too late to undo
    late = await post(client, f"{path}/arrival", await page(client, path), undo="1")
    assert late.status == 409
    assert "dans les 5 minutes" in await late.text()
    stored = await session.get(Appointment, booked["id"], populate_existing=True)
    assert stored is not None and stored.arrived_at is not None


async def test_arrival_too_early_is_refused(client: Any, house: House, clock: Clock) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    path = f"/appointments/{booked['id']}"
    response = await post(client, f"{path}/arrival", await page(client, path))  # 09:00
    assert response.status == 409
    assert "30 minutes avant le début" in await response.text()
    api = await client.post(f"/api/v1/appointments/{booked['id']}/arrived", headers=house.headers)
    assert api.status == 409


async def test_cancel_with_a_reason_and_record_an_outcome(
    client: Any, session: AsyncSession, house: House, clock: Clock
) -> None:
    first = await book(client, house)
    second = await book(client, house, start="2026-03-16T11:00:00+01:00", last_name="Rigal")
    await signed_in(client, house.desk)
    path = f"/appointments/{first['id']}"
    response = await post(
        client, f"{path}/cancel", await page(client, path), reason="Usager malade"
    )
    assert response.headers["Location"] == f"{path}?done=cancelled"
    html = await page(client, f"{path}?done=cancelled")
    assert "annulé (Usager malade)" in html and "Annuler le rendez-vous" not in html
    assert "Imprimer l'annulation pour l'usager" in html
    printed = await page(client, f"{path}/confirmation")
    assert "Ce rendez-vous est annulé. Motif : Usager malade" in printed

    clock.now = datetime(2026, 3, 16, 10, 5, tzinfo=UTC)  # 11:05, the second one started
    await signed_in(client, house.desk)  # hours later: that session has ended meanwhile
    other = f"/appointments/{second['id']}"
    no_choice = await post(client, f"{other}/outcome", await page(client, other))
    assert no_choice.status == 422
    done = await post(
        client, f"{other}/outcome", await page(client, other), status="held", note="RAS"
    )
    assert done.headers["Location"] == f"{other}?done=outcome"
    stored = await session.get(Appointment, second["id"], populate_existing=True)
    assert stored is not None and stored.status is AppointmentStatus.HELD
    assert stored.outcome_note == "RAS"


async def test_moving_through_the_free_times_links_both_ways(
    client: Any, session: AsyncSession, house: House
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    path = f"/appointments/{booked['id']}"
    link = re.search(r'href="(/desk/book/slots\?[^"]+)"', await page(client, path))
    assert link and "move=" in link.group(1)
    times = await page(client, link.group(1).replace("&amp;", "&"))
    assert "<h1>Déplacer le rendez-vous</h1>" in times
    assert f'action="/appointments/{booked["id"]}/move"' in times
    chosen = slot_value(times, "2026-03-16T11:30:00+01:00")
    response = await post(client, f"{path}/move", times, slot=chosen)
    assert response.status == 303
    new_path = response.headers["Location"].split("?")[0]
    assert new_path != path
    moved = await page(client, response.headers["Location"])
    assert "11:30 – 12:00" in moved and f'href="{path}"' in moved
    assert f'href="{new_path}"' in await page(client, path)
    old = await session.get(Appointment, booked["id"], populate_existing=True)
    assert old is not None and old.status is AppointmentStatus.CANCELLED


async def test_someone_else_s_appointment_is_not_found(
    client: Any, house: House, create_site: Any, create_user: Any
) -> None:
    booked = await book(client, house)
    elsewhere = await create_site("France Services Pélussin")
    other = await create_user(
        "desk",
        email="autre@visio.example",
        site_ids=[elsewhere.id],
        password="un mot de passe solide",
    )
    await signed_in(client, other)
    response = await client.get(f"/appointments/{booked['id']}", allow_redirects=False)
    assert response.status == 404
    missing = await client.get("/appointments/999999", allow_redirects=False)
    assert missing.status == 404
