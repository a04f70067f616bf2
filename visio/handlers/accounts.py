"""Accounts in the JSON API: users and their API tokens."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.api import current_actor, json_model, match_int, now, operation
from visio.handlers.schemas import TokenCreate, UserCreate
from visio.keys import DB
from visio.services import accounts
from visio.services.permissions import Action
from visio.services.records import NewToken, UserView


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
