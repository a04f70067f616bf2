"""Logging: one line per event, as text or as JSON (`VISIO_LOG_FORMAT`), each carrying the
id of the request it belongs to.

The request id comes from the request's `X-Request-Id` (nginx sends its `$request_id`) when
it is a plain token, otherwise it is drawn here; it is answered in `X-Request-Id`, shown on
error pages, and written with every log line and audit entry of the request, so a person
quoting it on the phone leads to everything the request did.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final, Literal

from aiohttp import web

LogFormat = Literal["text", "json"]
LOG_FORMATS: Final = ("text", "json")
REQUEST_ID_HEADER: Final = "X-Request-Id"
# What we take from a client or a proxy: a short token, nothing that could forge a log line.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

# The request being served in this task (None outside a request: the sender, the commands).
current_request_id: ContextVar[str | None] = ContextVar("visio_request_id", default=None)


def request_id_from(header: str | None) -> str:
    """The request's id: the one it came with if acceptable, else a new one."""
    if header is not None and _ACCEPTED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class _RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get() or "-"
        return True


# Attributes every LogRecord has; anything else a caller passed with `extra=` is a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id", "taskName",
}  # fmt: skip


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request id,
    the fields given with `extra=`, and the traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def loggable_path(request: web.BaseRequest) -> str:
    """The request's path as logs may show it: its route's pattern when the path carries a
    secret (a calendar feed's or a password link's token), so no log line hands it over;
    never a query string (a search may hold a citizen's name)."""
    match_info = getattr(request, "match_info", None)
    if match_info is not None and "token" in match_info:
        resource = match_info.route.resource
        if resource is not None:
            return str(resource.canonical)
    return request.path


TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(log_format: LogFormat = "text") -> None:
    """Our own lines at INFO, libraries' only when they warn; on stderr, in `log_format`."""
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("visio").setLevel(logging.INFO)
