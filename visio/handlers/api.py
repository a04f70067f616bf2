"""What every JSON endpoint shares: its declared contract, role check, parsing and rendering.

`operation` attaches the contract (request model, response model, roles) to a handler;
the route table (`routes.py`) names the paths, and `openapi.py` reads both, so the
document served cannot drift from what the handlers validate.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from visio.db.models import Role
from visio.handlers.validation import parse_json, parse_query
from visio.keys import ACTOR, CLOCK
from visio.services.accounts import Actor
from visio.services.errors import NotAllowed, NotAuthenticated, NotFound

M = TypeVar("M", bound=BaseModel)
Handler = Callable[..., Awaitable[web.StreamResponse]]

ANY_ROLE = frozenset(Role)


@dataclasses.dataclass(frozen=True, slots=True)
class Operation:
    """The contract of one JSON endpoint."""

    summary: str
    roles: frozenset[Role] | None  # None: no sign-in needed
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a model, or a type such as list[Model]
    status: int = 200
    tags: tuple[str, ...] = ()


OPERATION_ATTRIBUTE = "__visio_operation__"


def operation(
    summary: str,
    *,
    roles: Iterable[Role] | None = ANY_ROLE,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    tags: Iterable[str] = (),
) -> Callable[[Handler], Handler]:
    """Declare a JSON endpoint.

    The wrapped handler refuses callers without one of `roles` (401, then 403) before
    anything else, then receives the validated `body` and `query` models as arguments.
    """
    declared = Operation(
        summary=summary,
        roles=frozenset(roles) if roles is not None else None,
        body=body,
        query=query,
        response=response,
        status=status,
        tags=tuple(tags),
    )

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            if declared.roles is not None:
                actor = request.get(ACTOR)
                if actor is None:
                    raise NotAuthenticated()
                if actor.role not in declared.roles:
                    raise NotAllowed()
            arguments: dict[str, BaseModel] = {}
            if declared.body is not None:
                arguments["body"] = parse_json(declared.body, await request.read())
            if declared.query is not None:
                arguments["query"] = parse_query(declared.query, request.query)
            return await handler(request, **arguments)

        setattr(checked, OPERATION_ATTRIBUTE, declared)
        return checked

    return decorate


def current_actor(request: web.Request) -> Actor:
    """The signed-in actor (the `operation` wrapper has already refused anonymous calls)."""
    actor: Actor | None = request.get(ACTOR)
    if actor is None:
        raise NotAuthenticated()
    return actor


def now(request: web.Request) -> datetime:
    moment: datetime = request.app[CLOCK]()
    return moment


# Ids are 32-bit integers in the database.
MAX_ID = 2**31 - 1


def match_int(request: web.Request, name: str) -> int:
    """A path id (the route pattern already restricts it to digits); too large: not found."""
    value = int(request.match_info[name])
    if value > MAX_ID:
        raise NotFound()
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_model(model: BaseModel | Any, *, status: int = 200, adapter: Any = None) -> web.Response:
    """Render a pydantic model (or any value through `adapter`) as JSON."""
    if isinstance(model, BaseModel):
        document = model.model_dump(mode="json")
    else:
        document = TypeAdapter(adapter).dump_python(model, mode="json") if adapter else model
    return web.json_response(document, status=status, dumps=_dumps)
