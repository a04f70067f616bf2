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
    assert response.status == 422
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


async def test_tokens_are_listed_and_revoked(
    client: Any, session: AsyncSession, create_user: Any, create_site: Any, bearer: Any
) -> None:
    admin = await bearer(await create_user(Role.ADMIN))
    site = await create_site()
    desk = await create_user(Role.DESK, site_ids=[site.id])
    other = await create_user(Role.DESK, site_ids=[site.id])
    made = []
    for label in ("Script de la maison", "Tableur"):
        response = await client.post(
            f"/api/v1/users/{desk.id}/tokens", json={"label": label}, headers=admin
        )
        made.append(await response.json())
    own = {"Authorization": f"Bearer {made[1]['token']}"}
    listed = await (await client.get(f"/api/v1/users/{desk.id}/tokens", headers=own)).json()
    assert [token["label"] for token in listed] == ["Tableur", "Script de la maison"]
    assert all("token" not in token for token in listed)  # never the token itself
    assert listed[0]["prefix"] == made[1]["prefix"] and listed[0]["revoked_at"] is None
    # another user of the house sees nothing of them
    nosy = await bearer(other)
    assert (await client.get(f"/api/v1/users/{desk.id}/tokens", headers=nosy)).status == 404
    revoke = f"/api/v1/users/{desk.id}/tokens/{made[0]['id']}"
    assert (await client.delete(revoke, headers=nosy)).status == 404
    # the admin revokes the first: it no longer opens anything, the other still does
    assert (await client.delete(revoke, headers=admin)).status == 204
    assert (await client.delete(revoke, headers=admin)).status == 204  # again: no change
    first = {"Authorization": f"Bearer {made[0]['token']}"}
    assert (await client.get("/api/v1/me", headers=first)).status == 401
    assert (await client.get("/api/v1/me", headers=own)).status == 200
    after = await (await client.get(f"/api/v1/users/{desk.id}/tokens", headers=admin)).json()
    assert after[1]["revoked_at"] is not None and after[0]["revoked_at"] is None
    # a user revokes their own; a token of someone else is not theirs to revoke
    assert (await client.delete(
        f"/api/v1/users/{other.id}/tokens/{made[1]['id']}", headers=admin
    )).status == 404  # fmt: skip
    assert (await client.delete(
        f"/api/v1/users/{desk.id}/tokens/{made[1]['id']}", headers=own
    )).status == 204  # fmt: skip
    audited = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == desk.id)
    )
    assert list(audited).count("token.revoke") == 2


async def test_accounts_are_listed_and_corrected(
    client: Any, session: AsyncSession, create_user: Any, create_site: Any, create_agent: Any,
    bearer: Any,
) -> None:  # fmt: skip
    admin_user = await create_user(Role.ADMIN, name="Zoé Admin", email="zoe@visio.example")
    admin = await bearer(admin_user)
    murat, massiac = await create_site("Murat"), await create_site("Massiac")
    desk = await create_user(Role.DESK, site_ids=[murat.id], name="Agnès Chastel",
                             email="agnes@murat.example")  # fmt: skip
    await create_user(Role.COORDINATOR, site_ids=[murat.id, massiac.id], name="Lucie Roux")
    agent = await create_agent(name="Isabelle Delmas")

    async def names(**query: str) -> list[str]:
        response = await client.get("/api/v1/users", params=query, headers=admin)
        assert response.status == 200, await response.text()
        return [user["name"] for user in await response.json()]

    assert await names() == ["Agnès Chastel", "Lucie Roux", "Zoé Admin"]
    assert await names(role="coordinator") == ["Lucie Roux"]
    assert await names(site_id=str(massiac.id)) == ["Lucie Roux"]
    assert await names(q="MURAT.example") == ["Agnès Chastel"]
    assert (await client.get("/api/v1/users", params={"role": "chef"}, headers=admin)).status == 422
    path = f"/api/v1/users/{desk.id}"
    # the desk agent now also works at Massiac, under a corrected email
    moved = await client.patch(
        path, json={"site_ids": [massiac.id, murat.id], "email": "Agnes.Chastel@Murat.example"},
        headers=admin,
    )  # fmt: skip
    assert moved.status == 200, await moved.text()
    body = await moved.json()
    assert body["site_ids"] == sorted([murat.id, massiac.id])
    assert body["email"] == "agnes.chastel@murat.example"
    # checked together, field by field, nothing written
    for patch, field in (
        ({"role": "agent"}, "agent_id"),  # an agent account needs its agent
        ({"site_ids": []}, "site_ids"),
        ({"site_ids": [999999]}, "site_ids"),
        ({"agent_id": agent.id}, "agent_id"),  # a desk account has no agent
        ({"email": "zoe@visio.example"}, "email"),
        ({"name": None}, "name"),
    ):
        refused = await client.patch(path, json={**patch, "locale": "en"}, headers=admin)
        assert refused.status in (409, 422), patch
        assert field in (await refused.json())["error"]["fields"], patch
    unchanged = await (await client.get(path, headers=admin)).json()
    assert unchanged["locale"] == "fr" and unchanged["role"] == "desk"
    # the desk agent becomes the agent's account: the houses go with the old role
    became = await client.patch(path, json={"role": "agent", "agent_id": agent.id},
                                headers=admin)  # fmt: skip
    assert (await became.json())["site_ids"] == [] and (await became.json())["agent_id"] == agent.id
    # disabled: their token is refused from then on
    token = await bearer(desk)
    assert (await client.get("/api/v1/me", headers=token)).status == 200
    assert (await client.patch(path, json={"active": False}, headers=admin)).status == 200
    assert (await client.get("/api/v1/me", headers=token)).status == 401
    assert await names(state="inactive") == ["Agnès Chastel"]
    # an administrator cannot lock themselves out
    own = await client.patch(
        f"/api/v1/users/{admin_user.id}", json={"active": False, "role": "coordinator"},
        headers=admin,
    )  # fmt: skip
    assert set((await own.json())["error"]["fields"]) >= {"active", "role"}
    # others may not
    assert (await client.get("/api/v1/users", headers=await bearer(
        await create_user(Role.COORDINATOR, site_ids=[murat.id])))).status == 403  # fmt: skip
