"""Accounts in the JSON API: users and their API tokens."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.api import (
    PAGE_HEADERS,
    current_actor,
    json_model,
    listing_response,
    match_int,
    now,
    operation,
)
from visio.handlers.schemas import TokenCreate, UserCreate, UserListQuery, UserPatch
from visio.keys import DB
from visio.services import accounts
from visio.services.permissions import Action
from visio.services.records import NewToken, TokenView, UserView


@operation("Create a user account", action=Action.MANAGE_USERS, body=UserCreate,
           response=UserView, status=201, tags=["accounts"])  # fmt: skip
async def create_user(request: web.Request, body: UserCreate) -> web.Response:
    user = await accounts.create_user(
        request[DB],
        current_actor(request),
        email=body.email,
        name=body.name,
        role=body.role,
        site_ids=body.site_ids,
        agent_id=body.agent_id,
        locale=body.locale,
        password=body.password,
        now=now(request),
    )
    return json_model(user, status=201)


@operation("The signed-in user", response=UserView, tags=["accounts"])
async def me(request: web.Request) -> web.Response:
    actor = current_actor(request)
    return json_model(await accounts.get_user(request[DB], actor, actor.user_id))


@operation("One user (admins, or the user themselves)", response=UserView, tags=["accounts"])
async def get_user(request: web.Request) -> web.Response:
    user = await accounts.get_user(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(user)


@operation("Create an API token for a user (admins, or the user themselves); shown once",
           body=TokenCreate, response=NewToken, status=201, tags=["accounts"])  # fmt: skip
async def create_token(request: web.Request, body: TokenCreate) -> web.Response:
    token = await accounts.create_token(
        request[DB],
        current_actor(request),
        user_id=match_int(request, "id"),
        label=body.label,
        now=now(request),
    )
    return json_model(token, status=201)


@operation("A user's API tokens, newest first, revoked ones too (admins, or the user "
           "themselves); never the tokens themselves", response=list[TokenView],
           tags=["accounts"])  # fmt: skip
async def list_tokens(request: web.Request) -> web.Response:
    tokens = await accounts.list_tokens(
        request[DB], current_actor(request), match_int(request, "id")
    )
    return json_model(tokens, adapter=list[TokenView])


@operation("Revoke an API token (admins, or the user themselves): refused from then on",
           status=204, tags=["accounts"])  # fmt: skip
async def revoke_token(request: web.Request) -> web.Response:
    await accounts.revoke_token(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "token_id"), now=now(request),
    )  # fmt: skip
    return web.Response(status=204)


@operation("Accounts, by name (admins): of a role, of a house, a search, pages",
           action=Action.MANAGE_USERS, query=UserListQuery, response=list[UserView],
           headers=PAGE_HEADERS, tags=["accounts"])  # fmt: skip
async def list_users(request: web.Request, query: UserListQuery) -> web.Response:
    found = await accounts.find_users(
        request[DB], current_actor(request), search=query.q, role=query.role,
        site_id=query.site_id, state=query.state, page=query.page, per_page=query.limit,
    )  # fmt: skip
    return listing_response(request, found, list[UserView])


@operation("Correct an account, or disable it (its sign-in and tokens refused) or enable it",
           action=Action.MANAGE_USERS, body=UserPatch, response=UserView,
           tags=["accounts"])  # fmt: skip
async def change_user(request: web.Request, body: UserPatch) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    user = await accounts.change_user(
        request[DB], current_actor(request), match_int(request, "id"),
        accounts.UserChanges(**given), now=now(request),
    )  # fmt: skip
    return json_model(user)
