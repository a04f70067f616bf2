"""Every typed application and request key, in one place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from visio.db.outage import Outage
from visio.meetings.jitsi import JitsiConfig
from visio.notify.sender import OutboxSender
from visio.services.accounts import Actor
from visio.services.notifications import Links
from visio.settings import Settings

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
# The database's outages as requests find them (one log line when one starts and ends).
DB_OUTAGE = web.AppKey("db_outage", Outage)
SESSIONMAKER = web.AppKey("sessionmaker", async_sessionmaker[AsyncSession])
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
JITSI = web.AppKey("jitsi", JitsiConfig)
LINKS = web.AppKey("links", Links)
OUTBOX_SENDER = web.AppKey("outbox_sender", OutboxSender)

DB = web.RequestKey("db", AsyncSession)
ACTOR: web.RequestKey[Actor | None] = web.RequestKey("actor")
LOCALE = web.RequestKey("locale", str)
# The request's id (its `X-Request-Id`), kept in the audit entries it writes; unset: None.
REQUEST_ID: web.RequestKey[str | None] = web.RequestKey("request_id")
CSP_NONCE = web.RequestKey("csp_nonce", str)
# A CSRF token made for this response; the middleware sets its cookie.
NEW_CSRF_TOKEN = web.RequestKey("new_csrf_token", str)
# A refusal whose writes are its point (a failed sign-in, counted by the throttle): the
# transaction middleware commits them all the same.
KEEP_REFUSAL_WRITES = web.RequestKey("keep_refusal_writes", bool)
