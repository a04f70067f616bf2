"""Liveness and readiness probes for the monitoring and the load balancer."""

from __future__ import annotations

import hmac
import ipaddress
import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from visio.db.migrate import current_revision, head_revision
from visio.db.outage import unreachable
from visio.handlers.api import json_model, operation
from visio.handlers.schemas import Health, Readiness
from visio.i18n import gettext as _
from visio.keys import CLOCK, DB, DB_OUTAGE, ENGINE, SETTINGS
from visio.metrics import METRICS, Metrics
from visio.services import monitoring
from visio.services.errors import NotAllowed

log = logging.getLogger(__name__)


@operation("Liveness: the process answers", signed_in=False, response=Health, tags=["monitoring"])
async def healthz(request: web.Request) -> web.Response:
    return json_model(Health(status="ok"))


@operation(
    "Readiness: the database answers and its schema is at the code's revision",
    signed_in=False,
    response=Readiness,
    tags=["monitoring"],
    answered_in_kind={
        503: "Not ready: the database does not answer, or its schema is not the code's"
    },
)
async def readyz(request: web.Request) -> web.Response:
    expected = head_revision()
    try:
        connection = await request[DB].connection()
        await connection.execute(text("SELECT 1"))
        revision = await current_revision(connection)
    except Exception as error:
        if not unreachable(error) and not isinstance(error, SQLAlchemyError):
            raise
        # Logged once per outage (its start and its end), not at every probe.
        request.app[DB_OUTAGE].failed(error)
        readiness = Readiness(
            status="not_ready",
            database="unreachable",
            schema_revision=None,
            expected_revision=expected,
            reason=_("The database does not answer."),
        )
        return json_model(readiness, status=503)
    if revision != expected:
        readiness = Readiness(
            status="not_ready",
            database="ok",
            schema_revision=revision,
            expected_revision=expected,
            reason=_("The database schema is not up to date: run visio db upgrade."),
        )
        return json_model(readiness, status=503)
    return json_model(
        Readiness(
            status="ready", database="ok", schema_revision=revision, expected_revision=expected
        )
    )


def _may_scrape(request: web.Request) -> bool:
    """From this machine (loopback, not relayed by a proxy), or with the metrics token."""
    token = request.app[SETTINGS].metrics_token
    authorization = request.headers.get("Authorization", "")
    scheme, _sep, given = authorization.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token):
        return True
    try:
        local = ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        local = False
    # nginx on the same machine connects from loopback: what it relays is not local.
    return local and "X-Forwarded-For" not in request.headers and not authorization


async def metrics(request: web.Request) -> web.Response:
    """The process's series in Prometheus's text format; 403 but from this machine or with
    `VISIO_METRICS_TOKEN`."""
    if not _may_scrape(request):
        raise NotAllowed(
            _("The metrics are read from the server itself or with the metrics token.")
        )
    found: Metrics = request.app[METRICS]
    health = await monitoring.outbox_health(request[DB], request.app[CLOCK]())
    for status, count in health.counts.items():
        found.outbox.labels(status.value).set(count)
    found.oldest_pending.set(health.oldest_pending_age)
    found.observe_pool(request.app[ENGINE])
    response = web.Response(body=generate_latest(found.registry))
    response.content_type = "text/plain"
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
