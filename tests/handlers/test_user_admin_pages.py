"""The administrators' pages for accounts, and setting a new password with a reset link.

Promised: only administrators reach the account pages (nobody signed in: the sign-in
page; anyone else: 403); the list searches, filters and pages; a refused form comes back
with 422, what was typed kept and each problem beside its field; the rules are the
service's (an administrator cannot demote themselves); API tokens are revoked from the
page; without an email server the reset link is shown once, and it sets a password once,
within its day, and then the person signs in with it.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.conftest import World
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import AuditEntry, OutboxMessage, Partner, Role, User
from visio.notify.compose import content

ADMIN_EMAIL = "root@visio.example"
NEW_PASSWORD = "mon nouveau mot de passe"


async def as_admin(client: Any, create_user: Any) -> User:
    admin: User = await create_user(
        Role.ADMIN, email=ADMIN_EMAIL, name="Anne Admin", password=PASSWORD
    )
    assert (await sign_in(client, ADMIN_EMAIL, PASSWORD)).status == 303
    return admin


async def post_form(client: Any, path: str, data: Any, *, token_page: str = "/") -> Any:  # noqa: S107
    """POST a page's form with the form token of `token_page`; `data` a dict or pairs."""
    token = form_token(await (await client.get(token_page)).text())
    pairs = list(data.items()) if isinstance(data, dict) else list(data)
    return await client.post(path, data=[*pairs, ("csrf_token", token)], allow_redirects=False)


def account_form(**changes: Any) -> list[tuple[str, str]]:
    """A new desk account's form, as typed; `site_ids` a list."""
    fields: dict[str, Any] = {
        "name": "Paul Ternes",
        "email": "paul.ternes@visio.example",
        "role": "desk",
        "site_ids": [],
        "agent_id": "",
        "locale": "fr",
    }
    fields.update(changes)
    pairs = [(name, str(value)) for name, value in fields.items() if name != "site_ids"]
    return pairs + [("site_ids", str(site_id)) for site_id in fields["site_ids"]]


def input_value(html: str, field_id: str) -> str:
    found = re.search(rf'<input id="{field_id}"[^>]*value="([^"]*)"', html)
    assert found, f"no input {field_id}"
    return found.group(1)


async def test_the_list_searches_filters_and_pages(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    for number in range(26):
        await create_user(Role.COORDINATOR, email=f"coord{number:02d}@visio.example",
                          name=f"Coordination {number:02d}", site_ids=[world.site.id])  # fmt: skip
    gone = await create_user(Role.DESK, email="parti@visio.example", name="Parti Ailleurs",
                             site_ids=[world.site.id])  # fmt: skip
    gone.active = False
    await session.commit()

    first = await client.get("/admin/users")
    assert first.status == 200
    html = await first.text()
    assert "29 comptes" in html  # the desk, the agent, the admin and 26 coordinators
    assert "Page 1 sur 2" in html and 'rel="next"' in html
    assert f'href="/admin/users/{world.desk.id}"' in html
    assert "Parti Ailleurs" not in html  # disabled: not among the active ones
    assert 'href="/admin/users/new"' in html
    second = await (await client.get("/admin/users", params={"page": "2"})).text()
    assert "Page 2 sur 2" in second and 'rel="prev"' in second and "Coordination 25" in second
    beyond = await (await client.get("/admin/users", params={"page": "9"})).text()
    assert 'href="/admin/users?page=2" rel="prev"' in beyond

    found = await (await client.get("/admin/users", params={"q": "AGNÈS"})).text()
    assert "1 compte" in found and "Agnès Chastel" in found and "Coordination" not in found
    by_mail = await (await client.get("/admin/users", params={"q": "coord07@"})).text()
    assert "Coordination 07" in by_mail and "1 compte" in by_mail
    agents = await (await client.get("/admin/users", params={"role": "agent"})).text()
    assert "Isabelle Delmas" in agents and "Agnès Chastel" not in agents
    house = await (await client.get("/admin/users", params={"site_id": world.site.id})).text()
    assert "27 comptes" in house and ">Anne Admin</a>" not in house
    disabled = await (await client.get("/admin/users", params={"state": "inactive"})).text()
    assert "Parti Ailleurs" in disabled and "1 compte" in disabled
    every = await (await client.get("/admin/users", params={"state": "all"})).text()
    assert "30 comptes" in every
    assert (await client.get("/admin/users", params={"role": "chef"})).status == 422


async def test_a_taken_email_comes_back_beside_its_field_with_the_input_kept(
    client: Any, world: World, create_user: Any
) -> None:
    await as_admin(client, create_user)
    form = await client.get("/admin/users/new")
    assert form.status == 200
    assert f'value="{world.site.id}"' in await form.text()  # the houses to tick
    refused = await post_form(
        client, "/admin/users/new",
        account_form(email=world.desk.email.upper(), site_ids=[world.site.id]),
    )  # fmt: skip
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-summary"' in html and 'href="#email"' in html
    assert 'id="error-email"' in html and "Déjà utilisée par un autre compte." in html
    assert 'aria-describedby="error-email"' in html
    assert input_value(html, "name") == "Paul Ternes"
    assert input_value(html, "email") == world.desk.email.upper()
    assert re.search(rf'value="{world.site.id}"\s+checked', html)

    # Several problems at once, each beside its field.
    refused = await post_form(client, "/admin/users/new", account_form(email="pas-un-email"))
    assert refused.status == 422 and 'id="error-email"' in await refused.text()
    refused = await post_form(client, "/admin/users/new", account_form(role="agent"))
    html = await refused.text()
    assert refused.status == 422 and 'id="error-agent_id"' in html

    created = await post_form(client, "/admin/users/new", account_form(site_ids=[world.site.id]))
    assert created.status == 303
    location = created.headers["Location"]
    assert re.fullmatch(r"/admin/users/\d+\?done=created", location)
    page = await (await client.get(location)).text()
    assert "Le compte est créé." in page and "paul.ternes@visio.example" in page


async def test_role_houses_and_agent_link_are_corrected(
    client: Any, world: World, create_user: Any, create_agent: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    caf = await session.get_one(Partner, world.agent.partner_id)
    newcomer = await create_agent(caf, name="Léa Brun", email="lea.brun@caf.example")
    person = await create_user(Role.DESK, email="lea@visio.example", name="Léa Brun",
                               site_ids=[world.site.id])  # fmt: skip
    path = f"/admin/users/{person.id}"
    page = await client.get(path)
    assert page.status == 200
    assert "Léa Brun · Caisse d&#39;allocations familiales" in await page.text()

    # An agent's account keeping its houses is refused: the houses are for desks.
    refused = await post_form(client, path, account_form(
        name="Léa Brun", email="lea@visio.example", role="agent", agent_id=newcomer.id,
        site_ids=[world.site.id], active="1"))  # fmt: skip
    assert refused.status == 422 and 'id="error-site_ids"' in await refused.text()
    saved = await post_form(client, path, account_form(
        name="Léa Brun", email="lea@visio.example", role="agent", agent_id=newcomer.id,
        active="1"))  # fmt: skip
    assert saved.status == 303 and saved.headers["Location"] == f"{path}?done=saved"
    assert "Le compte est enregistré." in await (await client.get(saved.headers["Location"])).text()
    await session.refresh(person)
    assert (person.role, person.agent_id, person.active) == (Role.AGENT, newcomer.id, True)

    # Back to the desk, of another house, and disabled (no `active` ticked).
    saved = await post_form(client, path, account_form(
        name="Léa Brun", email="lea@visio.example", site_ids=[world.site.id]))  # fmt: skip
    assert saved.status == 303
    await session.refresh(person)
    await session.refresh(person, ["sites"])
    assert (person.role, person.agent_id, person.active) == (Role.DESK, None, False)
    assert [site.id for site in person.sites] == [world.site.id]
    changes = await session.scalar(
        select(AuditEntry.details).where(
            AuditEntry.action == "user.change", AuditEntry.entity_id == person.id
        ).order_by(AuditEntry.id.desc())
    )  # fmt: skip
    assert changes is not None and "active" in str(changes)


async def test_an_admin_cannot_demote_or_disable_themselves(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    admin = await as_admin(client, create_user)
    path = f"/admin/users/{admin.id}"
    assert "votre propre compte" in await (await client.get(path)).text()
    refused = await post_form(client, path, account_form(
        name="Anne Admin", email=ADMIN_EMAIL, role="desk", site_ids=[world.site.id]))  # fmt: skip
    assert refused.status == 422
    html = await refused.text()
    assert 'id="error-role"' in html and 'id="error-active"' in html
    assert re.search(r'<option value="desk" selected>', html)  # as typed
    await session.refresh(admin)
    assert (admin.role, admin.active) == (Role.ADMIN, True)


async def test_an_api_token_is_revoked_from_the_page(
    client: Any, world: World, create_user: Any
) -> None:
    await as_admin(client, create_user)
    path = f"/admin/users/{world.desk.id}"
    html = await (await client.get(path)).text()
    assert "API" in html and "test" in html  # the desk's token, by its name
    revoke = re.search(rf'action="({path}/tokens/\d+/revoke)"', html)
    assert revoke
    assert (await client.get("/api/v1/me", headers=world.headers)).status == 200
    done = await post_form(client, revoke.group(1), {})
    assert done.status == 303 and done.headers["Location"] == f"{path}?done=revoked"
    page = await (await client.get(done.headers["Location"])).text()
    assert "est révoqué : il est refusé désormais" in page and "révoqué le" in page
    assert revoke.group(1) not in page
    assert (await client.get("/api/v1/me", headers=world.headers)).status == 401
    # Without the form token, nothing is revoked.
    again = await client.post(revoke.group(1), data={}, allow_redirects=False)
    assert again.status == 400


async def test_without_smtp_the_reset_link_is_shown_once_and_sets_the_password_once(
    client: Any, world: World, create_user: Any, clock: Clock, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    path = f"/admin/users/{world.desk.id}"
    assert "Aucun serveur de messagerie" in await (await client.get(path)).text()
    made = await post_form(client, f"{path}/password-reset", {})
    assert made.status == 200
    assert made.headers["Cache-Control"] == "no-store"
    link = input_value(await made.text(), "reset-link")
    assert link.startswith("http://127.0.0.1:8080/password/reset/visio_reset_")
    reset_path = link.removeprefix("http://127.0.0.1:8080")
    assert reset_path not in await (await client.get(path)).text()  # shown this once
    assert await session.scalar(select(OutboxMessage.id)) is None  # and sent nowhere

    await client.post("/logout", data={"csrf_token": form_token(await made.text())})
    form = await client.get(reset_path)
    assert form.status == 200 and world.desk.email in await form.text()
    typo = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"}
    differ = await post_form(client, reset_path, typo, token_page=reset_path)
    assert differ.status == 422 and 'id="error-password_again"' in await differ.text()
    short = await post_form(client, reset_path, {"password": "court", "password_again": "court"},
                            token_page=reset_path)  # fmt: skip
    assert short.status == 422 and 'id="error-password"' in await short.text()
    both = await post_form(client, reset_path, {"password": "court", "password_again": "corps"},
                           token_page=reset_path)  # fmt: skip
    html = await both.text()
    assert both.status == 422 and 'id="error-password"' in html
    assert 'id="error-password_again"' in html

    done = await post_form(client, reset_path, {"password": NEW_PASSWORD,
                           "password_again": NEW_PASSWORD}, token_page=reset_path)  # fmt: skip
    assert done.status == 303 and done.headers["Location"] == "/password/changed"
    assert (
        "Connectez-vous avec votre nouveau mot de passe"
        in await (await client.get("/password/changed")).text()
    )
    assert (await sign_in(client, world.desk.email, NEW_PASSWORD)).status == 303

    spent = await client.get(reset_path)
    assert spent.status == 404
    assert "(ou plus) valable" in await spent.text()
    again = await post_form(client, reset_path, {"password": "un autre mot de passe",
                            "password_again": "un autre mot de passe"})  # fmt: skip
    assert again.status == 404
    assert (await client.get("/password/reset/visio_reset_inconnu")).status == 404
    audit = await session.scalar(
        select(AuditEntry.user_id).where(AuditEntry.action == "password_reset.use")
    )
    assert audit == world.desk.id


async def test_an_expired_link_is_refused(
    client: Any, world: World, create_user: Any, clock: Clock
) -> None:
    await as_admin(client, create_user)
    made = await post_form(client, f"/admin/users/{world.desk.id}/password-reset", {})
    reset_path = input_value(await made.text(), "reset-link").removeprefix("http://127.0.0.1:8080")
    clock.advance(timedelta(hours=24, minutes=1))
    expired = await client.get(reset_path)
    assert expired.status == 404
    assert "(ou plus) valable" in await expired.text()


async def test_with_smtp_the_link_is_queued_for_its_owner_not_shown(
    aiohttp_client: Any, settings: Any, clock: Clock, connection: Any, world: World,
    create_user: Any, session: AsyncSession,
) -> None:  # fmt: skip
    from visio.app import create_app

    app = create_app(settings.replace(smtp_host="127.0.0.1"), clock=clock, bind=connection)
    client = await aiohttp_client(app)
    await as_admin(client, create_user)
    path = f"/admin/users/{world.desk.id}"
    assert "Envoyer un lien" in await (await client.get(path)).text()
    sent = await post_form(client, f"{path}/password-reset", {})
    assert sent.status == 303 and sent.headers["Location"] == f"{path}?done=sent"
    page = await (await client.get(sent.headers["Location"])).text()
    assert "/password/reset/" not in page and "est en route" in page
    message = await session.scalar(select(OutboxMessage))
    assert message is not None
    assert (message.kind, message.recipient_email) == ("password_reset", world.desk.email)
    words = content(message)  # in the owner's language
    assert words.subject == "visio : choisissez un nouveau mot de passe"
    assert "dans les 24 heures" in words.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/users"),
        ("GET", "/admin/users/new"),
        ("POST", "/admin/users/new"),
        ("GET", "/admin/users/{desk}"),
        ("POST", "/admin/users/{desk}"),
        ("POST", "/admin/users/{desk}/password-reset"),
        ("POST", "/admin/users/{desk}/tokens/1/revoke"),
    ],
)
async def test_the_account_pages_are_for_administrators_only(
    client: Any, world: World, create_user: Any, method: str, path: str
) -> None:
    path = path.format(desk=world.desk.id)
    anonymous = await client.request(method, path, allow_redirects=False)
    if method == "GET":
        assert anonymous.status == 303
        assert anonymous.headers["Location"].startswith("/login?next=")
    else:
        assert anonymous.status in (303, 400)  # to sign in, or refused without a form token
    for role, extra in ((Role.DESK, {"site_ids": [world.site.id]}), (Role.COORDINATOR,
                        {"site_ids": [world.site.id]}), (Role.AGENT, {})):  # fmt: skip
        email = f"{role.value}.someone@visio.example"
        await create_user(role, email=email, password=PASSWORD, **extra)
        assert (await sign_in(client, email, PASSWORD)).status == 303
        if method == "GET":
            response = await client.get(path, allow_redirects=False)
        else:
            response = await post_form(client, path, account_form())
        assert response.status == 403, (role, path)
