"""Administrators' pages: the outbox, as it is or would be sent."""

from __future__ import annotations

from aiohttp import web

from visio.domain import OutboxStatus
from visio.handlers.api import current_actor, match_int
from visio.handlers.render import render
from visio.keys import DB, SETTINGS
from visio.services import notifications


async def outbox(request: web.Request) -> web.Response:
    """The latest messages, filtered by status (?status=pending…)."""
    chosen = request.query.get("status")
    status = OutboxStatus(chosen) if chosen in {s.value for s in OutboxStatus} else None
    messages = await notifications.outbox(request[DB], current_actor(request), status=status)
    context = {
        "messages": messages,
        "status": status.value if status else "",
        "statuses": [s.value for s in OutboxStatus],
        "smtp_configured": request.app[SETTINGS].smtp_host is not None,
    }
    return render("outbox.html", request, context)


async def outbox_message(request: web.Request) -> web.Response:
    message, words = await notifications.outbox_message(
        request[DB], current_actor(request), match_int(request, "id")
    )
    context = {"m": message, "words": words}
    return render("outbox_message.html", request, context)
