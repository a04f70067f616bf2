"""Accounts in the JSON API: users and their API tokens."""

from __future__ import annotations

from aiohttp import web

from visio.db.models import Role, User
from visio.handlers.api import current_actor, json_model, match_int, now, operation
from visio.handlers.schemas import TokenCreate, TokenOut, UserCreate, UserOut
from visio.keys import DB
from visio.services import accounts


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        site_ids=sorted(site.id for site in user.sites),
        agent_id=user.agent_id,
        locale=user.locale,
        active=user.active,
        created_at=user.created_at,
    )


@operation(
    "Create a user account",
    roles={Role.ADMIN},
    body=UserCreate,
    response=UserOut,
    status=201,
    tags=["accounts"],
)
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
    return json_model(user_out(user), status=201)


@operation("The signed-in user", response=UserOut, tags=["accounts"])
async def me(request: web.Request) -> web.Response:
    actor = current_actor(request)
    user = await accounts.get_user(request[DB], actor, actor.user_id)
    return json_model(user_out(user))


@operation("One user (admins, or the user themselves)", response=UserOut, tags=["accounts"])
async def get_user(request: web.Request) -> web.Response:
    user = await accounts.get_user(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(user_out(user))


@operation(
    "Create an API token for a user (admins, or the user themselves); shown once",
    body=TokenCreate,
    response=TokenOut,
    status=201,
    tags=["accounts"],
)
async def create_token(request: web.Request, body: TokenCreate) -> web.Response:
    record, token = await accounts.create_token(
        request[DB],
        current_actor(request),
        user_id=match_int(request, "id"),
        label=body.label,
        now=now(request),
    )
    out = TokenOut(
        id=record.id,
        token=token,
        prefix=record.prefix,
        label=record.label,
        created_at=record.created_at,
    )
    return json_model(out, status=201)
