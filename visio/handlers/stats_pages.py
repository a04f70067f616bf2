"""The coordinator's pages: the dashboard (`/stats`), its tables as CSV or JSON, and the
yearly report for the steering committee (`/stats/report?year=`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date

from aiohttp import web
from babel import Locale
from babel.numbers import format_percent, get_group_symbol, parse_pattern
from markupsafe import Markup, escape

from visio.handlers.api import current_actor, now
from visio.handlers.render import render
from visio.handlers.tables import Column, Separator, Table, csv_response, json_response
from visio.handlers.validation import day_query
from visio.i18n import format_date
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LOCALE
from visio.services import dashboard as dashboards
from visio.services import statistics
from visio.services.dashboard import Dashboard, DeskLine, Figure, SessionLine
from visio.services.errors import InvalidInput, Malformed
from visio.services.statistics import LONGEST_PERIOD_DAYS

FIRST_YEAR, LAST_YEAR = 2000, 2100
# The rows a page shows of a long table, the largest first (its download has them all);
# _stats.html shows as many.
SHOWN_ROWS = 50
CHANNEL_LABELS = {
    "in_person": _l("At the desk"),
    "phone": _l("By phone"),
    "email": _l("By email"),
    "visio": _l("In visio"),
}


def _id(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name, "")
    if not text:
        return None
    if not text.isdigit() or int(text) > 2**31 - 1:
        raise Malformed(_l("This address is not valid."))
    return int(text)


def _period(query: Mapping[str, str], today: date) -> tuple[date, date, int | None]:
    """The period asked for: `from`…`to`, else the `year` (this one by default); this
    year's period ends today."""
    first, last = day_query(query, "from"), day_query(query, "to")
    if first is not None or last is not None:
        if first is None or last is None:
            raise InvalidInput(fields={"from" if first is None else "to": _l("Required.")})
        if last < first:
            raise InvalidInput(fields={"to": _l("Must not come before the start of the range.")})
        if (last - first).days > LONGEST_PERIOD_DAYS:
            raise InvalidInput(fields={"to": _l("A period covers at most 20 years.")})
        return first, last, None
    text = query.get("year", "")
    if text and (not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR):
        raise InvalidInput(fields={"year": _l("A year from 2000 to 2100.")})
    year = int(text) if text else today.year
    return date(year, 1, 1), date(year, 12, 31), year


async def _dashboard(request: web.Request, *, longest: int | None) -> tuple[Dashboard, int | None]:
    today = now(request).date()
    first, last, year = _period(request.query, today)
    board = await dashboards.dashboard(
        request[DB], current_actor(request), first_day=first, last_day=last,
        site_id=_id(request.query, "site_id"), partner_id=_id(request.query, "partner_id"),
        today=today, longest=longest,
    )  # fmt: skip
    return board, year


def tables(board: Dashboard) -> dict[str, Table]:
    """Every table of the dashboard, as the page shows them and the exports write them."""
    sessions = [
        Column("held", _("Held"), "count"), Column("no_show", _("Citizen absent"), "count"),
        Column("agent_absent", _("Agent absent"), "count"),
        Column("cancelled", _("Cancelled"), "count"), Column("booked", _("Booked"), "count"),
        Column("no_show_rate", _("Citizen absence rate"), "ratio"),
        Column("agent_absent_rate", _("Agent absence rate"), "ratio"),
    ]  # fmt: skip
    desk = [
        Column("requests", _("Requests"), "count"),
        Column("people_accompanied", _("People accompanied"), "count"),
        Column("per_opening_day", _("Per opening day"), "decimal"),
    ]
    return {
        "months": Table(
            "visio-sessions-per-month",
            [Column("month", _("Month"), "month"), Column("held", _("Visio sessions"), "count"),
             Column("previous_held", _("A year before"), "count")],
            [{"month": bar.month, "held": bar.held, "previous_held": bar.previous_held}
             for bar in board.months],
        ),
        "houses": Table(
            "visio-sessions-per-house",
            [Column("name", _("House")), *sessions,
             Column("occupancy", _("Station occupancy"), "ratio")],
            [_session_row(line) for line in board.houses], board.houses_count,
        ),
        "partners": Table(
            "visio-sessions-per-partner", [Column("name", _("Partner")), *sessions],
            [_session_row(line) for line in board.partners],
        ),
        "motives": Table(
            "visio-sessions-per-motive", [Column("name", _("Motive")), *sessions],
            [_session_row(line) for line in board.motives],
        ),
        "desk_partners": Table(
            "visio-desk-requests-per-partner", [Column("name", _("Partner")), *desk],
            [_desk_row(line, _named(line, _("No partner in particular")))
             for line in board.desk_partners],
        ),
        "desk_themes": Table(
            "visio-desk-requests-per-theme", [Column("name", _("Theme")), *desk],
            [_desk_row(line, _named(line, _("No theme"))) for line in board.desk_themes],
        ),
        "desk_channels": Table(
            "visio-desk-requests-per-channel", [Column("name", _("Channel")), *desk],
            [_desk_row(line, str(CHANNEL_LABELS.get(line.name, line.name)))
             for line in board.desk_channels],
        ),
        "desk_houses": Table(
            "visio-desk-requests-per-house", [Column("name", _("House")), *desk],
            [_desk_row(line, line.name) for line in board.desk_houses],
            board.desk_houses_count,
        ),
    }  # fmt: skip


def _session_row(line: SessionLine) -> dict[str, object]:
    return {
        "name": line.name, "held": line.held, "no_show": line.no_show,
        "agent_absent": line.agent_absent, "cancelled": line.cancelled, "booked": line.booked,
        "no_show_rate": line.no_show_rate, "agent_absent_rate": line.agent_absent_rate,
        "occupancy": line.occupancy,
    }  # fmt: skip


def _named(line: DeskLine, absent: str) -> str:
    """A partner's or theme's name; `absent` for the requests of none."""
    return line.name if line.key and line.name else absent


def _desk_row(line: DeskLine, name: str) -> dict[str, object]:
    return {
        "name": name, "requests": line.requests, "people_accompanied": line.people_accompanied,
        "per_opening_day": line.per_opening_day,
    }  # fmt: skip


# A page writes hundreds of numbers: the patterns are read once, not once per number.
RATIO, DECIMAL = parse_pattern("#,##0.0 %"), parse_pattern("#,##0.0")


def _formatters(locale: str) -> dict[str, object]:
    parsed = Locale.parse(locale)
    group = get_group_symbol(parsed)

    def number(value: object, kind: str = "count") -> str:
        if value is None:
            return "—"
        if kind == "ratio":
            return str(RATIO.apply(float(str(value)), parsed))
        if kind == "decimal":
            return str(DECIMAL.apply(float(str(value)), parsed))
        if kind == "count":
            # A whole number: the locale's grouping, as format_decimal writes it.
            return f"{int(str(value)):,}".replace(",", group)
        if kind == "month":
            return month_name(str(value))
        return str(value)

    def growth(figure: Figure) -> str:
        change = figure.growth
        if change is None:
            return ""
        sign = "+" if change > 0 else ""
        return sign + format_percent(change, "#,##0 %", locale=locale)

    def month_name(month: str, width: str = "wide") -> str:
        year, number_ = (int(part) for part in month.split("-"))
        pattern = "MMMM y" if width == "wide" else "MMM"
        return format_date(date(year, number_, 1), locale, pattern)

    def long_date(day: date) -> str:
        return format_date(day, locale, "long")

    return {"number": number, "growth": growth, "month_name": month_name, "long_date": long_date}


def _chart(board: Dashboard) -> dict[str, object]:
    """The bars of the monthly chart, in SVG units (the template draws them)."""
    highest = max(
        [1, *(bar.held for bar in board.months), *(bar.previous_held for bar in board.months)]
    )
    step = 10 ** max(0, len(str(highest)) - 1)
    top = ((highest + step - 1) // step) * step
    return {
        "top": top,
        "ticks": [top * share // 4 for share in range(5)],
        "height": 200,
        "slot": 600 / max(1, len(board.months)),
    }


async def stats(request: web.Request) -> web.Response:
    """The dashboard: a period against the same period a year before, for the actor's
    houses, one house, one partner; every filter in the address."""
    actor = current_actor(request)
    choices = await dashboards.choices(request[DB], actor)
    today = now(request).date()
    context: dict[str, object] = {
        "site_options": _options(choices.sites, request.query.get("site_id", "")),
        "partner_options": _options(choices.partners, request.query.get("partner_id", "")),
        "query": dict(request.query), "errors": {}, "board": None,
        "this_year": today.year, "years": list(range(today.year, 2018, -1)),
        **_formatters(request[LOCALE]),
    }  # fmt: skip
    try:
        board, year = await _dashboard(request, longest=SHOWN_ROWS)
    except InvalidInput as error:
        context["errors"] = {key: str(message) for key, message in error.fields.items()}
        return render("stats.html", request, context, status=422)
    context.update(
        board=board, year=year, tables=tables(board), chart=_chart(board),
        channel_labels={key: str(label) for key, label in CHANNEL_LABELS.items()},
        export_query=_export_query(request),
    )  # fmt: skip
    return render("stats.html", request, context)


def _options(choices: tuple[tuple[int, str], ...], selected: str) -> Markup:
    """A select's options, the chosen one selected: written here, not by the template, and
    kept while the choices stay the same, as an administrator's house filter lists
    thousands of houses."""
    written = _written_options(choices)
    if selected.isdigit():
        option = f'<option value="{int(selected):d}">'
        written = written.replace(option, option[:-1] + " selected>", 1)
    return Markup(written)  # noqa: S704 - each name escaped, each id an integer


@functools.lru_cache(maxsize=32)
def _written_options(choices: tuple[tuple[int, str], ...]) -> str:
    return "".join(
        f'<option value="{identifier:d}">{escape(name)}</option>' for identifier, name in choices
    )


def _export_query(request: web.Request) -> str:
    kept = {key: value for key, value in request.query.items()
            if key in ("year", "from", "to", "site_id", "partner_id") and value}  # fmt: skip
    return "&".join(f"{key}={value}" for key, value in kept.items())


async def export(request: web.Request) -> web.Response:
    """One table of the dashboard (`?table=`) as CSV (`sep=semicolon` for Excel in French)
    or JSON (`format=json`), for the same filters; `table=crosstab`: each house month by
    month over the year (the visio sessions held)."""
    found: Table | None
    if request.query.get("table") == "crosstab":
        found = await _crosstab(request)
    else:
        board, _year = await _dashboard(request, longest=None)
        found = tables(board).get(request.query.get("table", ""))
    if found is None:
        raise Malformed(_l("This address is not valid."))
    if request.query.get("format") == "json":
        return json_response(found, download=True)
    separator: Separator = "semicolon" if request.query.get("sep") == "semicolon" else "comma"
    return csv_response(found, separator=separator, locale=request[LOCALE])


async def _crosstab(request: web.Request) -> Table:
    first, _last, _year = _period(request.query, now(request).date())
    rows = await statistics.crosstab(
        request[DB], current_actor(request), year=first.year,
        partner_id=_id(request.query, "partner_id"),
    )  # fmt: skip
    locale = request[LOCALE]
    months = [date(first.year, month, 1) for month in range(1, 13)]
    return Table(
        f"visio-sessions-{first.year}-per-house-and-month",
        [Column("name", _("House")),
         *(Column(month.isoformat()[:7], format_date(month, locale, "MMMM y"), "count")
           for month in months),
         Column("total", _("Total"), "count")],
        [{"name": row.site_name, **{month.isoformat()[:7]: count
                                    for month, count in zip(months, row.months, strict=True)},
          "total": row.total} for row in rows],
    )  # fmt: skip


async def report(request: web.Request) -> web.Response:
    """The year's report for the steering committee (`?year=`, last year by default), in
    sentences and tables, printable on A4."""
    today = now(request).date()
    query = dict(request.query)
    query.setdefault("year", str(today.year - 1))
    query.pop("from", None), query.pop("to", None)
    first, last, year = _period(query, today)
    board = await dashboards.dashboard(
        request[DB], current_actor(request), first_day=first, last_day=last,
        site_id=_id(query, "site_id"), partner_id=_id(query, "partner_id"), today=today,
        longest=SHOWN_ROWS,
    )  # fmt: skip
    days_in_year = (last - first).days + 1
    partners = [line for line in board.desk_partners if line.key]
    context = {
        "board": board, "year": year, "tables": tables(board),
        "per_day": board.desk_requests.current / days_in_year,
        "top_partners": partners[:4], **_formatters(request[LOCALE]),
    }  # fmt: skip
    return render("stats_report.html", request, context)
