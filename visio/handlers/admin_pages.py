"""Administrators' pages: the outbox, as it is or would be sent, and a refused message sent
again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from aiohttp import web

from visio.domain import OutboxStatus
from visio.handlers.api import MAX_ID, current_actor, match_int, now
from visio.handlers.reads import record_read_of_appointments
from visio.handlers.render import posted_form, render
from visio.i18n import format_datetime
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LOCALE, SETTINGS
from visio.services import notifications
from visio.services.errors import Conflict
from visio.services.notifications import RESENDABLE

# The outbox's pages hold this many messages.
PER_PAGE = 50

STATUS_LABELS = {
    OutboxStatus.PENDING: _l("to send"),
    OutboxStatus.SENT: _l("sent"),
    OutboxStatus.FAILED: _l("refused by the server"),
    OutboxStatus.DEAD: _l("given up"),
    OutboxStatus.CANCELLED: _l("withdrawn"),
}
# What a message reports (the first part of its kind) and to whom (the second); a kind not
# listed here is shown as it is written, and is not offered by the filter.
TEMPLATE_LABELS = {
    "booked": _l("Booking confirmation"),
    "cancelled": _l("Cancellation"),
    "rescheduled": _l("Change of time"),
    "reminder": _l("Reminder"),
    "to_rebook": _l("Appointment to be moved"),
    "password_reset": _l("Password reset link"),
}
RECIPIENT_LABELS = {"agent": _l("to the partner agent"), "citizen": _l("to the citizen")}
DONE = {"resent": _l("The message is back in the queue: it goes out on the next sending.")}


def status_label(status: OutboxStatus) -> str:
    return str(STATUS_LABELS[status])


def kind_label(kind: str) -> str:
    """`booked.agent` → "Booking confirmation, to the partner agent"; a kind not known
    here as it is written."""
    template, _dot, recipient = kind.partition(".")
    if template not in TEMPLATE_LABELS:
        return kind
    if recipient not in RECIPIENT_LABELS:
        return str(TEMPLATE_LABELS[template])
    return _("%(what)s, %(to)s", what=TEMPLATE_LABELS[template], to=RECIPIENT_LABELS[recipient])


def page_number(query: Mapping[str, str]) -> int:
    """The page asked for (`?page=`); anything but a page number is the first."""
    text = query.get("page", "")
    return int(text) if text.isdigit() and 1 <= int(text) <= MAX_ID else 1


def page_link(request: web.Request) -> Callable[[int], str]:
    """The address of another page of the same list (same filters)."""
    return lambda number: str(request.rel_url.update_query(page=str(number)))


def moment_format(request: web.Request) -> Callable[[datetime], str]:
    """Instants as the administrator reads them: in visio's zone, in their language."""
    zone, locale = request.app[SETTINGS].default_timezone, request[LOCALE]
    return lambda moment: format_datetime(moment, zone, locale, "medium")


async def outbox(request: web.Request) -> web.Response:
    """The messages, newest first, a page at a time: of a status (`?status=pending`), of a
    kind (`?kind=booked`), about an appointment or to a recipient (`?q=`)."""
    query = request.query
    chosen = query.get("status", "")
    status = OutboxStatus(chosen) if chosen in {s.value for s in OutboxStatus} else None
    kind = query.get("kind", "") if query.get("kind", "") in TEMPLATE_LABELS else ""
    search = query.get("q", "").strip()[:120]
    found = await notifications.find_messages(
        request[DB], current_actor(request), status=status, kind=kind, search=search,
        page=page_number(query), per_page=PER_PAGE,
    )  # fmt: skip
    # The list shows the address of each message to a citizen.
    await record_read_of_appointments(
        request,
        (m.appointment_id for m in found.items if m.appointment_id and m.kind.endswith(".citizen")),
    )
    context = {
        "found": found,
        "status": status.value if status else "",
        "kind": kind,
        "q": search,
        "statuses": [(s.value, status_label(s)) for s in OutboxStatus],
        "kinds": [(name, str(label)) for name, label in TEMPLATE_LABELS.items()],
        "status_label": status_label,
        "kind_label": kind_label,
        "when": moment_format(request),
        "page_url": page_link(request),
        "timezone": request.app[SETTINGS].default_timezone,
        "smtp_configured": request.app[SETTINGS].smtp_host is not None,
    }
    return render("outbox.html", request, context)


async def outbox_message(request: web.Request) -> web.Response:
    return await _message_page(request, match_int(request, "id"))


async def _message_page(
    request: web.Request, message_id: int, *, problem: str | None = None, status: int = 200
) -> web.Response:
    message, words = await notifications.outbox_message(
        request[DB], current_actor(request), message_id
    )
    # A message about an appointment names its citizen (to them, or to the agent).
    if message.appointment_id is not None:
        await record_read_of_appointments(request, [message.appointment_id])
    done = request.query.get("done", "")
    context = {
        "m": message,
        "words": words,
        "status_label": status_label(message.status),
        "kind_label": kind_label(message.kind),
        "when": moment_format(request),
        "timezone": request.app[SETTINGS].default_timezone,
        "resendable": message.status in RESENDABLE,
        "problem": problem,
        "done": str(DONE[done]) if done in DONE and problem is None else None,
    }
    return render("outbox_message.html", request, context, status=status)


async def resend_message(request: web.Request) -> web.StreamResponse:
    """Put a refused or given-up message back in the queue; the page says so, or why not."""
    actor = current_actor(request)
    await posted_form(request)
    message_id = match_int(request, "id")
    try:
        await notifications.resend_message(request[DB], actor, message_id, now=now(request))
    except Conflict as refused:
        return await _message_page(request, message_id, problem=str(refused.message), status=409)
    router = request.app.router
    location = router["admin_outbox_message"].url_for(id=str(message_id))
    raise web.HTTPSeeOther(location=location.with_query(done="resent"))
