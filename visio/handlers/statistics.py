"""Statistics in the JSON API: visio sessions counted by status, grouped at will."""

from __future__ import annotations

import dataclasses

from aiohttp import web

from visio.handlers.api import current_actor, json_model, operation
from visio.handlers.schemas import SessionStatsOut, SessionStatsQuery
from visio.keys import DB
from visio.services import statistics
from visio.services.permissions import Action


@operation(
    "Visio sessions counted by status (held is a session), grouped by any of year, month, "
    "week, day, site, partner, motive, agent (periods on each house's own calendar)",
    action=Action.READ_STATISTICS,
    query=SessionStatsQuery,
    response=SessionStatsOut,
    tags=["statistics"],
)
async def session_stats(request: web.Request, query: SessionStatsQuery) -> web.Response:
    rows = await statistics.session_counts(
        request[DB], current_actor(request), group_by=query.group_by, first_day=query.from_,
        last_day=query.to, site_id=query.site_id, partner_id=query.partner_id,
    )  # fmt: skip
    document = {
        "rows": [
            {**row.keys, **{field.name: getattr(row, field.name)
                            for field in dataclasses.fields(row) if field.name != "keys"}}
            for row in rows
        ]
    }  # fmt: skip
    return json_model(SessionStatsOut.model_validate(document), exclude_none=True)
