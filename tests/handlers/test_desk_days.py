"""The desk's other days: one day at a time (`/desk?day=`), and a week (`/desk/week`)."""

from __future__ import annotations

import re
from typing import Any

from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    PASSWORD,
    House,
    book,
    house,
    page,
    settings,
    signed_in,
    status_of,
)
from visio.db.models import Role

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests


async def test_the_desk_moves_day_by_day(client: Any, house: House, create_site: Any) -> None:
    """Monday is today; Tuesday's appointment shows on Tuesday's page, in its house's day,
    with the way back and forth; the page's statuses poll that same day."""
    monday = await book(client, house)
    tuesday = await book(client, house, start="2026-03-17T10:00:00+01:00", last_name="Mardi")
    await signed_in(client, house.desk)

    today = await page(client, "/desk")
    assert "<h1>Rendez-vous visio du jour</h1>" in today
    assert 'href="/desk?day=2026-03-15" rel="prev">Jour précédent<' in today
    assert 'href="/desk?day=2026-03-17" rel="next">Jour suivant<' in today
    assert 'href="/desk/week?week=2026-03-16">La semaine<' in today
    assert ">Aujourd'hui<" not in today

    html = await page(client, "/desk?day=2026-03-17")
    assert "<h1>Rendez-vous visio du mardi 17 mars 2026</h1>" in html
    assert "Monique Mardi" in html and "Monique Chassang" not in html
    assert f'data-appointment-id="{tuesday["id"]}"' in html
    assert f'data-appointment-id="{monday["id"]}"' not in html
    assert 'href="/desk?day=2026-03-16" rel="prev"' in html
    assert ">Aujourd'hui<" in html, re.findall(r"Aujourd[^<]*<", html)
    assert 'data-live-url="/desk/status?day=2026-03-17"' in html
    row = await status_of(client, "/desk/status?day=2026-03-17", tuesday["id"])
    assert row["status"] == "booked"

    empty = await page(client, "/desk?day=2026-03-18")
    assert "Aucun rendez-vous visio ce jour-là dans cette maison." in empty


async def test_a_bad_day_is_a_clear_error(client: Any, house: House) -> None:
    await signed_in(client, house.desk)
    for bad in ("2026-02-30", "demain", "1850-01-01", "2026-3-7x"):
        response = await client.get("/desk", params={"day": bad})
        assert response.status == 400, bad
        assert "Cette date n&#39;est pas valide" in await response.text()
        api = await client.get("/desk/status", params={"day": bad})
        assert api.status == 400
    week = await client.get("/desk/week", params={"week": "2026-13-01"})
    assert week.status == 400


async def test_the_week_shows_each_day_of_each_house(
    client: Any, house: House, create_site: Any, create_user: Any
) -> None:
    """Monday to Sunday at each of the desk's houses, each day linking to its page, with
    its appointments; another house's appointments are not there."""
    await book(client, house)
    await book(client, house, start="2026-03-19T10:00:00+01:00", last_name="Jeudi")
    massiac = await create_site("France Services Massiac")
    both = await create_user(
        Role.DESK, email="both@visio.example", site_ids=[house.site.id, massiac.id],
        password=PASSWORD,
    )  # fmt: skip
    await signed_in(client, both)

    html = await page(client, "/desk/week?week=2026-03-18")
    assert "Rendez-vous visio du 16 mars 2026 au 22 mars 2026" in html
    assert html.index("France Services Massiac") < html.index("France Services Murat")
    days = re.findall(r'href="/desk\?day=(2026-03-\d\d)"', html)
    assert days == [f"2026-03-{day}" for day in range(16, 23)] * 2
    assert "Monique Chassang" in html and "Monique Jeudi" in html
    assert html.count("1 rendez-vous") == 2 and html.count("0 rendez-vous") == 12
    assert 'href="/desk/week?week=2026-03-09" rel="prev"' in html
    assert 'href="/desk/week?week=2026-03-23" rel="next"' in html

    this_week = await page(client, "/desk/week")
    assert "du 16 mars 2026 au 22 mars 2026" in this_week


async def test_only_desks_and_admins_see_the_week(client: Any, house: House) -> None:
    await signed_in(client, house.agent_user)
    response = await client.get("/desk/week")
    assert response.status == 403
    await signed_in(client, house.desk)
    assert (await client.get("/desk/week")).status == 200


async def test_times_follow_the_readers_language_without_seconds(client: Any, house: House) -> None:
    """One clock per language: 10:00 in French, 10:00 AM in English, on the desk's day, the
    confirmation and the join page alike; never seconds; the zone is not named when it is
    the reader's own."""
    booked = await book(client, house)
    await signed_in(client, house.desk)
    pages = ("/desk", f"/appointments/{booked['id']}/confirmation",
             f"/appointments/{booked['id']}/join/station")  # fmt: skip
    for path in pages:
        html = await page(client, path)
        assert "10:00" in html and "AM" not in html and "10:00:00" not in html, path
    confirmation = await page(client, pages[1])
    assert "lundi 16 mars 2026, 10:00 – 10:30" in confirmation
    assert "(Europe/Paris)" not in await page(client, pages[2])

    client.session.cookie_jar.update_cookies({"visio_lang": "en"})
    for path in pages:
        html = await page(client, path)
        assert "10:00\u202fAM" in html and "10:00:00" not in html, path
        assert not re.search(r"10:00(?!\u202fAM)", html), path  # never the 24-hour clock too
    confirmation = await page(client, pages[1])
    assert "Monday, March 16, 2026, 10:00\u202fAM – 10:30\u202fAM" in confirmation
