"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from visio.app import create_app
from visio.db.migrate import head_revision
from visio.settings import Settings


async def test_healthz_answers_without_the_database(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


async def test_readyz_checks_the_database_and_its_schema(client: Any) -> None:
    response = await client.get("/readyz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    assert body["schema_revision"] == body["expected_revision"] == head_revision()


async def test_readyz_is_503_on_a_database_not_at_head(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
        secret_key="k" * 40,
        require_schema_head=False,
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/readyz", headers={"Accept-Language": "en"})
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "not_ready"
    assert body["schema_revision"] is None
    assert "visio db upgrade" in body["reason"]
