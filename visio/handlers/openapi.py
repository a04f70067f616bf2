"""The OpenAPI 3.1 document, generated from the route table and the models handlers validate."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from visio import __version__
from visio.domain import Role
from visio.handlers.api import IDEMPOTENCY_KEY, OPERATION_ATTRIBUTE, Operation, operation
from visio.handlers.schemas import ErrorResponse

_ERRORS = {
    "400": "Malformed request",
    "401": "No or bad credentials",
    "403": "Not allowed",
    "404": "Unknown or out of scope",
    "409": "Conflict with the current state",
    "413": "Body larger than the server takes",
    "422": "Invalid fields",
    "503": "The database cannot be reached for now: try again after Retry-After seconds",
}
_REF = "#/components/schemas/{model}"
# The request header of the operations a client may safely send again.
_IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_KEY,
    "in": "header",
    "required": False,
    "description": (
        "A key of the caller's choosing, new for each new request: the same call sent "
        "again with the same key within 24 hours gets its first answer again (status, "
        "body, Location, and Idempotent-Replayed: true) instead of being done twice; the "
        "same key with another body or path is refused (422 idempotency_key_reused). "
        "Keys are per user. Only successes are kept: a refused call sent again is asked "
        "again."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _operations(app: web.Application) -> list[tuple[str, str, str, Operation]]:
    found = []
    for route in app.router.routes():
        declared: Operation | None = getattr(route.handler, OPERATION_ATTRIBUTE, None)
        if declared is None or route.method == "HEAD":
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        # aiohttp writes {id:\d+}; OpenAPI wants {id}.
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)
        found.append((path, route.method.lower(), route.name or "", declared))
    return found


def build_document(app: web.Application) -> dict[str, Any]:
    """The whole API as OpenAPI 3.1: paths, parameters, bodies, responses and error shapes."""
    operations = _operations(app)
    models: set[type[BaseModel]] = {ErrorResponse}
    for _path, _method, _name, declared in operations:
        for model in (declared.body, declared.query):
            if model is not None:
                models.add(model)
    named = sorted(models, key=lambda model: model.__name__)
    keyed, definitions = models_json_schema(
        [(model, "validation") for model in named], ref_template=_REF
    )
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for path, method, name, declared in sorted(operations):
        entry: dict[str, Any] = {"operationId": name, "summary": declared.summary}
        if declared.tags:
            entry["tags"] = list(declared.tags)
        if declared.roles is not None:
            entry["security"] = [{"bearer": []}]
            roles = sorted(role.value for role in declared.roles)
            if set(declared.roles) != set(Role):
                entry["description"] = "Roles: " + ", ".join(roles)
        parameters = [
            {"name": match, "in": "path", "required": True, "schema": {"type": "integer"}}
            for match in re.findall(r"\{(\w+)\}", path)
        ]
        if declared.query is not None:
            query_schema = keyed[(declared.query, "validation")]
            target = schemas.get(query_schema["$ref"].rsplit("/", 1)[-1], query_schema)
            for field, field_schema in target.get("properties", {}).items():
                parameters.append(
                    {
                        "name": field,
                        "in": "query",
                        "required": field in target.get("required", []),
                        "schema": field_schema,
                    }
                )
        if declared.idempotent:
            parameters.append(_IDEMPOTENCY_PARAMETER)
        if parameters:
            entry["parameters"] = parameters
        if declared.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": keyed[(declared.body, "validation")]}},
            }
        responses: dict[str, Any] = {}
        success: dict[str, Any] = {"description": "Success"}
        if declared.response is not None:
            response_schema = TypeAdapter(declared.response).json_schema(
                ref_template=_REF, mode="serialization"
            )
            schemas.update(response_schema.pop("$defs", {}))
            success["content"] = {"application/json": {"schema": response_schema}}
        for media, meaning in declared.other_media.items():
            success.setdefault("content", {})[media] = {
                "schema": {"type": "string", "description": meaning}
            }
        if declared.headers:
            success["headers"] = {
                name: {"description": meaning, "schema": {"type": "string"}}
                for name, meaning in declared.headers.items()
            }
        responses[str(declared.status)] = success
        error_ref = {"$ref": _REF.format(model="ErrorResponse")}
        for status, description in _ERRORS.items():
            # A public operation still refuses a bad bearer token (401), never a role (403).
            if declared.roles is None and status == "403":
                continue
            if declared.body is None and status == "413":
                continue
            responses[status] = {
                "description": description,
                "content": {"application/json": {"schema": error_ref}},
            }
            if int(status) in declared.answered_in_kind and "content" in success:
                # The success's own model, or the error format when the refusal comes
                # before the handler (a token that cannot be checked with no database).
                own = success["content"]["application/json"]["schema"]
                responses[status] = {
                    "description": f"{declared.answered_in_kind[int(status)]}; or {description}",
                    "content": {"application/json": {"schema": {"oneOf": [own, error_ref]}}},
                }
            if status == "503":
                responses[status]["headers"] = {
                    "Retry-After": {
                        "description": "Seconds before trying again",
                        "schema": {"type": "integer", "minimum": 1},
                    }
                }
        entry["responses"] = responses
        paths.setdefault(path, {})[method] = entry
    for model in named:
        ref = keyed[(model, "validation")]["$ref"]
        schemas.setdefault(ref.rsplit("/", 1)[-1], {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "visio",
            "version": __version__,
            "description": (
                "Videoconference appointments between France Services houses and remote "
                "partner agents. Errors: {error: {code, message, fields}} in the caller's "
                "language (Accept-Language, French by default). Text never contains the NUL "
                "character (422)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@operation("This document", signed_in=False, tags=["monitoring"])
async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(build_document(request.app))
