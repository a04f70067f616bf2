"""What every JSON endpoint shares: its declared contract, role check, parsing and rendering.

`operation` attaches the contract (request model, response model, roles) to a handler;
the route table (`routes.py`) names the paths, and `openapi.py` reads both, so the
document served cannot drift from what the handlers validate.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from visio.domain import Role
from visio.handlers.validation import parse_json, parse_query
from visio.keys import ACTOR, CLOCK, DB
from visio.services import idempotency
from visio.services.errors import NotAllowed, NotAuthenticated, NotFound
from visio.services.permissions import Action, Actor, roles
from visio.services.records import Listing

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
    response: Any = None  # a record or model, or a type form such as list[Record]
    status: int = 200
    tags: tuple[str, ...] = ()
    # Response headers of a success, by name: their meaning.
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Other media types a success may come in (`text/csv`…), each with when it does.
    other_media: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # Whether a call made again with the same `Idempotency-Key` gets its first answer.
    idempotent: bool = False
    # Refusals answered with the success's own model, not the error format (status: when).
    answered_in_kind: Mapping[int, str] = dataclasses.field(default_factory=dict)


OPERATION_ATTRIBUTE = "__visio_operation__"


def operation(
    summary: str,
    *,
    action: Action | None = None,
    signed_in: bool = True,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    tags: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
    other_media: Mapping[str, str] | None = None,
    idempotent: bool = False,
    answered_in_kind: Mapping[int, str] | None = None,
) -> Callable[[Handler], Handler]:
    """Declare a JSON endpoint.

    The wrapped handler refuses callers whose role may not do `action` (401 when nobody
    is signed in, then 403; `visio.services.permissions`) before anything else, then
    receives the validated `body` and `query` models as arguments. Without an `action`,
    any signed-in person gets in (`signed_in=False`: anyone) and the service decides.
    An `idempotent` endpoint takes an `Idempotency-Key` header (`answer_once`).
    """
    admitted = roles(action) if action is not None else ANY_ROLE
    declared = Operation(
        summary=summary,
        roles=admitted if signed_in else None,
        body=body,
        query=query,
        response=response,
        status=status,
        tags=tuple(tags),
        headers=dict(headers or {}),
        other_media=dict(other_media or {}),
        idempotent=idempotent,
        answered_in_kind=dict(answered_in_kind or {}),
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
            if declared.idempotent and IDEMPOTENCY_KEY in request.headers:
                return await answer_once(request, functools.partial(handler, request, **arguments))
            return await handler(request, **arguments)

        setattr(checked, OPERATION_ATTRIBUTE, declared)
        return checked

    return decorate


IDEMPOTENCY_KEY = idempotency.HEADER
# Set to "true" on an answer given again to a call made again with the same key.
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
# What an idempotent operation's success says beside its body.
IDEMPOTENT_HEADERS = {
    "Location": "The appointment's own URL.",
    IDEMPOTENT_REPLAYED: "true when this is the first answer given again to a call made "
    "again with the same Idempotency-Key.",
}


async def answer_once(
    request: web.Request, respond: Callable[[], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A call made with an `Idempotency-Key`: the first answer again, byte for byte, with
    its status and `Location` and `Idempotent-Replayed: true`, when the caller already
    made this very call with this key within 24 hours; else `respond()`'s answer, kept
    under the key in the request's transaction when it is a success.
    (`visio.services.idempotency`)"""
    key = idempotency.checked_key(request.headers[IDEMPOTENCY_KEY])
    raw = await request.read()
    fingerprint = idempotency.request_hash(
        request.method, request.path, json.loads(raw) if raw else None
    )
    session = request[DB]
    claim = await idempotency.claim(session, current_actor(request), key, fingerprint,
                                    now=now(request))  # fmt: skip
    if claim.first is not None:
        first = claim.first
        replayed = web.json_response(first.body, status=first.status, dumps=_dumps)
        if first.location is not None:
            replayed.headers["Location"] = first.location
        replayed.headers[IDEMPOTENT_REPLAYED] = "true"
        return replayed
    response = await respond()
    if 200 <= response.status < 300 and isinstance(response, web.Response):
        body = response.body
        assert isinstance(body, bytes), "an idempotent operation answers JSON"
        answer = idempotency.Answer(response.status, json.loads(body),
                                    response.headers.get("Location"))  # fmt: skip
        await idempotency.keep(session, claim, answer)
    return response


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


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[object]:  # a type form, as pydantic takes it
    adapter: TypeAdapter[object] = TypeAdapter(kind)
    return adapter


def json_model(
    value: object, *, status: int = 200, adapter: Any = None, exclude_none: bool = False
) -> web.Response:
    """Render a record or a pydantic model as JSON; `adapter`, the type of `value` when
    it is not its class (`list[AppointmentView]`); `exclude_none`, fields left out when
    they are None (keys a caller did not ask for)."""
    kind: Any = adapter if adapter is not None else type(value)
    document = _adapter(kind).dump_python(value, mode="json", exclude_none=exclude_none)
    return web.json_response(document, status=status, dumps=_dumps)


# What a paged list answers beside its items (`page_headers`).
PAGE_HEADERS = {
    "X-Total-Count": "How many items the whole list holds, over all its pages.",
    "Link": 'The other pages, RFC 8288: rel="next", rel="prev", rel="first", rel="last".',
}


def page_headers(request: web.Request, page: int, pages: int, total: int) -> dict[str, str]:
    """The headers that say where a page stands: the total, and links to the others
    (same query, another `page`)."""
    links = []
    wanted = {"first": 1, "prev": page - 1, "next": page + 1, "last": pages}
    for relation, number in wanted.items():
        if 1 <= number <= pages and number != page:
            url = request.rel_url.update_query(page=str(number))
            links.append(f'<{url}>; rel="{relation}"')
    headers = {"X-Total-Count": str(total)}
    if links:
        headers["Link"] = ", ".join(links)
    return headers


def listing_response(request: web.Request, found: Listing[Any], adapter: Any) -> web.Response:
    """A page of a list as JSON (`adapter`, the list's type form), with the headers that
    say where it stands."""
    response = json_model(found.items, adapter=adapter)
    response.headers.update(page_headers(request, found.page, found.pages, found.total))
    return response
