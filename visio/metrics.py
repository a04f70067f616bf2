"""What a process has served, for Prometheus (`GET /metrics`, prometheus-client's format).

Each `visio serve` process counts its own requests: scrape every process (each port of
the upstream), not the address nginx serves. What the database holds (the outbox) is read
at each scrape. Route names, never paths, label the requests: an id in a path would make a
series per appointment.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncEngine

# Seconds: the pages and the API answer in milliseconds; a slow statistics page or a
# database timing out lands in the last buckets.
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# The routes that book, and the status a booking answers with there.
BOOKING_ROUTES: Final[Mapping[str, int]] = {"api_appointments_create": 201, "desk_book_submit": 303}
SLOT_SEARCH_ROUTES: Final = frozenset({"api_slots", "api_slots_first", "desk_book_slots"})


class Metrics:
    """The series of one application, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.requests = Counter(
            "visio_http_requests", "Requests answered, by route, method and status.",
            ["route", "method", "status"], registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "visio_http_request_duration_seconds", "Time to answer a request, by route.",
            ["route", "method"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.bookings = Counter(
            "visio_bookings", "Appointments booked, through the API or the desk's form.",
            ["via"], registry=registry,
        )  # fmt: skip
        self.slot_searches = Counter(
            "visio_slot_searches", "Searches of free times answered.", ["via"],
            registry=registry,
        )  # fmt: skip
        self.outbox = Gauge(
            "visio_outbox_messages", "Messages in the outbox, by status (read at the scrape).",
            ["status"], registry=registry,
        )  # fmt: skip
        self.oldest_pending = Gauge(
            "visio_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting to be sent (0 when none waits).",
            registry=registry,
        )
        self.pool_in_use = Gauge(
            "visio_db_pool_connections_in_use", "Database connections lent to requests now.",
            registry=registry,
        )  # fmt: skip
        self.pool_size = Gauge(
            "visio_db_pool_size", "Connections the database pool keeps open.", registry=registry
        )

    def observe_pool(self, engine: AsyncEngine) -> None:
        pool = engine.sync_engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        if callable(checked_out):
            self.pool_in_use.set(checked_out())
        if callable(size):
            self.pool_size.set(size())


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts and times every request by its route's name (`unmatched` for no route)."""
    metrics: Metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.name or "unmatched"
        metrics.requests.labels(route, request.method, str(status)).inc()
        metrics.latency.labels(route, request.method).observe(time.perf_counter() - started)
        if BOOKING_ROUTES.get(route) == status:
            metrics.bookings.labels("api" if route.startswith("api_") else "form").inc()
        elif route in SLOT_SEARCH_ROUTES and status == 200:
            metrics.slot_searches.labels("api" if route.startswith("api_") else "form").inc()
