"""The OpenAPI document: valid, complete, and generated from the same models."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from visio.handlers.api import OPERATION_ATTRIBUTE


async def test_the_document_is_valid_openapi_31(client: Any) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_every_json_route_is_documented(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operations = {
        entry["operationId"] for methods in document["paths"].values() for entry in methods.values()
    }
    declared = {
        route.name
        for route in client.app.router.routes()
        if getattr(route.handler, OPERATION_ATTRIBUTE, None) is not None and route.method != "HEAD"
    }
    assert declared and declared == operations
    assert {"api_users_create", "api_user_tokens_create", "healthz", "readyz"} <= operations


async def test_user_creation_is_described_from_its_model(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    create = document["paths"]["/api/v1/users"]["post"]
    assert set(create["responses"]) >= {"201", "401", "403", "409", "422"}
    schema = document["components"]["schemas"]["UserCreate"]
    assert set(schema["required"]) == {"email", "name", "role"}
    assert schema["additionalProperties"] is False
    assert "/api/v1/users/{id}/tokens" in document["paths"]
