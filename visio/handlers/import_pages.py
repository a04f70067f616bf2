"""The administrators' import page: agents and their permanences from a CSV file, checked
whole and imported whole or not at all, with its report row by row
(`visio.services.setup.importing`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader, web
from babel.numbers import format_decimal

from visio import web_session
from visio.handlers.api import current_actor, now
from visio.handlers.render import render
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LINKS, LOCALE, SETTINGS
from visio.services.errors import InvalidInput, Malformed, Message
from visio.services.setup import require_admin
from visio.services.setup.importing import (
    COLUMNS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    ImportReport,
    import_agents,
)

FILE_FIELD = "file"
# The example offered for download (UTF-8 with a byte order mark, as spreadsheets like it),
# also shown on the page.
EXAMPLE_FILE = "agents-example.csv"
EXAMPLE = (Path(__file__).parent.parent / "static" / EXAMPLE_FILE).read_text(encoding="utf-8-sig")
# The refused rows the summary at the top links to; the table shows them all.
SUMMARY_ROWS = 20


@dataclass(frozen=True, slots=True)
class Upload:
    """The file as posted: its name, and its bytes (None: larger than a file may be)."""

    filename: str
    content: bytes | None


async def import_page(request: web.Request) -> web.Response:
    """The form: a file to choose, what its columns hold, an example."""
    require_admin(current_actor(request))
    return render("admin_import.html", request, _context(request))


async def import_submit(request: web.Request) -> web.Response:
    """Check the file and import it whole, or refuse it whole: the report either way (422
    when something is refused: nothing was written)."""
    actor = current_actor(request)
    require_admin(actor)
    upload = await _read_upload(request)
    if upload.content is None:
        problem: Message = _l("The file is larger than 1 MB.")
        return _refused(request, upload, problem, status=413)
    if not upload.filename and not upload.content:
        return _refused(request, upload, _l("Choose a CSV file."), status=422)
    settings = request.app[SETTINGS]
    try:
        report = await import_agents(
            request[DB], actor, upload.content, links=request.app[LINKS], now=now(request),
            default_timezone=settings.default_timezone, default_locale=settings.default_locale,
        )  # fmt: skip
    except InvalidInput as error:
        return _refused(request, upload, error.fields.get(FILE_FIELD, error.message), status=422)
    context = _context(request, report=report, filename=upload.filename)
    return render("admin_import.html", request, context, status=200 if report.written else 422)


def _context(
    request: web.Request, *, report: ImportReport | None = None, filename: str = "",
    problem: Message | None = None,
) -> dict[str, object]:  # fmt: skip
    settings = request.app[SETTINGS]
    return {
        "report": report,
        "filename": filename,
        "problem": problem,
        "aliases": {name: aliases[0] for name, aliases in COLUMNS.items()},
        "default_timezone": settings.default_timezone,
        "default_locale": settings.default_locale,
        "example": EXAMPLE,
        "example_file": EXAMPLE_FILE,
        "max_rows": format_decimal(MAX_ROWS, locale=request[LOCALE]),
        "summary_rows": SUMMARY_ROWS,
    }


def _refused(
    request: web.Request, upload: Upload, problem: Message, *, status: int
) -> web.Response:
    context = _context(request, filename=upload.filename, problem=problem)
    return render("admin_import.html", request, context, status=status)


async def _read_upload(request: web.Request) -> Upload:
    """The posted file, read as it comes and no further than a file may go; the form's
    token checked first (a clear 400 otherwise, as every form's)."""
    if request.content_type != "multipart/form-data":
        raise Malformed(_l("The file must be sent by the page's form (multipart/form-data)."))
    token = ""
    filename = ""
    content: bytes | None = b""
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == web_session.CSRF_FIELD:
                token = (await _read_part(part, 200) or b"").decode("utf-8", "replace")
            elif part.name == FILE_FIELD:
                if not web_session.csrf_valid(request, token):
                    break  # the page's form sends its token first
                filename = part.filename or ""
                content = await _read_part(part, MAX_FILE_BYTES)
                if content is None:
                    break  # the rest is not read: the answer says the file is too large
            else:
                await part.release()
    except ValueError:  # a body that is not multipart as it says
        raise Malformed() from None
    if not web_session.csrf_valid(request, token):
        raise Malformed(_l("Your form expired; reload the page and try again."))
    return Upload(filename, content)


async def _read_part(part: BodyPartReader, limit: int) -> bytes | None:
    """A part's bytes, or None once they pass `limit`."""
    content = bytearray()
    while chunk := await part.read_chunk():
        content += chunk
        if len(content) > limit:
            return None
    return bytes(content)
