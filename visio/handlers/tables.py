"""Tables as files: CSV that Excel opens right (UTF-8 with a byte order mark, a semicolon
separator on request for Excel in French, decimal commas in French) and JSON, for the API
and the pages' exports alike."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from babel.numbers import format_decimal

Separator = Literal["comma", "semicolon"]
SEPARATORS: Mapping[Separator, str] = {"comma": ",", "semicolon": ";"}


@dataclass(frozen=True, slots=True)
class Column:
    """A column; `kind` says how a page shows its values: text, count, ratio (a share, shown
    as a percentage), decimal or month ("2026-03", shown as its name)."""

    key: str
    header: str
    kind: Literal["text", "count", "ratio", "decimal", "month"] = "text"


@dataclass(frozen=True, slots=True)
class Table:
    """Rows of plain values under named columns; `name`, the file's name (no extension).
    `count`: how many rows there are in all, when `rows` holds only the first of them (a
    page's table; its download has them all)."""

    name: str
    columns: Sequence[Column]
    rows: Sequence[Mapping[str, object]]
    count: int | None = None


def csv_text(table: Table, *, separator: Separator = "comma", locale: str = "en") -> str:
    """The table as CSV: a header line, then one line per row; numbers with a decimal comma
    in French, empty cells for missing values."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=SEPARATORS[separator], lineterminator="\r\n")
    writer.writerow([column.header for column in table.columns])
    for row in table.rows:
        writer.writerow([_cell(row.get(column.key), locale) for column in table.columns])
    return out.getvalue()


def _cell(value: object, locale: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return format_decimal(value, "0.######", locale=locale)
    return str(value)


def csv_response(
    table: Table, *, separator: Separator = "comma", locale: str = "en"
) -> web.Response:
    """The CSV as a download, with its byte order mark."""
    body = "\ufeff" + csv_text(table, separator=separator, locale=locale)
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table.name}.csv"'},
    )


def json_response(table: Table, *, download: bool = False) -> web.Response:
    """The rows as `{"rows": [...]}`, each with the table's columns."""
    rows = [{column.key: row.get(column.key) for column in table.columns} for row in table.rows]
    headers = (
        {"Content-Disposition": f'attachment; filename="{table.name}.json"'} if download else {}
    )
    return web.Response(
        text=json.dumps({"rows": rows}, ensure_ascii=False, separators=(",", ":"), default=str),
        content_type="application/json",
        headers=headers,
    )
