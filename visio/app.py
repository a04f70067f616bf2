"""`create_app(settings)`: settings → engine → services → routes. Wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from visio.db import outage
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import current_revision, head_revision
from visio.handlers.routes import setup_routes
from visio.i18n import gettext, plural_form
from visio.keys import (
    CLOCK,
    DB_OUTAGE,
    ENGINE,
    JITSI,
    LINKS,
    OUTBOX_SENDER,
    SESSIONMAKER,
    SETTINGS,
    Clock,
)
from visio.metrics import METRICS, Metrics, metrics_middleware
from visio.middlewares import (
    answer_request_id,
    auth_middleware,
    error_middleware,
    locale_middleware,
    request_id_middleware,
    security_headers,
    security_headers_middleware,
    transaction_middleware,
)
from visio.notify.sender import OutboxSender
from visio.services.notifications import Links
from visio.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Forms and JSON bodies are small; a larger body is a mistake or an attack.
MAX_BODY_BYTES = 1024 * 1024
# On shutdown the sender finishes the batch in hand for at most this long (seconds); what
# it has not recorded by then is sent again once its lease runs out.
SENDER_STOP_TIMEOUT = 10.0

log = logging.getLogger(__name__)


class SchemaNotAtHead(Exception):
    """The database schema is behind (or ahead of) the code."""

    def __init__(self, current: str | None, expected: str) -> None:
        self.current = current
        self.expected = expected
        super().__init__(
            f"the database schema is at revision {current or 'none (empty database)'}, "
            f"this version of visio needs {expected}: run `visio db upgrade`"
        )


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    bind: AsyncConnection | None = None,
) -> web.Application:
    """The whole application for `settings`.

    `bind` hands an open connection to use instead of a pool of our own: tests run each
    case inside a transaction on it (sessions then use savepoints) and roll it back.
    """
    app = web.Application(
        middlewares=[
            request_id_middleware,
            metrics_middleware,
            locale_middleware,
            error_middleware,
            security_headers_middleware,
            transaction_middleware,
            auth_middleware,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    # Added to every response as it goes out, errors, redirects and static files included.
    app.on_response_prepare.append(security_headers(settings))
    app.on_response_prepare.append(answer_request_id)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[CLOCK] = clock
    app[JITSI] = settings.jitsi()
    app[LINKS] = Links(base_url=settings.base_url, mail_from=settings.mail_from)
    if bind is None:
        engine = make_engine(
            settings.database_url,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
        )
        app[ENGINE] = engine
        app[SESSIONMAKER] = make_sessionmaker(engine)
    else:
        app[ENGINE] = bind.engine
        app[SESSIONMAKER] = async_sessionmaker(
            bind, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
    app[DB_OUTAGE] = outage.watch(app[ENGINE])
    app.cleanup_ctx.append(_database(owns_engine=bind is None))
    smtp = settings.smtp()
    # Not on a borrowed connection: the sender would use it at the same time as requests.
    if smtp is not None and settings.run_worker and bind is None:
        app[OUTBOX_SENDER] = OutboxSender(app[SESSIONMAKER], smtp, clock=clock)
        app.cleanup_ctx.append(_outbox_sender)
    # The retention purge, once a day (not on a borrowed connection either: tests call it).
    if bind is None:
        app.cleanup_ctx.append(_daily_purge)
    _setup_templates(app)
    setup_routes(app)
    return app


def _database(*, owns_engine: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    async def database(app: web.Application) -> AsyncIterator[None]:
        engine = app[ENGINE]
        try:
            if app[SETTINGS].require_schema_head:
                async with app[SESSIONMAKER]() as session:
                    current = await current_revision(await session.connection())
                expected = head_revision()
                if current != expected:
                    raise SchemaNotAtHead(current, expected)
            yield
        finally:
            if owns_engine:
                await engine.dispose()

    return database


async def _outbox_sender(app: web.Application) -> AsyncIterator[None]:
    """The sender runs beside the web server and stops before the engine is disposed."""
    sender = app[OUTBOX_SENDER]
    task = asyncio.create_task(sender.run(), name="visio outbox sender")
    yield
    sender.stop()
    try:
        await asyncio.wait_for(task, SENDER_STOP_TIMEOUT)
    except TimeoutError:
        log.warning("outbox sender still busy after %.0f s: stopped", SENDER_STOP_TIMEOUT)


async def _daily_purge(app: web.Application) -> AsyncIterator[None]:
    """The retention purge's daily job beside the web server, stopped before the engine is
    disposed; a purge in its transaction when stopped is rolled back whole."""
    from visio.personal_data import DailyPurge

    job = DailyPurge(app[SESSIONMAKER], app[SETTINGS], clock=app[CLOCK])
    task = asyncio.create_task(job.run(), name="visio retention purge")
    yield
    job.stop()
    try:
        await asyncio.wait_for(task, SENDER_STOP_TIMEOUT)
    except TimeoutError:
        log.warning("retention purge still busy after %.0f s: stopped", SENDER_STOP_TIMEOUT)


def _setup_templates(app: web.Application) -> None:
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.install_gettext_callables(gettext, plural_form, newstyle=True)  # type: ignore[attr-defined]
