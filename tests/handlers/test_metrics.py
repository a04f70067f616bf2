"""GET /metrics: the process's requests, bookings and slot searches, the outbox read at the
scrape, the database pool; for this machine or the metrics token only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Clock
from tests.handlers.test_meeting_pages import House, book, house, settings
from visio.settings import ConfigError, Settings

__all__ = ["house", "settings"]

TOKEN = "metrics-" + "m" * 40


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed by prometheus-client's own parser."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def scrape(
    client: Any, **headers: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return samples(await response.text())


async def test_requests_bookings_searches_and_the_outbox_are_counted(
    client: Any, house: House, clock: Clock
) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/nowhere")
    slots = await client.get(
        f"/api/v1/slots?site_id={house.site.id}&motive_id={house.motive.id}"
        "&from=2026-03-16&to=2026-03-20",
        headers=house.headers,
    )
    assert slots.status == 200, await slots.text()
    await book(client, house)
    clock.advance(timedelta(minutes=3))
    found = await scrape(client)

    def value(name: str, **labels: str) -> float:
        return found.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("visio_http_requests_total", route="healthz", method="GET", status="200") == 1
    # An unknown path is counted under one name, whatever the path.
    assert value("visio_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert value("visio_bookings_total", via="api") == 1
    assert value("visio_slot_searches_total", via="api") == 1
    created = {"route": "api_appointments_create", "method": "POST"}
    assert value("visio_http_request_duration_seconds_count", **created) == 1
    assert value("visio_http_request_duration_seconds_bucket", **created, le="+Inf") == 1
    # The booking queued its agent's confirmation, waiting since the booking.
    assert value("visio_outbox_messages", status="pending") >= 1
    assert value("visio_outbox_messages", status="sent") == 0
    assert value("visio_outbox_oldest_pending_age_seconds") == pytest.approx(180, abs=1)
    # Routes by their name, never by a path that would carry an id.
    names = {route.name for route in client.app.router.routes()} | {"unmatched"}
    routes = {value for _name, labels in found for key, value in labels if key == "route"}
    assert routes and routes <= names


async def test_from_elsewhere_only_with_the_metrics_token(
    aiohttp_client: Any, database_url: str
) -> None:
    from visio.app import create_app

    app = create_app(Settings(database_url=database_url, secret_key="k" * 40, metrics_token=TOKEN))
    client = await aiohttp_client(app)
    # Relayed by nginx (which connects from loopback): not this machine.
    relayed = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert relayed.status == 403
    assert (await relayed.json())["error"]["code"] == "not_allowed"
    wrong = await client.get(
        "/metrics", headers={"X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer nope"}
    )
    assert wrong.status == 403
    # An account's API token is no metrics token, even from this machine.
    assert (await client.get("/metrics", headers={"Authorization": "Bearer x" * 3})).status == 403
    good = await client.get(
        "/metrics", headers={"X-Forwarded-For": "203.0.113.7", "Authorization": f"Bearer {TOKEN}"}
    )
    assert good.status == 200
    assert "visio_http_requests_total" in await good.text()


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="VISIO_METRICS_TOKEN"):
        Settings.from_env({"VISIO_SECRET_KEY": "s" * 40, "VISIO_METRICS_TOKEN": "short"})
