"""The pages around an appointment: the desk's day, the agent's agenda, the join pages,
their live status companions, and the CSRF guard of cookie-authenticated API calls."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Agent, AvailabilityRule, Motive, Partner, Role, Site, User
from visio.settings import Settings

JITSI_SECRET = "a-jitsi-app-secret-of-at-least-32-bytes!!"
JITSI_DOMAIN = "visio-meet.example.org"
# The clock of these tests: Monday 16 March 2026, 08:00 UTC, 09:00 in Murat.
MONDAY_08_UTC = datetime(2026, 3, 16, 8, 0, tzinfo=UTC)
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


@pytest.fixture
def settings(database_url: str) -> Settings:
    from tests.conftest import SECRET

    return Settings(
        database_url=database_url,
        secret_key=SECRET,
        run_worker=False,
        jitsi_domain=JITSI_DOMAIN,
        jitsi_app_id="visio",
        jitsi_app_secret=JITSI_SECRET,
    )


@dataclass
class House:
    site: Site
    partner: Partner
    motive: Motive
    desk: User
    agent_user: User
    agent_id: int
    headers: dict[str, str]


@pytest.fixture
async def house(
    session: AsyncSession,
    clock: Clock,
    create_site: Callable[..., Awaitable[Site]],
    create_partner: Callable[..., Awaitable[Partner]],
    create_agent: Callable[..., Awaitable[Agent]],
    create_user: Callable[..., Awaitable[User]],
    bearer: Callable[..., Awaitable[dict[str, str]]],
) -> House:
    """France Services Murat, a CAF agent on Mondays and Tuesdays, a desk agent."""
    clock.now = MONDAY_08_UTC
    site = await create_site("France Services Murat", stations=2)
    partner = await create_partner()
    agent = await create_agent(partner, name="Isabelle Delmas")
    motive = Motive(
        partner_id=partner.id, name="Prime d'activité", duration_minutes=30,
        min_notice_minutes=0, horizon_days=60, documents=[], reminder_offsets=[],
    )  # fmt: skip
    session.add(motive)
    await add_rule(session, agent.id, site)
    desk = await create_user(
        Role.DESK, email="agnes@visio.example", name="Agnès Chastel", site_ids=[site.id],
        password=PASSWORD,
    )  # fmt: skip
    agent_user = await create_user(
        Role.AGENT, email="isabelle@visio.example", name="Isabelle Delmas", agent_id=agent.id,
        password=PASSWORD,
    )  # fmt: skip
    return House(site, partner, motive, desk, agent_user, agent.id, await bearer(desk))


async def add_rule(
    session: AsyncSession, agent_id: int, site: Site, start: time = time(9), end: time = time(12)
) -> None:
    rule = AvailabilityRule(
        agent_id=agent_id, weekdays=[1, 2, 3, 4, 5], start=start, end=end, every_weeks=1
    )
    rule.sites, rule.motives = [site], []
    session.add(rule)
    await session.flush()


async def book(
    client: Any,
    house: House,
    start: str = "2026-03-16T10:00:00+01:00",
    last_name: str = "Chassang",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "site_id": house.site.id,
        "motive_id": house.motive.id,
        "start": start,
        "citizen": {"first_name": "Monique", "last_name": last_name},
        **extra,
    }
    response = await client.post(
        "/api/v1/appointments", json=body, headers=headers or house.headers
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def signed_in(client: Any, user: User) -> None:
    """Sign `user` in on this client, replacing whoever was signed in."""
    client.session.cookie_jar.clear()
    response = await sign_in(client, user.email, PASSWORD)
    assert response.status == 303


async def page(client: Any, path: str) -> str:
    response = await client.get(path, allow_redirects=False)
    assert response.status == 200, (response.status, await response.text())
    return str(await response.text())


async def status_of(client: Any, path: str, appointment_id: int) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    rows = {row["id"]: row for row in (await response.json())["appointments"]}
    return dict(rows[appointment_id])


# ---------------------------------------------------------------- the desk's day


async def test_the_desk_sees_todays_appointments_by_site(
    client: Any, house: House, create_site: Any, create_user: Any, clock: Clock
) -> None:
    today = await book(client, house)
    await book(client, house, start="2026-03-17T10:00:00+01:00", last_name="Tomorrow")
    massiac = await create_site("France Services Massiac")
    pelussin = await create_site("France Services Pélussin")
    two_houses = await create_user(
        Role.DESK, email="both@visio.example", site_ids=[house.site.id, massiac.id],
        password=PASSWORD,
    )  # fmt: skip
    await signed_in(client, two_houses)
    html = await page(client, "/desk")
    assert "<h1>Rendez-vous visio du jour</h1>" in html
    assert "France Services Murat" in html and "lundi 16 mars 2026" in html
    # Both houses, by name; the one without appointments says so; no other house.
    assert html.index("France Services Massiac") < html.index("France Services Murat")
    assert "Aucun rendez-vous visio aujourd'hui dans cette maison." in html
    assert pelussin.name not in html
    assert "10:00&nbsp;–&nbsp;10:30" in html
    for shown in ("Caisse d&#39;allocations familiales", "Prime d&#39;activité", "Isabelle Delmas",
                  "Monique Chassang", "réservé", "L'usager est arrivé"):  # fmt: skip
        assert shown in html, shown
    assert "Tomorrow" not in html
    assert f'href="/appointments/{today["id"]}/join/station"' in html
    assert 'action="/desk/appointments/{}/arrived"'.format(today["id"]) in html
    assert 'data-live-url="/desk/status"' in html and "visio-live.js" in html
    assert "Agent en retard" not in html  # not started yet
    row = await status_of(client, "/desk/status", today["id"])
    # 9:00: the arrival button waits until 9:30, 30 minutes before the start.
    assert row == {
        "id": today["id"], "status": "booked", "status_label": "réservé", "arrival": "",
        "agent": "", "agent_presence": "", "can_mark_arrived": False,
    }  # fmt: skip
    clock.now = datetime(2026, 3, 16, 8, 30, tzinfo=UTC)
    assert (await status_of(client, "/desk/status", today["id"]))["can_mark_arrived"] is True


async def test_each_site_shows_its_own_calendar_day(
    client: Any, house: House, session: AsyncSession, create_site: Any, create_agent: Any,
    create_user: Any, bearer: Any, clock: Clock,
) -> None:  # fmt: skip
    """At 21:30 UTC on Monday it is already Tuesday in Réunion: its desk sees Tuesday's."""
    reunion = await create_site("France Services Saint-Joseph", timezone="Indian/Reunion")
    agent = await create_agent(house.partner, name="Paul Hoarau", timezone="Indian/Reunion")
    await add_rule(session, agent.id, reunion)
    admin = await create_user(Role.ADMIN, email="root@visio.example", password=PASSWORD)
    tuesday = await book(
        client, house, start="2026-03-17T10:00:00+04:00", site_id=reunion.id, last_name="Payet",
        headers=await bearer(admin),
    )  # fmt: skip
    monday = await book(client, house)
    clock.now = datetime(2026, 3, 16, 21, 30, tzinfo=UTC)
    await signed_in(client, admin)
    html = await page(client, "/desk")
    murat, saint_joseph = html.index("France Services Murat"), html.index("Saint-Joseph")
    assert "lundi 16 mars 2026" in html[murat:] and "mardi 17 mars 2026" in html[saint_joseph:]
    assert f'data-appointment-id="{tuesday["id"]}"' in html
    assert f'data-appointment-id="{monday["id"]}"' in html


async def test_marking_the_arrival_shows_it_to_the_desk_and_the_agent(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    html = await page(client, "/desk")
    clock.advance(timedelta(minutes=50))  # 09:50 in Murat
    # A form without its token changes nothing.
    refused = await client.post(f"/desk/appointments/{booked['id']}/arrived", data={})
    assert refused.status == 400
    assert (await status_of(client, "/desk/status", booked["id"]))["arrival"] == ""
    response = await client.post(
        f"/desk/appointments/{booked['id']}/arrived",
        data={"csrf_token": form_token(html)},
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/desk#appointment-{booked['id']}"
    html = await page(client, "/desk")
    assert "Usager arrivé à 09:50" in html
    row = await status_of(client, "/desk/status", booked["id"])
    assert row["arrival"] == "Usager arrivé à 09:50" and row["can_mark_arrived"] is False
    await signed_in(client, house.agent_user)
    agenda = await page(client, "/agenda")
    assert "Usager arrivé à 09:50" in agenda
    row = await status_of(client, "/agenda/status", booked["id"])
    assert row["arrival"] == "Usager arrivé à 09:50"


async def test_a_late_agent_is_visible_until_they_open_their_link(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    clock.now = datetime(2026, 3, 16, 9, 4, tzinfo=UTC)  # 10:04 in Murat, started at 10:00
    html = await page(client, "/desk")
    assert "Agent en retard" in html
    row = await status_of(client, "/desk/status", booked["id"])
    assert (row["agent"], row["agent_presence"]) == ("Agent en retard", "late")
    await signed_in(client, house.agent_user)
    clock.now = datetime(2026, 3, 16, 9, 6, tzinfo=UTC)
    join = await page(client, f"/appointments/{booked['id']}/join/agent")
    assert "La visio est ouverte" in join
    await signed_in(client, house.desk)
    row = await status_of(client, "/desk/status", booked["id"])
    assert (row["agent"], row["agent_presence"]) == ("Agent connecté à 10:06", "joined")
    assert "Agent connecté à 10:06" in await page(client, "/desk")
    # Never come by the end: the desk sees it too.
    other = await book(client, house, start="2026-03-16T11:00:00+01:00", last_name="Roux")
    clock.now = datetime(2026, 3, 16, 10, 45, tzinfo=UTC)
    row = await status_of(client, "/desk/status", other["id"])
    assert (row["agent"], row["agent_presence"]) == ("Agent jamais connecté", "missed")


async def test_only_desks_and_admins_see_the_desk_page(client: Any, house: House) -> None:
    response = await client.get("/desk", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login?next=/desk"
    await signed_in(client, house.agent_user)
    assert (await client.get("/desk")).status == 403
    assert (await client.get("/desk/status")).status == 403
    await signed_in(client, house.desk)
    assert (await client.get("/agenda")).status == 403


# ---------------------------------------------------------------- the agent's agenda


async def test_the_agenda_is_in_the_agents_own_zone(
    client: Any,
    house: House,
    session: AsyncSession,
    create_agent: Any,
    create_user: Any,
    clock: Clock,
) -> None:
    """A CAF agent working from Réunion (UTC+4) for a house in metropolitan France."""
    agent = await create_agent(house.partner, name="Paul Hoarau", timezone="Indian/Reunion")
    await add_rule(session, agent.id, house.site, time(12), time(16))  # 09:00-13:00 in Murat
    user = await create_user(
        Role.AGENT, email="paul@visio.example", agent_id=agent.id, password=PASSWORD
    )
    booked = await book(client, house, agent_id=agent.id)
    in_a_week = await book(
        client, house, start="2026-03-23T10:00:00+01:00", agent_id=agent.id, last_name="Vidal"
    )
    too_far = await book(
        client, house, start="2026-03-24T10:00:00+01:00", agent_id=agent.id, last_name="Loin"
    )
    someone_elses = await book(client, house, last_name="Autre")
    await signed_in(client, user)
    html = await page(client, "/agenda")
    assert "Indian/Reunion" in html
    assert "Aujourd'hui · lundi 16 mars 2026" in html
    assert "13:00&nbsp;–&nbsp;13:30" in html
    assert "10:00 à l&#39;heure du site (Europe/Paris)" in html
    assert "Monique Chassang" in html and "France Services Murat" in html
    assert "lundi 23 mars 2026" in html and "Vidal" in html
    assert f'data-appointment-id="{in_a_week["id"]}"' in html
    assert f'data-appointment-id="{too_far["id"]}"' not in html
    assert f'data-appointment-id="{someone_elses["id"]}"' not in html
    assert f'href="/appointments/{booked["id"]}/join/agent"' in html
    # The join page too speaks the agent's time, with the site's beside it.
    clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)
    join = await page(client, f"/appointments/{booked['id']}/join/agent")
    assert "13:00&nbsp;–&nbsp;13:30" in join and "10:00 à l&#39;heure du site" in join


async def test_an_agent_in_the_sites_zone_sees_one_time(client: Any, house: House) -> None:
    await book(client, house)
    await signed_in(client, house.agent_user)
    html = await page(client, "/agenda")
    assert "10:00&nbsp;–&nbsp;10:30" in html and "heure du site" not in html


# ---------------------------------------------------------------- joining


async def test_the_join_page_counts_down_then_opens(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    path = f"/appointments/{booked['id']}/join/station"
    await signed_in(client, house.desk)
    clock.now = datetime(2026, 3, 16, 8, 40, tzinfo=UTC)  # the window opens at 08:45 UTC
    response = await client.get(path)
    html = await response.text()
    assert response.status == 200
    assert "La visio n'est pas encore ouverte" in html
    assert 'data-seconds="300"' in html and "00:05:00" in html and "09:45" in html
    assert not JWT.search(html) and "data-meeting" not in html
    clock.now = datetime(2026, 3, 16, 8, 45, tzinfo=UTC)
    html = await page(client, path)
    assert "La visio est ouverte" in html
    # The station joins a self-hosted Jitsi as a guest: no token, so it waits for the
    # agent in Jitsi and can never hold moderator rights.
    assert not JWT.search(html) and 'data-jwt=""' in html
    assert f'data-domain="{JITSI_DOMAIN}"' in html
    assert f'data-room="{booked["room"]}"' in html
    assert 'data-display-name="France Services Murat"' in html
    assert f'href="https://{JITSI_DOMAIN}/{booked["room"]}"' in html
    assert "visio-join.js" in html
    assert "Chassang" not in html  # the station's screen shows no citizen's name
    clock.now = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)  # 30 minutes after the end
    html = await page(client, path)
    assert "Cette visio est terminée" in html and not JWT.search(html)


async def test_join_pages_allow_the_meeting_server_and_nothing_else_does(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)
    join = await client.get(f"/appointments/{booked['id']}/join/station")
    policy = join.headers["Content-Security-Policy"]
    # Of the meeting server, its page script only (and its frame).
    assert "script-src 'self' 'nonce-" in policy
    assert f"' https://{JITSI_DOMAIN}/external_api.js;" in policy
    assert f"frame-src https://{JITSI_DOMAIN};" in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert join.headers["Cache-Control"] == "no-store"
    for other in ("/desk", "/"):
        elsewhere = (await client.get(other)).headers["Content-Security-Policy"]
        assert JITSI_DOMAIN not in elsewhere and "frame-src" not in elsewhere


async def test_someone_elses_appointment_is_not_found_and_shows_no_token(
    client: Any,
    house: House,
    clock: Clock,
    create_site: Any,
    create_agent: Any,
    create_user: Any,
) -> None:
    booked = await book(client, house)
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)  # the window is open
    agent_page = f"/appointments/{booked['id']}/join/agent"
    station_page = f"/appointments/{booked['id']}/join/station"
    elsewhere = await create_site("France Services Pélussin")
    other_desk = await create_user(
        Role.DESK, email="other-desk@visio.example", site_ids=[elsewhere.id], password=PASSWORD
    )
    colleague = await create_agent(house.partner, name="Thomas Bonnet")
    other_agent = await create_user(
        Role.AGENT, email="thomas@visio.example", agent_id=colleague.id, password=PASSWORD
    )
    coordinator = await create_user(
        Role.COORDINATOR, email="coord@visio.example", site_ids=[house.site.id], password=PASSWORD
    )
    refusals = [
        (other_desk, station_page, 404),
        (other_desk, agent_page, 404),
        (house.desk, agent_page, 404),  # the desk joins as the station, never as the agent
        (other_agent, agent_page, 404),
        (other_agent, station_page, 404),
        (house.agent_user, station_page, 404),
        (coordinator, station_page, 403),
    ]
    for user, path, status in refusals:
        await signed_in(client, user)
        response = await client.get(path)
        html = await response.text()
        assert response.status == status, (user.email, path)
        assert not JWT.search(html) and booked["room"] not in html, (user.email, path)
    client.session.cookie_jar.clear()
    response = await client.get(station_page, allow_redirects=False)
    assert response.status == 303
    # Their own pages list nothing of it either.
    await signed_in(client, other_agent)
    assert f'data-appointment-id="{booked["id"]}"' not in await page(client, "/agenda")
    await signed_in(client, other_desk)
    assert f'data-appointment-id="{booked["id"]}"' not in await page(client, "/desk")


async def test_a_cancelled_appointment_has_nothing_to_join(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    cancel = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": ""}, headers=house.headers
    )
    assert cancel.status == 200, await cancel.text()
    await signed_in(client, house.desk)
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)
    response = await client.get(f"/appointments/{booked['id']}/join/station")
    assert response.status == 409
    html = await response.text()
    assert "annulé" in html and not JWT.search(html)
    desk = await page(client, "/desk")
    assert f'href="/appointments/{booked["id"]}/join/station"' not in desk


# ---------------------------------------------------------------- home, and English


async def test_home_links_to_the_page_of_each_role(client: Any, house: House) -> None:
    await signed_in(client, house.desk)
    html = await page(client, "/")
    assert 'href="/desk"' in html and 'href="/agenda"' not in html
    await signed_in(client, house.agent_user)
    html = await page(client, "/")
    assert 'href="/agenda"' in html and 'href="/desk"' not in html


async def test_the_pages_speak_english_too(client: Any, house: House, clock: Clock) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    client.session.cookie_jar.update_cookies({"visio_lang": "en"})
    clock.now = datetime(2026, 3, 16, 9, 4, tzinfo=UTC)
    html = await page(client, "/desk")
    assert "Today's visio appointments" in html and "Agent late" in html
    assert "The citizen has arrived" in html
    row = await status_of(client, "/desk/status", booked["id"])
    assert row["status_label"] == "booked" and row["agent"] == "Agent late"


# ---------------------------------------------------------------- CSRF on cookie API calls


async def test_cookie_api_changes_need_the_csrf_header(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)
    path = f"/api/v1/appointments/{booked['id']}/arrived"
    await signed_in(client, house.desk)
    token = form_token(await page(client, "/desk"))
    # Reading with the cookie alone is fine.
    assert (await client.get(f"/api/v1/appointments/{booked['id']}")).status == 200
    for headers in ({}, {"X-CSRF-Token": "not-the-token"}):
        refused = await client.post(path, headers=headers)
        assert refused.status == 403
        error = (await refused.json())["error"]
        assert error["code"] == "not_allowed" and "X-CSRF-Token" in error["message"]
    assert (await client.get(f"/api/v1/appointments/{booked['id']}")).status == 200
    assert (await (await client.get(f"/api/v1/appointments/{booked['id']}")).json())[
        "arrived_at"
    ] is None
    accepted = await client.post(path, headers={"X-CSRF-Token": token})
    assert accepted.status == 200, await accepted.text()


async def test_bearer_api_calls_need_no_csrf_header(
    client: Any, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)
    await signed_in(client, house.desk)  # a session cookie too: the token decides
    response = await client.post(
        f"/api/v1/appointments/{booked['id']}/arrived", headers=house.headers
    )
    assert response.status == 200, await response.text()


async def test_an_anonymous_api_change_is_unauthenticated_not_forbidden(client: Any) -> None:
    response = await client.post("/api/v1/appointments/1/arrived")
    assert response.status == 401


async def test_the_desk_prints_a_confirmation_for_a_citizen_without_email(
    client: Any, session: AsyncSession, house: House, create_site: Any, create_user: Any
) -> None:
    house.motive.documents = ["Numéro d'allocataire"]
    await session.flush()
    body = await book(client, house, last_name="Rigal")
    path = f"/appointments/{body['id']}/confirmation"
    await signed_in(client, house.desk)
    html = await page(client, path)
    assert "Monique Rigal" in html
    assert "lundi 16 mars 2026" in html and "10:00" in html
    assert "Numéro d&#39;allocataire" in html
    assert body["reference"] in html
    desk_html = await page(client, "/desk")
    assert path in desk_html  # the desk page links to it
    # Neither another house's desk nor the agent gets it.
    elsewhere = await create_site("Pélussin")
    other = await create_user(
        Role.DESK, email="autre@visio.example", site_ids=[elsewhere.id], password=PASSWORD
    )
    for user in (other, house.agent_user):
        await signed_in(client, user)
        assert (await client.get(path, allow_redirects=False)).status == 404
