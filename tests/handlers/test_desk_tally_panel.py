"""The desk's tally panel on the desk's page: a theme, then a channel's button counts a
request at the house (and its daily counter); the page says so and lists it; a request
is taken back the same day; a slip comes back with its error beside its field; another
house's desk can do neither, and a form without its token is refused.

The pages are read in English: the panel's words are written in English first."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.test_appointment_page import post
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    PASSWORD,
    House,
    book,
    house,
    page,
    settings,
    signed_in,
)
from visio.db.models import DeskRequest, DeskRequestCount, RequestTheme, Role
from visio.domain import RequestChannel

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests

THEMES_EN = (
    "Employment, training, retirement",
    "Justice, access to rights",
    "Health",
    "Budget, taxes",
    "Civil status, family",
    "Housing, mobility, mail",
)


async def in_english(client: Any, user: Any) -> None:
    await signed_in(client, user)
    client.session.cookie_jar.update_cookies({"visio_lang": "en"})


def panel_of(html: str, site_id: int) -> str:
    """The tally panel of one house on the desk's page, its text unescaped."""
    found = re.search(rf'<section class="tally card" id="tally-{site_id}".*?</section>', html, re.S)
    assert found, f"no tally panel for house {site_id}"
    return unescape(found.group(0))


async def theme_id(session: AsyncSession, code: str) -> int:
    found = await session.scalar(select(RequestTheme.id).where(RequestTheme.code == code))
    assert found is not None
    return found


async def requests_at(session: AsyncSession) -> list[DeskRequest]:
    query = select(DeskRequest).execution_options(populate_existing=True)
    return list((await session.scalars(query)).all())


async def counted_requests(session: AsyncSession) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(DeskRequestCount.requests), 0)).execution_options(
            populate_existing=True
        )
    )
    return int(total or 0)


async def test_the_desk_sees_a_panel_with_the_six_themes(
    client: Any, house: House, create_user: Any
) -> None:
    await in_english(client, house.desk)
    panel = panel_of(await page(client, "/desk"), house.site.id)

    assert f'aria-labelledby="tally-{house.site.id}-heading"' in panel
    assert ">Desk tally<" in panel
    themes = re.findall(r'<input type="radio" id="[^"]+" name="theme_id" value="(\d+)"', panel)
    assert len(themes) == 6
    labels = [
        label.strip() for label in re.findall(r'name="theme_id"[^>]*>\s*([^<]+)</label>', panel)
    ]
    assert labels == list(THEMES_EN)
    assert "<legend>Theme of the request</legend>" in panel
    options = re.findall(r"<option[^>]*>([^<]+)</option>", panel)
    assert options == ["No partner in particular", house.partner.name]
    assert "Accompanied in a procedure</label>" in panel
    assert "First time this year</label>" in panel
    buttons = re.findall(r'<button type="submit" name="channel" value="(\w+)"[^>]*>([^<]+)<', panel)
    assert buttons == [
        ("in_person", "At the desk"), ("phone", "By phone"), ("email", "By email"),
        ("visio", "In visio"),
    ]  # fmt: skip
    assert "0 requests counted today" in panel
    assert 'name="csrf_token"' in panel and f'name="site_id" value="{house.site.id}"' in panel

    # An administrator belongs to no house: the desk's page has no panel for them.
    await book(client, house)
    admin = await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    await in_english(client, admin)
    assert 'class="tally card"' not in await page(client, "/desk")


async def test_a_request_is_counted_through_the_form(
    client: Any, session: AsyncSession, house: House
) -> None:
    health = await theme_id(session, "health")
    await in_english(client, house.desk)
    html = await page(client, "/desk")

    response = await post(
        client, "/desk/tally", html, site_id=str(house.site.id), theme_id=str(health),
        partner_id=str(house.partner.id), accompanied="1", channel="phone",
    )  # fmt: skip
    assert response.status == 303, await response.text()
    (counted,) = await requests_at(session)
    assert response.headers["Location"] == f"/desk?counted={counted.id}#tally-{house.site.id}"
    assert (counted.site_id, counted.theme_id, counted.partner_id) == (
        house.site.id, health, house.partner.id,
    )  # fmt: skip
    assert counted.channel is RequestChannel.PHONE
    assert counted.accompanied and not counted.new_person
    assert counted.recorded_by_id == house.desk.id
    (counter,) = (
        await session.scalars(select(DeskRequestCount).execution_options(populate_existing=True))
    ).all()
    assert (counter.requests, counter.accompanied, counter.new_people) == (1, 1, 0)
    assert (counter.theme_id, counter.partner_id, counter.channel) == (
        health, house.partner.id, RequestChannel.PHONE,
    )  # fmt: skip

    panel = panel_of(await page(client, response.headers["Location"]), house.site.id)
    assert "1 request counted today" in panel
    assert '<div role="status"><p class="success">Counted: Health · ' in panel
    assert f'id="tally-request-{counted.id}"' in panel
    # At 09:00 in Murat, on the English clock.
    assert f"9:00\u202fAM</span> · Health · {house.partner.name} · By phone" in panel
    assert f'action="/desk/tally/{counted.id}/take-back"' in panel
    # A fresh form: nothing chosen is carried over to the next request.
    assert "checked" not in panel

    # Without a partner, by email, a first visit this year.
    second = await post(
        client, "/desk/tally", html, site_id=str(house.site.id), theme_id=str(health),
        partner_id="", new_person="1", channel="email",
    )  # fmt: skip
    assert second.status == 303
    latest = max(await requests_at(session), key=lambda request: request.id)
    assert latest.partner_id is None and latest.new_person and not latest.accompanied
    assert latest.channel is RequestChannel.EMAIL
    assert "2 requests counted today" in await page(client, "/desk")
    assert await counted_requests(session) == 2


async def test_a_request_without_its_theme_comes_back_with_the_error(
    client: Any, session: AsyncSession, house: House
) -> None:
    await in_english(client, house.desk)
    html = await page(client, "/desk")
    prefix = f"tally-{house.site.id}"

    response = await post(
        client, "/desk/tally", html, site_id=str(house.site.id), partner_id=str(house.partner.id),
        accompanied="1", channel="in_person",
    )  # fmt: skip
    assert response.status == 422
    panel = panel_of(await response.text(), house.site.id)
    assert f'id="{prefix}-error-summary"' in panel and 'role="alert"' in panel
    assert f'<p class="field-error" id="{prefix}-error-theme_id">' in panel
    assert "Choose the theme of the request." in panel
    assert f'aria-describedby="{prefix}-error-theme_id"' in panel
    first_theme = re.findall(r'name="theme_id" value="(\d+)"', panel)[0]
    assert f'href="#{prefix}-theme-{first_theme}"' in panel
    # What was chosen is kept.
    assert f'<option value="{house.partner.id}" selected>' in panel
    assert re.search(rf'id="{prefix}-accompanied"[^>]*\s+checked>', panel)
    assert await requests_at(session) == [] and await counted_requests(session) == 0

    unknown = await post(
        client, "/desk/tally", html, site_id=str(house.site.id),
        theme_id=str(await theme_id(session, "health")), partner_id="999999", channel="phone",
    )  # fmt: skip
    assert unknown.status == 422
    panel = panel_of(await unknown.text(), house.site.id)
    assert f'id="{prefix}-error-partner_id"' in panel and "No such partner." in panel
    assert 'aria-invalid="true"' in panel and f'href="#{prefix}-partner"' in panel
    assert re.search(r'name="theme_id" value="\d+"\s+checked>', panel)
    assert await requests_at(session) == [] and await counted_requests(session) == 0

    # A value none of the panel's controls sends is a malformed form.
    bad = await post(
        client, "/desk/tally", html, site_id=str(house.site.id), theme_id="health",
        channel="phone",
    )  # fmt: skip
    assert bad.status == 400
    no_channel = await post(
        client, "/desk/tally", html, site_id=str(house.site.id),
        theme_id=str(await theme_id(session, "health")), channel="fax",
    )  # fmt: skip
    assert no_channel.status == 400
    assert await requests_at(session) == []
    # The address a refused form leaves behind goes back to the desk's page.
    reloaded = await client.get("/desk/tally", allow_redirects=False)
    assert reloaded.status == 303 and reloaded.headers["Location"] == "/desk"


async def test_a_request_is_taken_back_the_same_day(
    client: Any, session: AsyncSession, house: House
) -> None:
    await in_english(client, house.desk)
    html = await page(client, "/desk")
    await post(
        client, "/desk/tally", html, site_id=str(house.site.id),
        theme_id=str(await theme_id(session, "budget")), channel="in_person",
    )  # fmt: skip
    (counted,) = await requests_at(session)
    listed = await page(client, "/desk")

    response = await post(
        client, f"/desk/tally/{counted.id}/take-back", listed, site_id=str(house.site.id)
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/desk?taken_back={house.site.id}#tally-{house.site.id}"
    assert await requests_at(session) == [] and await counted_requests(session) == 0
    panel = panel_of(await page(client, response.headers["Location"]), house.site.id)
    assert "The request is taken back." in panel and "0 requests counted today" in panel
    assert "tally-request-" not in panel

    again = await post(client, f"/desk/tally/{counted.id}/take-back", listed)
    assert again.status == 404


async def test_another_house_desk_can_neither_count_nor_take_back_here(
    client: Any, session: AsyncSession, house: House, create_site: Any, create_user: Any
) -> None:
    health = str(await theme_id(session, "health"))
    await in_english(client, house.desk)
    html = await page(client, "/desk")
    await post(
        client, "/desk/tally", html, site_id=str(house.site.id), theme_id=health, channel="phone"
    )
    (counted,) = await requests_at(session)

    massiac = await create_site("France Services Massiac")
    other = await create_user(
        Role.DESK, email="massiac@visio.example", site_ids=[massiac.id], password=PASSWORD
    )
    await in_english(client, other)
    theirs = await page(client, "/desk")
    assert f'id="tally-{massiac.id}"' in theirs and f'id="tally-{house.site.id}"' not in theirs

    refused = await post(
        client, "/desk/tally", theirs, site_id=str(house.site.id), theme_id=health, channel="phone"
    )
    assert refused.status == 404
    unknown_house = await post(
        client, "/desk/tally", theirs, site_id="99999999999", theme_id=health, channel="phone"
    )
    assert unknown_house.status == 404
    taken = await post(
        client, f"/desk/tally/{counted.id}/take-back", theirs, site_id=str(massiac.id)
    )
    assert taken.status == 404
    assert [request.id for request in await requests_at(session)] == [counted.id]
    assert await counted_requests(session) == 1


async def test_a_form_without_its_token_is_refused(
    client: Any, session: AsyncSession, house: House
) -> None:
    health = str(await theme_id(session, "health"))
    await in_english(client, house.desk)
    await page(client, "/desk")  # the browser holds its form token's cookie

    response = await client.post(
        "/desk/tally",
        data={"site_id": str(house.site.id), "theme_id": health, "channel": "phone"},
        allow_redirects=False,
    )
    assert response.status == 400
    assert "Your form expired" in await response.text()
    forged = await client.post(
        "/desk/tally",
        data={"site_id": str(house.site.id), "theme_id": health, "channel": "phone",
              "csrf_token": "forged"},
        allow_redirects=False,
    )  # fmt: skip
    assert forged.status == 400
    assert await requests_at(session) == []

    html = await page(client, "/desk")
    await post(
        client, "/desk/tally", html, site_id=str(house.site.id), theme_id=health, channel="phone"
    )
    (counted,) = await requests_at(session)
    take_back = await client.post(f"/desk/tally/{counted.id}/take-back", allow_redirects=False)
    assert take_back.status == 400
    assert len(await requests_at(session)) == 1
