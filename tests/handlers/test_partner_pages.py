"""The administrators' pages for partners and their motives.

Promised: the list searches codes and names, shows partners in the network, gone or all,
and pages; a refused form comes back with 422 (a taken code or name too), what was typed
kept and each problem beside its field, worded as the API words it; marking a partner gone
while appointments with it are to come is refused (409), the page listing them; a partner
or a motive still in use is not removed (409), the page saying what uses it; a motive
takes every setting and is offered for booking at once; administrators edit, the other
roles that read the set-up see the same pages as text, without a form, and their posts are
refused; nobody signed in goes to the sign-in page; a form needs its token.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Motive, Partner, Role, User
from visio.services.records import reference_of

ADMIN_EMAIL = "root@visio.example"


async def signed_in(client: Any, create_user: Any, role: Role = Role.ADMIN, **extra: Any) -> User:
    email = f"{role.value}@visio.example" if role is not Role.ADMIN else ADMIN_EMAIL
    user: User = await create_user(role, email=email, name="Anne Martin", password=PASSWORD,
                                   **extra)  # fmt: skip
    assert (await sign_in(client, email, PASSWORD)).status == 303
    return user


async def post_form(client: Any, path: str, data: dict[str, str]) -> Any:
    """POST a page's form with a form token of the session."""
    token = form_token(await (await client.get("/")).text())
    return await client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)


def input_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{field_id}"[^>]*value="([^"]*)"', html)
    assert found, f"no input {field_id}"
    return found.group(1)


def textarea_value(html: str, field_id: str) -> str:
    found = re.search(rf'<textarea id="{field_id}"[^>]*>([^<]*)</textarea>', html)
    assert found, f"no text area {field_id}"
    return found.group(1)


def beside(html: str, field_id: str) -> str:
    """The error message shown beside a field, which the field names as its description."""
    found = re.search(rf'<p class="field-error" id="error-{field_id}">([^<]*)</p>', html)
    assert found, f"no error beside {field_id}"
    described = rf'id="{field_id}"[^>]*aria-describedby="([^"]*)"[^>]*aria-invalid="true"'
    field = re.search(described, html)
    assert field and f"error-{field_id}" in field.group(1).split(), f"{field_id} not described"
    assert f'href="#{field_id}"' in html  # the summary at the top links to it
    return found.group(1)


def motive_form(**changes: str) -> dict[str, str]:
    fields = {
        "name": "Retraite",
        "duration_minutes": "45",
        "slot_step_minutes": "15",
        "buffer_before_minutes": "5",
        "buffer_after_minutes": "10",
        "min_notice_minutes": "1440",
        "horizon_days": "30",
        "documents": "Relevé de carrière\r\nPièce d'identité\r\n\r\n",
        "instructions": "Munissez-vous de vos bulletins de salaire.",
        "reminder_offsets_minutes": "60, 2880",
    }
    fields.update(changes)
    return fields


# ---------------------------------------------------------------- the list


async def test_the_list_searches_filters_and_pages(
    client: Any, world: World, create_user: Any, create_partner: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    for number in range(25):
        await create_partner(f"P{number:02d}", f"Partenaire {number:02d}")
    gone = await create_partner("MSA", "Mutualité sociale agricole")
    gone.active = False
    await session.flush()

    first = await client.get("/admin/partners")
    assert first.status == 200
    html = await first.text()
    assert "26 partenaires" in html  # the CAF and 25 others; not the one gone
    assert "Page 1 sur 2" in html and 'rel="next"' in html
    assert f'href="/admin/partners/{world.agent.partner_id}">CAF</a>' in html
    assert 'href="/admin/partners/new"' in html
    assert "MSA" not in html
    second = await (await client.get("/admin/partners", params={"page": "2"})).text()
    assert "Page 2 sur 2" in second and 'rel="prev"' in second and "P24" in second

    found = await (await client.get("/admin/partners", params={"q": "allocations"})).text()
    assert "1 partenaire" in found and ">CAF</a>" in found and "P00" not in found
    by_code = await (await client.get("/admin/partners", params={"q": "p07"})).text()
    assert "1 partenaire" in by_code and "Partenaire 07" in by_code
    gone_ones = await (await client.get("/admin/partners", params={"state": "inactive"})).text()
    assert "1 partenaire" in gone_ones and "Mutualité sociale agricole" in gone_ones
    assert "parti du réseau" in gone_ones
    every = await (await client.get("/admin/partners", params={"state": "all"})).text()
    assert "27 partenaires" in every
    nothing = await (await client.get("/admin/partners", params={"q": "zzz"})).text()
    assert "Aucun partenaire ne correspond." in nothing
    assert (await client.get("/admin/partners", params={"state": "gone"})).status == 422


# ---------------------------------------------------------------- a partner


async def test_a_partner_is_created_with_a_taken_code_refused_beside_its_field(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    form = await client.get("/admin/partners/new")
    assert form.status == 200
    assert 'id="active"' not in await form.text()  # a new partner is in the network

    refused = await post_form(client, "/admin/partners/new", {"code": "caf", "name": "Autre"})
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-summary"' in html
    assert beside(html, "code") == "Déjà utilisé."
    assert input_value(html, "code") == "caf" and input_value(html, "name") == "Autre"
    refused = await post_form(client, "/admin/partners/new", {"code": "C A F", "name": ""})
    html = await refused.text()
    assert refused.status == 422
    assert beside(html, "code") == "Valeur invalide."
    assert beside(html, "name") == "Ne doit pas être vide."

    created = await post_form(
        client, "/admin/partners/new", {"code": "msa", "name": "Mutualité sociale agricole"}
    )
    assert created.status == 303
    location = created.headers["Location"]
    assert re.fullmatch(r"/admin/partners/\d+\?done=partner_created", location)
    page = await (await client.get(location)).text()
    assert "Le partenaire est créé" in page and "(MSA)" in page  # codes are in capitals
    assert "Aucun motif pour l'instant." in page
    msa = await session.scalar(select(Partner).where(Partner.code == "MSA"))
    assert msa is not None and msa.name == "Mutualité sociale agricole"


async def test_a_partner_is_corrected_then_marked_gone_once_no_appointment_is_to_come(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    path = f"/admin/partners/{world.agent.partner_id}"
    page = await (await client.get(path)).text()
    assert input_value(page, "code") == "CAF"
    assert re.search(r'id="active" name="active" value="1" checked', page)
    assert f'href="/admin/motives/{world.motive.id}">Prime d&#39;activité</a>' in page
    assert "30 minutes" in page and "proposé" in page

    saved = await post_form(client, path, {"code": "CAF", "name": "CAF du Cantal", "active": "1"})
    assert saved.status == 303 and saved.headers["Location"] == f"{path}?done=partner_saved"
    shown = await (await client.get(saved.headers["Location"])).text()
    assert "Le partenaire est enregistré." in shown
    partner = await session.get_one(Partner, world.agent.partner_id)
    await session.refresh(partner)
    assert partner.name == "CAF du Cantal"

    booked = await book(client, world)
    refused = await post_form(client, path, {"code": "CAF", "name": "CAF du Cantal"})
    assert refused.status == 409
    html = await refused.text()
    assert beside(html, "active").startswith("Des rendez-vous à venir en dépendent encore")
    assert "1 rendez-vous avec ce partenaire est à venir" in html
    assert f'href="/appointments/{booked["id"]}">{reference_of(booked["id"])}</a>' in html
    assert "16 mars 2026" in html
    assert not re.search(r'id="active" name="active" value="1" checked', html)  # as typed
    await session.refresh(partner)
    assert partner.active

    cancelled = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={"reason": "Partenaire parti"},
        headers=world.headers,
    )  # fmt: skip
    assert cancelled.status == 200
    gone = await post_form(client, path, {"code": "CAF", "name": "CAF du Cantal"})
    assert gone.status == 303
    await session.refresh(partner)
    assert not partner.active
    listed = await (await client.get("/admin/partners", params={"state": "inactive"})).text()
    assert "CAF du Cantal" in listed


async def test_only_a_partner_created_by_mistake_is_removed(
    client: Any, world: World, create_user: Any, create_partner: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    mistake = await create_partner("FT", "France Travail")
    session.add(Motive(partner_id=mistake.id, name="Inscription", duration_minutes=30))
    await session.flush()
    removed = await post_form(client, f"/admin/partners/{mistake.id}/delete", {})
    assert removed.status == 303
    assert removed.headers["Location"] == "/admin/partners?done=partner_deleted"
    listed = await (await client.get(removed.headers["Location"])).text()
    assert "Le partenaire est supprimé, avec ses motifs." in listed
    assert await session.scalar(select(Partner.id).where(Partner.id == mistake.id)) is None
    assert await session.scalar(select(Motive.id).where(Motive.partner_id == mistake.id)) is None

    in_use = await post_form(client, f"/admin/partners/{world.agent.partner_id}/delete", {})
    assert in_use.status == 409
    html = await in_use.text()
    assert 'id="refusal"' in html and "Le partenaire n'est pas supprimé" in html
    assert "<li>1 agent</li>" in html
    assert await session.get(Partner, world.agent.partner_id) is not None


# ---------------------------------------------------------------- a motive


async def test_a_motive_takes_every_setting_and_is_offered_at_once(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    partner_id = world.agent.partner_id
    new = await client.get(f"/admin/partners/{partner_id}/motives/new")
    assert new.status == 200
    html = await new.text()
    # the API's defaults, and hints in plain words with the API's limits
    assert input_value(html, "min_notice_minutes") == "60"
    assert input_value(html, "reminder_offsets_minutes") == "1440, 60"
    assert "En minutes, de 5 à 480" in html and "30 jours" in html
    for name in ("name", "duration_minutes", "slot_step_minutes", "buffer_before_minutes",
                 "buffer_after_minutes", "min_notice_minutes", "horizon_days", "documents",
                 "instructions", "reminder_offsets_minutes"):  # fmt: skip
        assert f'<label for="{name}">' in html
        assert f'aria-describedby="{name}-hint"' in html

    created = await post_form(client, f"/admin/partners/{partner_id}/motives/new", motive_form())
    assert created.status == 303
    location = created.headers["Location"]
    assert re.fullmatch(r"/admin/motives/\d+\?done=motive_created", location)
    motive_id = int(location.split("/")[3].split("?")[0])
    page = await (await client.get(location)).text()
    assert "Le motif est créé" in page
    assert textarea_value(page, "documents") == "Relevé de carrière\nPièce d&#39;identité"
    assert input_value(page, "reminder_offsets_minutes") == "2880, 60"

    offered = await (await client.get("/api/v1/partners", headers=world.headers)).json()
    assert {"id": motive_id, "name": "Retraite", "duration_minutes": 45} in offered[0]["motives"]
    read = await client.get(f"/api/v1/motives/{motive_id}", headers=world.headers)
    settings = await read.json()
    assert settings == {
        "id": motive_id, "name": "Retraite", "duration_minutes": 45, "partner_id": partner_id,
        "slot_step_minutes": 15, "buffer_before_minutes": 5, "buffer_after_minutes": 10,
        "min_notice_minutes": 1440, "horizon_days": 30,
        "documents": ["Relevé de carrière", "Pièce d'identité"],
        "instructions": "Munissez-vous de vos bulletins de salaire.",
        "reminder_offsets_minutes": [2880, 60], "active": True,
    }  # fmt: skip
    partner_page = await (await client.get(f"/admin/partners/{partner_id}")).text()
    assert f'href="/admin/motives/{motive_id}">Retraite</a>' in partner_page


async def test_a_bad_setting_comes_back_beside_its_field_with_the_input_kept(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    path = f"/admin/partners/{world.agent.partner_id}/motives/new"
    refused = await post_form(client, path, motive_form(
        duration_minutes="3", horizon_days="deux", reminder_offsets_minutes="60, 1h",
        documents="Avis d'imposition\n" + "x" * 201,
    ))  # fmt: skip
    assert refused.status == 422
    html = await refused.text()
    assert beside(html, "duration_minutes") == "Doit être au moins 5."
    assert beside(html, "horizon_days") == "Un nombre entier est attendu."
    assert beside(html, "reminder_offsets_minutes") == "1h : Un nombre entier est attendu."
    assert beside(html, "documents") == "Ligne 2 : Au plus 200 caractères."
    assert input_value(html, "duration_minutes") == "3"
    assert input_value(html, "horizon_days") == "deux"
    assert input_value(html, "name") == "Retraite"
    assert textarea_value(html, "documents").startswith("Avis d&#39;imposition\nxxx")

    taken = await post_form(client, path, motive_form(name="Prime d'activité"))
    assert taken.status == 422
    assert beside(await taken.text(), "name") == "Déjà utilisé."
    assert await session.scalar(select(Motive.id).where(Motive.name == "Retraite")) is None


async def test_a_motive_is_corrected_retired_or_removed(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await signed_in(client, create_user)
    path = f"/admin/motives/{world.motive.id}"
    page = await (await client.get(path)).text()
    assert input_value(page, "duration_minutes") == "30"
    assert input_value(page, "slot_step_minutes") == ""

    refused = await post_form(
        client, path, motive_form(name="Prime d'activité", duration_minutes="481", active="1")
    )
    assert refused.status == 422
    assert beside(await refused.text(), "duration_minutes") == "Doit être au plus 480."

    booked = await book(client, world)
    retired = await post_form(client, path, motive_form(name="Prime d'activité"))
    assert retired.status == 303 and retired.headers["Location"] == f"{path}?done=motive_saved"
    await session.refresh(world.motive)
    assert not world.motive.active and world.motive.duration_minutes == 45
    assert world.motive.reminder_offsets == [2880, 60]
    partner_page = await (await client.get(f"/admin/partners/{world.agent.partner_id}")).text()
    assert "retiré" in partner_page
    offered = await (await client.get("/api/v1/partners", headers=world.headers)).json()
    assert offered[0]["motives"] == []
    history = await client.get(f"/api/v1/appointments/{booked['id']}", headers=world.headers)
    assert history.status == 200
    again = await post_form(client, path, motive_form(name="Prime d'activité", active="1"))
    assert again.status == 303
    offered = await (await client.get("/api/v1/partners", headers=world.headers)).json()
    assert [motive["id"] for motive in offered[0]["motives"]] == [world.motive.id]

    in_use = await post_form(client, f"{path}/delete", {})
    assert in_use.status == 409
    html = await in_use.text()
    assert "Le motif n'est pas supprimé" in html and "<li>1 rendez-vous</li>" in html
    assert await session.get(Motive, world.motive.id) is not None

    spare = Motive(partner_id=world.agent.partner_id, name="Doublon", duration_minutes=20)
    session.add(spare)
    await session.flush()
    removed = await post_form(client, f"/admin/motives/{spare.id}/delete", {})
    assert removed.status == 303
    assert removed.headers["Location"] == (
        f"/admin/partners/{world.agent.partner_id}?done=motive_deleted"
    )
    assert await session.scalar(select(Motive.id).where(Motive.id == spare.id)) is None


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.DESK, Role.AGENT])
async def test_the_other_readers_of_the_set_up_see_text_and_no_form(
    client: Any,
    world: World,
    create_user: Any,
    create_agent: Any,
    session: AsyncSession,
    role: Role,
) -> None:
    if role is Role.AGENT:
        caf = await session.get_one(Partner, world.agent.partner_id)
        scope: dict[str, Any] = {"agent_id": (await create_agent(caf, name="Léa Brun")).id}
    else:
        scope = {"site_ids": [world.site.id]}
    await signed_in(client, create_user, role, **scope)
    partner_id = world.agent.partner_id
    listed = await client.get("/admin/partners")
    assert listed.status == 200
    html = await listed.text()
    assert ">CAF</a>" in html and 'href="/admin/partners/new"' not in html

    for path in (f"/admin/partners/{partner_id}", f"/admin/motives/{world.motive.id}"):
        page = await client.get(path)
        assert page.status == 200
        html = await page.text()
        assert '<dl class="details partner-facts">' in html
        assert 'method="post" action="/admin' not in html and "<input id=" not in html
    partner_page = await (await client.get(f"/admin/partners/{partner_id}")).text()
    assert "<dd>CAF</dd>" in partner_page and "Ajouter un motif" not in partner_page
    motive_page = await (await client.get(f"/admin/motives/{world.motive.id}")).text()
    assert "<li>Numéro d&#39;allocataire</li>" in motive_page and "1 heure avant" in motive_page

    for path in ("/admin/partners/new", f"/admin/partners/{partner_id}/motives/new"):
        assert (await client.get(path)).status == 403
    for path, data in (
        ("/admin/partners/new", {"code": "MSA", "name": "Mutualité"}),
        (f"/admin/partners/{partner_id}", {"code": "CAF", "name": "Autre", "active": "1"}),
        (f"/admin/partners/{partner_id}/delete", {}),
        (f"/admin/partners/{partner_id}/motives/new", motive_form()),
        (f"/admin/motives/{world.motive.id}", motive_form(active="1")),
        (f"/admin/motives/{world.motive.id}/delete", {}),
    ):
        assert (await post_form(client, path, data)).status == 403, path
    partner = await session.get_one(Partner, partner_id)
    await session.refresh(partner)
    assert partner.name == "Caisse d'allocations familiales"


async def test_nobody_signed_in_goes_to_sign_in_and_a_form_needs_its_token(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    for path in ("/admin/partners", f"/admin/motives/{world.motive.id}"):
        anonymous = await client.get(path, allow_redirects=False)
        assert anonymous.status == 303
        assert anonymous.headers["Location"].startswith("/login?next=")
    await signed_in(client, create_user)
    path = f"/admin/partners/{world.agent.partner_id}"
    untokened = await client.post(path, data={"code": "CAF", "name": "Autre", "active": "1"},
                                  allow_redirects=False)  # fmt: skip
    assert untokened.status == 400
    removal = await client.post(f"{path}/delete", data={}, allow_redirects=False)
    assert removal.status == 400
    partner = await session.get_one(Partner, world.agent.partner_id)
    await session.refresh(partner)
    assert partner.name == "Caisse d'allocations familiales"
