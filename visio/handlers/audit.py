"""The audit log in the JSON API: who changed what, and when (administrators)."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.api import PAGE_HEADERS, current_actor, listing_response, operation
from visio.handlers.schemas import AuditQuery
from visio.keys import DB, SETTINGS
from visio.services import audit
from visio.services.permissions import Action
from visio.services.records import AuditEntryView


@operation("The audit log, newest first (admins): by who, what, which record, which days",
           action=Action.READ_AUDIT, query=AuditQuery, response=list[AuditEntryView],
           headers=PAGE_HEADERS, tags=["audit"])  # fmt: skip
async def list_entries(request: web.Request, query: AuditQuery) -> web.Response:
    wanted = audit.AuditFilter(
        who=query.who, user_id=query.user_id, action=query.action, entity=query.entity,
        entity_id=query.entity_id, first_day=query.from_, last_day=query.to,
    )  # fmt: skip
    found = await audit.find_entries(
        request[DB], current_actor(request), wanted,
        timezone=request.app[SETTINGS].default_timezone, page=query.page, per_page=query.limit,
    )  # fmt: skip
    return listing_response(request, found, list[AuditEntryView])
