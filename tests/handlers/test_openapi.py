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


async def test_the_document_states_what_validation_enforces(client: Any) -> None:
    """What visio refuses, the document says: a request valid by it is not refused for
    one of its fields, and every answer visio gives is described."""
    document = await (await client.get("/api/v1/openapi.json")).json()
    schemas = document["components"]["schemas"]
    site = schemas["SiteCreate"]["properties"]
    assert "Europe/Paris" in site["timezone"]["enum"]
    assert "CET" not in site["timezone"]["enum"]
    assert "974" in site["holiday_calendar"]["anyOf"][0]["enum"]
    assert site["email"]["anyOf"][0]["maxLength"] == 254
    assert "pattern" in site["phone"]["anyOf"][0]
    # A correction's field may be left out, not emptied: no null offered.
    assert site["name"]["minLength"] == 1
    assert schemas["SitePatch"]["properties"]["name"]["type"] == "string"
    assert "anyOf" not in schemas["SitePatch"]["properties"]["name"]
    # Days and instants within the years visio takes, times of day without an offset.
    closure = schemas["ClosureCreate"]["properties"]["start"]
    assert closure["pattern"].startswith("^")
    assert schemas["RuleCreate"]["properties"]["weekdays"]["uniqueItems"] is True
    assert schemas["OpeningHoursIn"]["properties"]["start"]["pattern"].startswith("^(?:[01]")
    # Statistics come as CSV too; a group that never opened has no per_opening_day.
    sessions = document["paths"]["/api/v1/stats/sessions"]["get"]["responses"]["200"]
    assert set(sessions["content"]) == {"application/json", "text/csv"}
    assert "per_opening_day" not in schemas["DeskStatsRow"]["required"]
    # A body too large is refused where a body is taken.
    assert "413" in document["paths"]["/api/v1/appointments"]["post"]["responses"]
    assert "413" not in document["paths"]["/api/v1/appointments"]["get"]["responses"]


async def test_a_public_operation_documents_the_refusal_of_a_bad_token(client: Any) -> None:
    """Anyone may read /healthz, but a bearer token that is unknown is refused (401) there
    too, as the document says; no role is ever refused there (no 403)."""
    document = await (await client.get("/api/v1/openapi.json")).json()
    responses = document["paths"]["/healthz"]["get"]["responses"]
    assert "401" in responses and "403" not in responses
    refused = await client.get("/healthz", headers={"Authorization": "Bearer unknown"})
    assert refused.status == 401
    assert (await refused.json())["error"]["code"] == "not_authenticated"


async def test_every_operation_says_it_may_answer_503_with_retry_after(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    for path, methods in document["paths"].items():
        for method, entry in methods.items():
            unavailable = entry["responses"]["503"]
            assert "Retry-After" in unavailable.get("headers", {}), (method, path)
    readiness = document["paths"]["/readyz"]["get"]["responses"]["503"]
    schema = readiness["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ErrorResponse"} in schema["oneOf"]
    assert len(schema["oneOf"]) == 2
