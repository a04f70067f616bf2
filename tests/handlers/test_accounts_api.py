"""The accounts API: creating users and tokens, and every way to get it wrong."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import ApiToken, AuditEntry, Role, User
from visio.services.accounts import hash_token


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_admin_creates_a_desk_account(
    client: Any, session: AsyncSession, create_user: Any, create_site: Any, bearer: Any
) -> None:
    admin = await create_user(Role.ADMIN)
    murat = await create_site("France Services Murat")
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "  Accueil.Murat@Hautesterres.example ",
            "name": "Agnès Chastel",
            "role": "desk",
            "site_ids": [murat.id],
            "password": "un mot de passe solide",
        },
        headers=await bearer(admin),
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["email"] == "accueil.murat@hautesterres.example"
    assert body["role"] == "desk"
    assert body["site_ids"] == [murat.id]
    assert body["agent_id"] is None
    assert body["locale"] == "fr"
    assert isinstance(body["id"], int)
    assert "password" not in body and "password_hash" not in body
    user = await session.get(User, body["id"])
    assert user is not None and user.password_hash is not None
    assert user.password_hash.startswith("$argon2id$")
    entries = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action == "user.create"))
    ).all()
    assert [entry.entity_id for entry in entries][-1] == body["id"]
    assert entries[-1].user_id == admin.id


async def test_an_agent_account_is_linked_to_its_agent(
    client: Any, create_user: Any, create_agent: Any, bearer: Any
) -> None:
    admin = await create_user(Role.ADMIN)
    agent = await create_agent()
    headers = await bearer(admin)
    body = {"email": "claire.vidal@caf.example", "name": "Claire Vidal", "role": "agent"}
    response = await client.post(
        "/api/v1/users", json={**body, "agent_id": agent.id}, headers=headers
    )
    assert response.status == 201
    assert (await response.json())["agent_id"] == agent.id
    # The same agent cannot get a second account.
    again = {**body, "email": "other@caf.example", "agent_id": agent.id}
    response = await client.post("/api/v1/users", json=again, headers=headers)
    assert response.status == 422
    assert "agent_id" in (await response.json())["error"]["fields"]


async def test_no_credentials_is_401_and_a_bad_token_is_401(client: Any) -> None:
    body = {"email": "x@y.fr", "name": "X", "role": "admin"}
    response = await client.post("/api/v1/users", json=body)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "not_authenticated"
    for header in ("Bearer visio_notarealtoken", "Bearer ", "Basic dXNlcjpwYXNz", "visio_x"):
        response = await client.post("/api/v1/users", json=body, headers={"Authorization": header})
        assert response.status == 401, header


@pytest.mark.parametrize("role", [Role.DESK, Role.AGENT, Role.COORDINATOR])
async def test_only_admins_create_accounts(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    create_site: Any,
    create_agent: Any,
    bearer: Any,
    role: Role,
) -> None:
    site = await create_site()
    agent = await create_agent()
    user = await create_user(
        role,
        site_ids=[site.id] if role in (Role.DESK, Role.COORDINATOR) else None,
        agent_id=agent.id if role is Role.AGENT else None,
    )
    before = await count(session, User)
    response = await client.post(
        "/api/v1/users",
        json={"email": "new@visio.example", "name": "New", "role": "admin"},
        headers=await bearer(user),
    )
    assert response.status == 403
    assert (await response.json())["error"]["code"] == "not_allowed"
    assert await count(session, User) == before


async def test_invalid_fields_are_named_one_by_one_in_french_by_default(
    client: Any, session: AsyncSession, create_user: Any, bearer: Any
) -> None:
    admin = await create_user(Role.ADMIN)
    before = await count(session, User)
    response = await client.post(
        "/api/v1/users",
        json={
            "email": "pas-une-adresse",
            "name": "  ",
            "role": "chef",
            "colour": "blue",
            "site_ids": "1",
            "locale": "de",
        },
        headers=await bearer(admin),
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Certains champs sont invalides."
    assert error["fields"] == {
        "email": "Adresse électronique invalide.",
        "name": "Ne doit pas être vide.",
        "role": "Valeurs possibles : desk, agent, coordinator, admin.",
        "site_ids": "Une liste est attendue.",
        "locale": "Valeurs possibles : fr, en.",
        "colour": "Champ inconnu.",
    }
    assert await count(session, User) == before


async def test_messages_follow_accept_language(client: Any, create_user: Any, bearer: Any) -> None:
    admin = await create_user(Role.ADMIN)
    response = await client.post(
        "/api/v1/users",
        json={"name": "No Email", "role": "admin"},
        headers=await bearer(admin, **{"Accept-Language": "en-GB,en;q=0.9"}),
    )
    assert response.status == 422
    error = (await response.json())["error"]
    assert error["message"] == "Some fields are invalid."
    assert error["fields"] == {"email": "This field is required."}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        # a desk account with no site would see nothing
        ({"role": "desk"}, "site_ids"),
        ({"role": "coordinator", "site_ids": []}, "site_ids"),
        # a site that does not exist
        ({"role": "desk", "site_ids": [999_999]}, "site_ids"),
        # admins are not scoped to sites
        ({"role": "admin", "site_ids": ["SITE"]}, "site_ids"),
        # an agent account needs its agent
        ({"role": "agent"}, "agent_id"),
        ({"role": "agent", "agent_id": 999_999}, "agent_id"),
        ({"role": "admin", "agent_id": 1}, "agent_id"),
        ({"role": "admin", "password": "short"}, "password"),
    ],
)
async def test_rules_of_accounts_are_field_errors(
    client: Any,
    session: AsyncSession,
    create_user: Any,
    create_site: Any,
    bearer: Any,
    payload: dict[str, Any],
    field: str,
) -> None:
    admin = await create_user(Role.ADMIN)
    site = await create_site()
    payload = {
        "email": "someone@visio.example",
        "name": "Someone",
        **{k: ([site.id] if v == ["SITE"] else v) for k, v in payload.items()},
    }
    before = await count(session, User)
    response = await client.post("/api/v1/users", json=payload, headers=await bearer(admin))
    assert response.status == 422, await response.text()
    assert field in (await response.json())["error"]["fields"]
    assert await count(session, User) == before


async def test_an_email_is_one_account(client: Any, create_user: Any, bearer: Any) -> None:
    admin = await create_user(Role.ADMIN, email="taken@visio.example")
    response = await client.post(
        "/api/v1/users",
        json={"email": "TAKEN@visio.example", "name": "Twin", "role": "admin"},
        headers=await bearer(admin),
    )
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "already_exists"
    assert "email" in error["fields"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed"),
        (b"[1, 2]", 400, "malformed"),
        (b"", 400, "malformed"),
        (b"\xff\xfe", 400, "malformed"),
    ],
)
async def test_malformed_bodies_are_400(
    client: Any, create_user: Any, bearer: Any, body: bytes, status: int, code: str
) -> None:
    admin = await create_user(Role.ADMIN)
    headers = await bearer(admin, **{"Content-Type": "application/json"})
    response = await client.post("/api/v1/users", data=body, headers=headers)
    assert response.status == status
    assert (await response.json())["error"]["code"] == code


async def test_unknown_paths_and_methods_answer_in_the_error_format(client: Any) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status == 404
    assert (await response.json())["error"]["code"] == "not_found"
    response = await client.delete("/api/v1/users")
    assert response.status == 405
    assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_tokens_are_shown_once_and_stored_hashed(
    client: Any, session: AsyncSession, create_user: Any, bearer: Any
) -> None:
    admin = await create_user(Role.ADMIN)
    other = await create_user(Role.ADMIN)
    response = await client.post(
        f"/api/v1/users/{other.id}/tokens",
        json={"label": "script du département"},
        headers=await bearer(admin),
    )
    assert response.status == 201
    body = await response.json()
    token = body["token"]
    assert token.startswith("visio_") and len(token) > 40
    assert body["label"] == "script du département"
    assert token.startswith(body["prefix"])
    stored = (await session.scalars(select(ApiToken).where(ApiToken.id == body["id"]))).one()
    assert stored.token_hash == hash_token(token)
    assert token not in {stored.token_hash, stored.prefix}
    # The new token works, and speaks for its own user.
    response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200
    assert (await response.json())["id"] == other.id


async def test_people_make_tokens_for_themselves_only(
    client: Any, create_user: Any, create_site: Any, bearer: Any
) -> None:
    site = await create_site()
    desk = await create_user(Role.DESK, site_ids=[site.id])
    other = await create_user(Role.DESK, site_ids=[site.id])
    headers = await bearer(desk)
    own = await client.post(f"/api/v1/users/{desk.id}/tokens", json={}, headers=headers)
    assert own.status == 201
    theirs = await client.post(f"/api/v1/users/{other.id}/tokens", json={}, headers=headers)
    assert theirs.status == 404
    assert "token" not in await theirs.text()
    missing = await client.post(
        "/api/v1/users/424242/tokens", json={}, headers=await bearer(await create_user(Role.ADMIN))
    )
    assert missing.status == 404


async def test_a_disabled_account_loses_its_tokens(
    client: Any, session: AsyncSession, create_user: Any, bearer: Any
) -> None:
    admin = await create_user(Role.ADMIN)
    headers = await bearer(admin)
    assert (await client.get("/api/v1/me", headers=headers)).status == 200
    admin.active = False
    await session.commit()
    assert (await client.get("/api/v1/me", headers=headers)).status == 401
