"""Statistics and the desk's tally in the JSON API: visio sessions counted by status, desk
requests counted, each grouped at will, as JSON or CSV; requests recorded at the desk; the
themes they are filed under."""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from visio.handlers.api import current_actor, json_model, match_int, now, operation
from visio.handlers.schemas import (
    CrossTabOut,
    CrossTabQuery,
    DeskRequestCreate,
    DeskStatsOut,
    DeskStatsQuery,
    SessionStatsOut,
    SessionStatsQuery,
    StatsQuery,
    ThemeChange,
    ThemeCreate,
)
from visio.handlers.tables import Column, Table, csv_response
from visio.i18n import current_locale
from visio.keys import DB
from visio.services import desk_tally, statistics
from visio.services.permissions import Action
from visio.services.records import DeskRequestView, ThemeView

# The columns each group key brings, in the order of the API's rows.
KEY_COLUMNS = {
    "year": ("year",),
    "month": ("month",),
    "week": ("week",),
    "day": ("day",),
    "site": ("site_id", "site_name"),
    "partner": ("partner_id", "partner_name"),
    "motive": ("motive_id", "motive_name"),
    "agent": ("agent_id", "agent_name"),
    "theme": ("theme_id", "theme_name"),
    "channel": ("channel",),
}
SESSION_COUNTS = ("held", "no_show", "agent_absent", "cancelled", "booked", "minutes")
# format=csv answers a spreadsheet instead of JSON.
CSV = {"text/csv": "format=csv: the same rows, UTF-8 with a byte order mark"}
DESK_COUNTS = (
    "count", "accompanied", "new_people", "people_accompanied", "opening_days",
    "per_opening_day",
)  # fmt: skip


def session_table(group_by: Sequence[str], rows: Sequence[statistics.SessionRow]) -> Table:
    """Session rows as the API names their fields."""
    keys = [name for key in dict.fromkeys(group_by) for name in KEY_COLUMNS[key]]
    return Table(
        name="visio-sessions",
        columns=[Column(name, name) for name in (*keys, *SESSION_COUNTS)],
        rows=[
            {**row.keys, **{name: getattr(row, name) for name in SESSION_COUNTS}} for row in rows
        ],
    )


def desk_table(group_by: Sequence[str], rows: Sequence[statistics.DeskRow]) -> Table:
    """Desk rows as the API names their fields (`count`: the requests)."""
    keys = [name for key in dict.fromkeys(group_by) for name in KEY_COLUMNS[key]]
    return Table(
        name="visio-desk-requests",
        columns=[Column(name, name) for name in (*keys, *DESK_COUNTS)],
        rows=[
            {
                **row.keys, "count": row.requests, "accompanied": row.accompanied,
                "new_people": row.new_people, "people_accompanied": row.people_accompanied,
                "opening_days": row.opening_days, "per_opening_day": row.per_opening_day,
            }
            for row in rows
        ],
    )  # fmt: skip


def _answer(
    query: StatsQuery, table: Table, model: type[SessionStatsOut | DeskStatsOut]
) -> web.Response:
    if query.format == "csv":
        return csv_response(table, separator=query.sep, locale=current_locale.get())
    return json_model(model.model_validate({"rows": table.rows}), exclude_none=True)


@operation(
    "Visio sessions counted by status (held is a session), grouped by any of year, month, "
    "week, day, site, partner, motive, agent (periods on each house's own calendar); "
    "format=csv for a spreadsheet",
    action=Action.READ_STATISTICS,
    query=SessionStatsQuery,
    response=SessionStatsOut,
    tags=["statistics"],
    other_media=CSV,
)
async def session_stats(request: web.Request, query: SessionStatsQuery) -> web.Response:
    rows = await statistics.session_counts(
        request[DB], current_actor(request), group_by=query.group_by, first_day=query.from_,
        last_day=query.to, site_id=query.site_id, partner_id=query.partner_id,
    )  # fmt: skip
    return _answer(query, session_table(query.group_by, rows), SessionStatsOut)


def crosstab_table(year: int, rows: Sequence[statistics.CrossRow]) -> Table:
    """Houses × months, a column per month, as a spreadsheet reads it."""
    months = [f"{year}-{month:02d}" for month in range(1, 13)]
    return Table(
        name=f"visio-sessions-{year}-per-house-and-month",
        columns=[Column("site_id", "site_id"), Column("site_name", "site_name"),
                 *(Column(month, month, "count") for month in months),
                 Column("total", "total", "count")],
        rows=[{"site_id": row.site_id, "site_name": row.site_name,
               **dict(zip(months, row.months, strict=True)), "total": row.total}
              for row in rows],
    )  # fmt: skip


@operation(
    "The network's cross-tab: each house's appointments of one status (held: the visio "
    "sessions) month by month over a year, one row per house; format=csv for a spreadsheet",
    action=Action.READ_STATISTICS,
    query=CrossTabQuery,
    response=CrossTabOut,
    tags=["statistics"],
    other_media=CSV,
)
async def session_crosstab(request: web.Request, query: CrossTabQuery) -> web.Response:
    rows = await statistics.crosstab(
        request[DB], current_actor(request), year=query.year, status=query.status.value,
        partner_id=query.partner_id,
    )  # fmt: skip
    if query.format == "csv":
        table = crosstab_table(query.year, rows)
        return csv_response(table, separator=query.sep, locale=current_locale.get())
    document = {"year": query.year, "status": query.status.value, "rows": rows}
    return json_model(CrossTabOut.model_validate(document, from_attributes=True))


@operation(
    "Desk requests counted (with people accompanied and requests per opening day), grouped "
    "by any of year, month, week, day, site, partner, theme, channel; format=csv for a "
    "spreadsheet",
    action=Action.READ_STATISTICS,
    query=DeskStatsQuery,
    response=DeskStatsOut,
    tags=["statistics"],
    other_media=CSV,
)
async def desk_stats(request: web.Request, query: DeskStatsQuery) -> web.Response:
    rows = await statistics.desk_counts(
        request[DB], current_actor(request), group_by=query.group_by, first_day=query.from_,
        last_day=query.to, site_id=query.site_id, partner_id=query.partner_id,
        today=now(request).date(),
    )  # fmt: skip
    return _answer(query, desk_table(query.group_by, rows), DeskStatsOut)


@operation(
    "Count one request at a house's desk (counts only, never who asked)",
    action=Action.RECORD_DESK_REQUEST,
    body=DeskRequestCreate,
    response=DeskRequestView,
    status=201,
    tags=["desk tally"],
)
async def record_desk_request(request: web.Request, body: DeskRequestCreate) -> web.Response:
    recorded = await desk_tally.record(
        request[DB], current_actor(request), site_id=body.site_id, partner_id=body.partner_id,
        theme_id=body.theme_id, channel=body.channel, accompanied=body.accompanied,
        new_person=body.new_person, kind=body.kind, now=now(request),
    )  # fmt: skip
    return json_model(recorded, status=201)


@operation(
    "Take back a request counted by mistake (its house's desk, the same day)",
    action=Action.RECORD_DESK_REQUEST,
    status=204,
    tags=["desk tally"],
)
async def take_back_desk_request(request: web.Request) -> web.Response:
    await desk_tally.take_back(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return web.Response(status=204)


@operation(
    "The themes of desk requests (retired ones too, marked inactive)",
    action=Action.READ_SET_UP,
    response=list[ThemeView],
    tags=["desk tally"],
)
async def list_themes(request: web.Request) -> web.Response:
    themes = await desk_tally.themes(request[DB], current_actor(request), active_only=False)
    return json_model(themes, adapter=list[ThemeView])


@operation(
    "Add a theme of desk requests",
    action=Action.SET_UP,
    body=ThemeCreate,
    response=ThemeView,
    status=201,
    tags=["desk tally"],
)
async def create_theme(request: web.Request, body: ThemeCreate) -> web.Response:
    theme = await desk_tally.add_theme(
        request[DB], current_actor(request), code=body.code, name=body.name,
        name_en=body.name_en, now=now(request),
    )  # fmt: skip
    return json_model(theme, status=201)


@operation(
    "Rename, reorder, retire or bring back a theme (never deleted: statistics keep it)",
    action=Action.SET_UP,
    body=ThemeChange,
    response=ThemeView,
    tags=["desk tally"],
)
async def change_theme(request: web.Request, body: ThemeChange) -> web.Response:
    theme = await desk_tally.change_theme(
        request[DB], current_actor(request), match_int(request, "id"), name=body.name,
        name_en=body.name_en, position=body.position, active=body.active, now=now(request),
    )  # fmt: skip
    return json_model(theme)
