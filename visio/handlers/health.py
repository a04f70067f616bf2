"""Liveness and readiness probes for the monitoring and the load balancer."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from visio.db.migrate import current_revision, head_revision
from visio.db.outage import unreachable
from visio.handlers.api import json_model, operation
from visio.handlers.schemas import Health, Readiness
from visio.i18n import gettext as _
from visio.keys import DB, DB_OUTAGE

log = logging.getLogger(__name__)


@operation("Liveness: the process answers", signed_in=False, response=Health, tags=["monitoring"])
async def healthz(request: web.Request) -> web.Response:
    return json_model(Health(status="ok"))


@operation(
    "Readiness: the database answers and its schema is at the code's revision",
    signed_in=False,
    response=Readiness,
    tags=["monitoring"],
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
