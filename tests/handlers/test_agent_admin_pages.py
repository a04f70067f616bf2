"""The administrators' pages for partner agents, their permanences and absences.

Promised: the list searches, filters (partner, house served, state) and pages; a refused
form comes back with 422, what was typed kept and each problem beside its field; a
permanence shows in the agent's week grid; a change that would leave a booked appointment
without its agent (a permanence changed or removed, an absence, the agent gone) first
shows it and changes nothing, then, confirmed, is made and the appointment is marked to
rebook; coordinators and desks read the list and an agent's page without any form, and
their POSTs are refused; every form needs its token.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Absence, Agent, AvailabilityRule, Partner, Role, User

ADMIN_EMAIL = "root@visio.example"


async def as_admin(client: Any, create_user: Any) -> User:
    admin: User = await create_user(
        Role.ADMIN, email=ADMIN_EMAIL, name="Anne Admin", password=PASSWORD
    )
    assert (await sign_in(client, ADMIN_EMAIL, PASSWORD)).status == 303
    return admin


async def post_form(client: Any, path: str, data: Any) -> Any:
    """POST a page's form with a form token; `data` a dict or (name, value) pairs."""
    token = form_token(await (await client.get("/")).text())
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    return await client.post(path, data=[*pairs, ("csrf_token", token)], allow_redirects=False)


def rule_form(**changes: Any) -> list[tuple[str, str]]:
    """A permanence's form as typed: Tuesday and Thursday afternoons; lists for the
    checkboxes."""
    fields: dict[str, Any] = {
        "weekdays": [2, 4],
        "start": "14:00",
        "end": "16:30",
        "every_weeks": "1",
        "anchor_date": "",
        "valid_from": "",
        "valid_until": "",
        "site_ids": [],
        "motive_ids": [],
    }
    fields.update(changes)
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        pairs += [(name, str(item)) for item in values]
    return pairs


def hidden_fields(html: str) -> list[tuple[str, str]]:
    """The second step's form: what it posts again (its token and confirm=1 included)."""
    found = re.search(r'<section class="card warning".*?</section>', html, re.S)
    assert found, "no second step on the page"
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', found.group(0))


def input_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{field_id}"[^>]*value="([^"]*)"', html)
    assert found, f"no input {field_id}"
    return found.group(1)


async def rebook_reason(client: Any, world: World, appointment_id: int) -> str | None:
    """What the API says of the appointment (as its house's desk reads it)."""
    response = await client.get(f"/api/v1/appointments/{appointment_id}", headers=world.headers)
    assert response.status == 200
    reason: str | None = (await response.json())["to_rebook_reason"]
    return reason


async def monday_rule(session: AsyncSession, world: World) -> AvailabilityRule:
    rule = await session.scalar(
        select(AvailabilityRule).where(AvailabilityRule.agent_id == world.agent.id)
    )
    assert rule is not None
    await session.refresh(rule)
    return rule


# ---------------------------------------------------------------- the list


async def test_the_list_searches_filters_and_pages(
    client: Any, world: World, create_user: Any, create_agent: Any, create_partner: Any,
    session: AsyncSession,
) -> None:  # fmt: skip
    await as_admin(client, create_user)
    cpam = await create_partner("CPAM", "Assurance maladie")
    for number in range(25):
        await create_agent(cpam, name=f"Conseiller {number:02d}",
                           email=f"conseiller{number:02d}@cpam.example")  # fmt: skip
    gone = await create_agent(cpam, name="Parti Ailleurs", email="parti@cpam.example")
    gone.active = False
    everywhere = await create_agent(cpam, name="Zoé Partout", email="zoe@cpam.example")
    rule = AvailabilityRule(agent_id=everywhere.id, weekdays=[3], start=time(9), end=time(12),
                            every_weeks=1)  # fmt: skip
    rule.sites, rule.motives = [], []
    session.add(rule)
    await session.flush()

    first = await client.get("/admin/agents")
    assert first.status == 200
    html = await first.text()
    assert "27 agents" in html  # Isabelle, 25 advisers, Zoé; not the one gone
    assert "Page 1 sur 2" in html and 'rel="next"' in html
    assert "Conseiller 00" in html and "Isabelle Delmas" not in html  # by name
    assert "Parti Ailleurs" not in html
    assert 'href="/admin/agents/new"' in html
    second = await (await client.get("/admin/agents", params={"page": "2"})).text()
    assert "Page 2 sur 2" in second and 'rel="prev"' in second and "Zoé Partout" in second
    assert f'href="/admin/agents/{world.agent.id}"' in second

    found = await (await client.get("/admin/agents", params={"q": "ISABELLE"})).text()
    assert "1 agent" in found and "Isabelle Delmas" in found and "Conseiller" not in found
    by_mail = await (await client.get("/admin/agents", params={"q": "conseiller07@"})).text()
    assert "Conseiller 07" in by_mail and "1 agent" in by_mail
    of_caf = {"partner_id": world.agent.partner_id}
    caf = await (await client.get("/admin/agents", params=of_caf)).text()
    assert "1 agent" in caf and "Isabelle Delmas" in caf
    # Serving Murat: Isabelle names it, Zoé's permanence names no house (every house).
    house = await (await client.get("/admin/agents", params={"site_id": world.site.id})).text()
    assert "2 agents" in house and "Isabelle Delmas" in house and "Zoé Partout" in house
    left = await (await client.get("/admin/agents", params={"state": "inactive"})).text()
    assert "Parti Ailleurs" in left and "1 agent" in left
    every = await (await client.get("/admin/agents", params={"state": "all"})).text()
    assert "28 agents" in every
    assert (await client.get("/admin/agents", params={"state": "away"})).status == 422


# ---------------------------------------------------------------- an agent


async def test_an_agent_is_created_and_a_taken_email_is_shown_beside_its_field(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    form = await client.get("/admin/agents/new")
    assert form.status == 200
    html = await form.text()
    assert f'<option value="{world.agent.partner_id}"' in html
    assert (
        '<option value="Indian/Reunion"' in html and '<option value="Europe/Paris" selected' in html
    )

    typed = {
        "partner_id": str(world.agent.partner_id),
        "name": "Paul Ternes",
        "email": world.agent.email.upper(),
        "timezone": "Indian/Reunion",
        "locale": "en",
    }
    refused = await post_form(client, "/admin/agents/new", typed)
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-summary"' in html and 'href="#email"' in html
    assert 'id="error-email"' in html and "Déjà utilisé." in html
    assert 'aria-invalid="true" aria-describedby="error-email"' in html
    assert input_value(html, "name") == "Paul Ternes"
    assert input_value(html, "email") == world.agent.email.upper()
    assert '<option value="Indian/Reunion" selected' in html
    assert '<option value="en" lang="en" selected' in html

    nothing = await post_form(client, "/admin/agents/new", {**typed, "partner_id": "", "name": ""})
    html = await nothing.text()
    assert nothing.status == 422
    assert 'id="error-partner_id"' in html and "Choisissez l&#39;un des partenaires." in html
    assert 'id="error-name"' in html

    created = await post_form(client, "/admin/agents/new", {**typed, "email": "paul@caf.example"})
    assert created.status == 303
    location = created.headers["Location"]
    assert re.fullmatch(r"/admin/agents/\d+\?done=created", location)
    page = await (await client.get(location)).text()
    assert "L&#39;agent est créé." in page and "paul@caf.example" in page
    agent = await session.scalar(select(Agent).where(Agent.email == "paul@caf.example"))
    assert agent is not None and (agent.timezone, agent.locale) == ("Indian/Reunion", "en")


async def test_a_permanence_is_added_and_shown_in_the_week_grid(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    agent_path = f"/admin/agents/{world.agent.id}"
    page = await (await client.get(agent_path)).text()
    assert '<table class="week-grid">' in page
    assert "09:00–12:00" in page and "France Services Murat" in page

    form = await client.get(f"{agent_path}/rules/new")
    assert form.status == 200
    assert f'value="{world.motive.id}"' in await form.text()  # the partner's motives to tick
    added = await post_form(client, f"{agent_path}/rules/new", rule_form(
        every_weeks="2", anchor_date="2026-03-17", valid_from="2026-03-01",
        site_ids=[world.site.id], motive_ids=[world.motive.id]))  # fmt: skip
    assert added.status == 303
    assert added.headers["Location"] == f"{agent_path}?done=rule_created"
    page = await (await client.get(added.headers["Location"])).text()
    assert "La permanence est ajoutée." in page
    grid = re.search(r'<table class="week-grid">.*?</table>', page, re.S)
    assert grid
    cells = re.findall(r"<td>(.*?)</td>", grid.group(0), re.S)
    assert len(cells) == 7
    rule = await session.scalar(
        select(AvailabilityRule).where(
            AvailabilityRule.agent_id == world.agent.id, AvailabilityRule.start == time(14)
        )
    )
    assert rule is not None and rule.every_weeks == 2
    for day in (1, 3):  # Tuesday and Thursday
        assert "14:00–16:30" in cells[day]
        assert f'href="/admin/agents/{world.agent.id}/rules/{rule.id}"' in cells[day]
        assert "toutes les 2 semaines, à partir du 1 mars 2026" in cells[day]
    assert "14:00" not in cells[0] + cells[2] + cells[4]
    assert "09:00–12:00" in cells[0]
    # And in the list of permanences, with its motive.
    assert "Prime d&#39;activité" in page


async def test_an_overlapping_permanence_is_refused_beside_its_field_with_the_input_kept(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    path = f"/admin/agents/{world.agent.id}/rules/new"
    refused = await post_form(client, path, rule_form(
        weekdays=[1, 5], start="11:00", end="13:00", site_ids=[world.site.id]))  # fmt: skip
    assert refused.status == 422
    html = await refused.text()
    assert 'href="#start"' in html and 'id="error-start"' in html
    assert "Cet agent a déjà une permanence à ce moment-là" in html
    assert input_value(html, "start") == "11:00" and input_value(html, "end") == "13:00"
    assert re.search(r'id="weekday-1" name="weekdays" value="1"\s+checked', html)
    assert re.search(r'id="weekday-5" name="weekdays" value="5"\s+checked', html)
    assert not re.search(r'id="weekday-2" name="weekdays" value="2"\s+checked', html)
    house = world.site.id
    assert re.search(rf'id="site-{house}" name="site_ids" value="{house}"\s+checked', html)

    # Each problem beside its field: no day, an end before the start.
    refused = await post_form(client, path, rule_form(weekdays=[], start="15:00", end="14:00"))
    html = await refused.text()
    assert refused.status == 422
    assert 'id="error-weekdays"' in html and "Choisissez au moins un jour." in html
    assert 'id="error-end"' in html and 'aria-describedby="error-end"' in html
    count = await session.scalar(
        select(func.count()).select_from(AvailabilityRule)
        .where(AvailabilityRule.agent_id == world.agent.id)
    )  # fmt: skip
    assert count == 1


async def test_a_permanence_change_that_orphans_a_booking_asks_then_sets_it_aside(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    booked = await book(client, world)  # Monday 16 March, 10:00
    rule = await monday_rule(session, world)
    path = f"/admin/agents/{world.agent.id}/rules/{rule.id}"
    page = await client.get(path)
    assert page.status == 200
    assert input_value(await page.text(), "end") == "12:00"

    # Ending at 10:00 leaves the 10:00 appointment without its agent: asked first.
    asked = await post_form(client, path, rule_form(
        weekdays=[1], start="09:00", end="10:00", site_ids=[world.site.id]))  # fmt: skip
    assert asked.status == 409
    html = await asked.text()
    assert "Ce changement laisse 1 rendez-vous pris sans son agent ou son poste" in html
    assert booked["reference"] in html and "France Services Murat" in html
    assert input_value(html, "end") == "10:00"
    again = hidden_fields(html)
    assert ("end", "10:00") in again and ("weekdays", "1") in again and ("confirm", "1") in again
    assert ("site_ids", str(world.site.id)) in again
    await session.refresh(rule)
    assert rule.end == time(12)
    assert await rebook_reason(client, world, booked["id"]) is None

    confirmed = await client.post(path, data=again, allow_redirects=False)
    assert confirmed.status == 303
    location = confirmed.headers["Location"]
    assert location == f"/admin/agents/{world.agent.id}?done=rule_saved&rebook=1"
    page = await (await client.get(location)).text()
    assert "La permanence est enregistrée." in page
    assert "1 rendez-vous est désormais à replacer" in page
    assert 'href="/admin/to-rebook"' in page
    await session.refresh(rule)
    assert rule.end == time(10)
    assert await rebook_reason(client, world, booked["id"]) == "permanence_changed"


async def test_an_absence_over_a_booking_asks_then_sets_it_aside(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    booked = await book(client, world)
    path = f"/admin/agents/{world.agent.id}/absences"
    typed = {"start_date": "2026-03-16", "start_time": "", "end_date": "2026-03-17",
             "end_time": "12:00", "reason": "Formation"}  # fmt: skip
    asked = await post_form(client, path, typed)
    assert asked.status == 409
    html = await asked.text()
    assert booked["reference"] in html
    assert input_value(html, "reason") == "Formation"
    again = hidden_fields(html)
    assert ("end_time", "12:00") in again and ("confirm", "1") in again
    assert await session.scalar(select(func.count()).select_from(Absence)) == 0

    confirmed = await client.post(path, data=again, allow_redirects=False)
    assert confirmed.status == 303
    assert confirmed.headers["Location"].endswith("?done=absence_added&rebook=1")
    page = await (await client.get(confirmed.headers["Location"])).text()
    assert "L&#39;absence est enregistrée" in page and "Formation" in page
    assert "du 16 mars 2026 00:00 au 17 mars 2026 12:00 · Formation" in page
    assert await rebook_reason(client, world, booked["id"]) == "agent_absent"

    # Removed: gone from the page.
    absence = await session.scalar(select(Absence))
    assert absence is not None
    removed = await post_form(client, f"{path}/{absence.id}/delete", {})
    assert removed.status == 303
    page = await (await client.get(removed.headers["Location"])).text()
    assert "L&#39;absence est retirée" in page and "Formation" not in page


async def test_a_bad_absence_is_refused_beside_its_fields(
    client: Any, world: World, create_user: Any
) -> None:
    await as_admin(client, create_user)
    path = f"/admin/agents/{world.agent.id}/absences"
    backwards = {"start_date": "2026-03-20", "end_date": "2026-03-18", "reason": "x"}
    refused = await post_form(client, path, backwards)
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-end_date"' in html and 'href="#end_date"' in html
    assert input_value(html, "start_date") == "2026-03-20"
    refused = await post_form(client, path, {"start_date": "", "end_date": "demain"})
    html = await refused.text()
    assert (
        refused.status == 422 and 'id="error-start_date"' in html and 'id="error-end_date"' in html
    )


async def test_an_agent_marked_as_left_asks_then_sets_their_bookings_aside(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    booked = await book(client, world)
    path = f"/admin/agents/{world.agent.id}"
    typed = {"name": "Isabelle Delmas", "email": world.agent.email, "timezone": "Europe/Paris",
             "locale": "fr", "left": "1"}  # fmt: skip
    asked = await post_form(client, path, typed)
    assert asked.status == 409
    html = await asked.text()
    assert booked["reference"] in html
    again = hidden_fields(html)
    assert ("left", "1") in again and ("confirm", "1") in again
    await session.refresh(world.agent)
    assert world.agent.active

    confirmed = await client.post(path, data=again, allow_redirects=False)
    assert confirmed.status == 303
    assert confirmed.headers["Location"] == f"{path}?done=saved&rebook=1"
    await session.refresh(world.agent)
    assert not world.agent.active
    assert await rebook_reason(client, world, booked["id"]) == "agent_left"
    page = await (await client.get(path)).text()
    assert re.search(r'id="left" name="left" value="1" checked', page)


async def test_a_correction_with_a_taken_email_is_refused_beside_it(
    client: Any, world: World, create_user: Any, create_agent: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    other = await create_agent(
        await session.get_one(Partner, world.agent.partner_id),
        name="Léa Brun",
        email="lea.brun@caf.example",
    )
    path = f"/admin/agents/{world.agent.id}"
    typed = {"name": "Isabelle D.", "timezone": "Europe/Paris", "locale": "fr"}
    refused = await post_form(client, path, {**typed, "email": other.email})
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-email"' in html and input_value(html, "name") == "Isabelle D."
    typed = {**typed, "timezone": "America/Cayenne", "locale": "en"}
    saved = await post_form(client, path, {**typed, "email": world.agent.email})
    assert saved.status == 303 and saved.headers["Location"] == f"{path}?done=saved"
    await session.refresh(world.agent)
    assert (world.agent.name, world.agent.timezone, world.agent.active) == (
        "Isabelle D.", "America/Cayenne", True)  # fmt: skip


async def test_a_permanence_is_removed_after_confirming_what_only_it_held(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    booked = await book(client, world)
    rule = await monday_rule(session, world)
    path = f"/admin/agents/{world.agent.id}/rules/{rule.id}/delete"
    asked = await post_form(client, path, {})
    assert asked.status == 409
    again = hidden_fields(await asked.text())
    assert await session.get(AvailabilityRule, rule.id) is not None
    removed = await client.post(path, data=again, allow_redirects=False)
    assert removed.status == 303
    assert removed.headers["Location"].endswith("?done=rule_deleted&rebook=1")
    page = await (await client.get(removed.headers["Location"])).text()
    assert "La permanence est supprimée." in page and "Aucune permanence pour l'instant" in page
    assert await rebook_reason(client, world, booked["id"]) == "permanence_changed"


async def test_a_permanence_without_bookings_is_removed_at_once(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    rule = await monday_rule(session, world)
    removed = await post_form(client, f"/admin/agents/{world.agent.id}/rules/{rule.id}/delete", {})
    assert removed.status == 303
    assert removed.headers["Location"] == f"/admin/agents/{world.agent.id}?done=rule_deleted"
    left = select(func.count()).select_from(AvailabilityRule).where(AvailabilityRule.id == rule.id)
    assert await session.scalar(left) == 0


async def test_an_agent_with_a_history_is_not_deleted_and_the_page_says_why(
    client: Any, world: World, create_user: Any, create_agent: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    refused = await post_form(client, f"/admin/agents/{world.agent.id}/delete", {})
    assert refused.status == 409
    html = await refused.text()
    assert "Cet agent ne peut pas être supprimé : il a un historique (1 compte utilisateur)" in html
    mistake = await create_agent(
        await session.get_one(Partner, world.agent.partner_id),
        name="Erreur de saisie",
        email="erreur@caf.example",
    )
    deleted = await post_form(client, f"/admin/agents/{mistake.id}/delete", {})
    assert deleted.status == 303 and deleted.headers["Location"] == "/admin/agents?done=deleted"
    session.expunge_all()
    assert await session.get(Agent, mistake.id) is None


# ---------------------------------------------------------------- who may


async def test_a_coordinator_reads_without_any_form_and_may_not_post(
    client: Any, world: World, create_user: Any, create_agent: Any, session: AsyncSession
) -> None:
    email = "coordination@visio.example"
    await create_user(Role.COORDINATOR, email=email, password=PASSWORD, site_ids=[world.site.id])
    elsewhere = await create_agent(
        await session.get_one(Partner, world.agent.partner_id),
        name="Ailleurs Seulement",
        email="ailleurs@caf.example",
    )
    assert (await sign_in(client, email, PASSWORD)).status == 303

    listed = await client.get("/admin/agents")
    assert listed.status == 200
    html = await listed.text()
    assert (
        "Isabelle Delmas" in html and "Ailleurs Seulement" not in html
    )  # serves no house of theirs
    assert 'href="/admin/agents/new"' not in html
    page = await client.get(f"/admin/agents/{world.agent.id}")
    assert page.status == 200
    html = await page.text()
    assert '<table class="week-grid">' in html and "09:00–12:00" in html
    main = html.split('<main id="main"', 1)[1]
    assert "<form" not in main and "/rules/" not in main
    assert (await client.get(f"/admin/agents/{elsewhere.id}")).status == 404

    rule = await monday_rule(session, world)
    for path, data in (
        ("/admin/agents/new", {"name": "X"}),
        (f"/admin/agents/{world.agent.id}", {"left": "1"}),
        (f"/admin/agents/{world.agent.id}/delete", {}),
        (f"/admin/agents/{world.agent.id}/rules/new", rule_form()),
        (f"/admin/agents/{world.agent.id}/rules/{rule.id}", rule_form()),
        (f"/admin/agents/{world.agent.id}/rules/{rule.id}/delete", {}),
        (f"/admin/agents/{world.agent.id}/absences", {"start_date": "2026-03-16"}),
        (f"/admin/agents/{world.agent.id}/absences/1/delete", {}),
    ):
        assert (await post_form(client, path, data)).status == 403, path
    for path in ("/admin/agents/new", f"/admin/agents/{world.agent.id}/rules/{rule.id}"):
        assert (await client.get(path)).status == 403, path
    await session.refresh(rule)
    assert rule.end == time(12)


@pytest.mark.parametrize("role", [Role.DESK, Role.COORDINATOR])
async def test_desks_and_coordinators_read_the_pages(
    client: Any, world: World, create_user: Any, role: Role
) -> None:
    email = f"{role.value}.lecture@visio.example"
    await create_user(role, email=email, password=PASSWORD, site_ids=[world.site.id])
    assert (await sign_in(client, email, PASSWORD)).status == 303
    assert (await client.get("/admin/agents")).status == 200
    page = await client.get(f"/admin/agents/{world.agent.id}")
    assert page.status == 200 and "Caisse d&#39;allocations familiales" in await page.text()


async def test_nobody_signed_in_goes_to_sign_in(client: Any, world: World) -> None:
    for path in ("/admin/agents", f"/admin/agents/{world.agent.id}", "/admin/agents/new"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/login?next=")


async def test_a_form_without_its_token_is_refused(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    rule = await monday_rule(session, world)
    path = f"/admin/agents/{world.agent.id}/rules/{rule.id}"
    refused = await client.post(
        path, data=rule_form(weekdays=[1], end="10:00", confirm="1"), allow_redirects=False
    )
    assert refused.status == 400
    refused = await client.post(
        f"/admin/agents/{world.agent.id}", data={"left": "1", "csrf_token": "forged"},
        allow_redirects=False,
    )  # fmt: skip
    assert refused.status == 400
    await session.refresh(rule)
    await session.refresh(world.agent)
    assert rule.end == time(12) and world.agent.active
    assert await session.get(Partner, world.agent.partner_id) is not None
