"""The audit log's page (`/admin/audit`): who changed what, and when, for administrators;
filtered by who, what, which record and which days, every filter in the address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date

from aiohttp import web
from babel.dates import parse_date

from visio.handlers.admin_pages import moment_format, page_link, page_number
from visio.handlers.api import MAX_ID, current_actor
from visio.handlers.render import render
from visio.handlers.validation import EARLIEST, LATEST
from visio.i18n import format_date
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import DB, LOCALE, SETTINGS
from visio.services import audit
from visio.services.errors import NotAllowed
from visio.services.permissions import Action, roles
from visio.services.records import AuditEntryView

PER_PAGE = 50

# The actions visio records, by what they act on; an action not listed here (a new one)
# is shown by its code.
ACTION_GROUPS = {
    "appointment": _l("Appointments"),
    "citizen": _l("Citizens' personal data"),
    "message": _l("Emails"),
    "site": _l("Houses"),
    "station": _l("Stations"),
    "closure": _l("Closures"),
    "partner": _l("Partners"),
    "motive": _l("Motives"),
    "agent": _l("Agents"),
    "rule": _l("Permanences"),
    "absence": _l("Absences"),
    "calendar_feed": _l("Calendar links"),
    "user": _l("Accounts"),
    "token": _l("API tokens"),
    "password_reset": _l("Password resets"),
    "theme": _l("Desk request themes"),
}
ACTION_LABELS = {
    "appointment.book": _l("Appointment booked"),
    "appointment.reschedule": _l("Appointment moved"),
    "appointment.cancelled": _l("Appointment cancelled"),
    "appointment.held": _l("Appointment held"),
    "appointment.no_show": _l("Citizen absent"),
    "appointment.agent_absent": _l("Agent absent"),
    "appointment.arrived": _l("Citizen arrived"),
    "appointment.arrival_undone": _l("Arrival taken back"),
    "appointment.confirmation_sent": _l("Confirmation sent again"),
    "appointment.to_rebook": _l("Appointment to be moved"),
    "citizen.read": _l("Citizen's details seen"),
    "citizen.export": _l("Citizen's data exported"),
    "citizen.erase": _l("Citizen erased on request"),
    "citizen.purge": _l("Retention purge"),
    "message.resend": _l("Email sent again"),
    "site.create": _l("House created"),
    "site.change": _l("House changed"),
    "site.delete": _l("House deleted"),
    "station.create": _l("Station created"),
    "station.change": _l("Station changed"),
    "station.delete": _l("Station deleted"),
    "closure.create": _l("Closure added"),
    "closure.delete": _l("Closure removed"),
    "partner.create": _l("Partner created"),
    "partner.change": _l("Partner changed"),
    "partner.delete": _l("Partner deleted"),
    "motive.create": _l("Motive created"),
    "motive.change": _l("Motive changed"),
    "motive.delete": _l("Motive deleted"),
    "agent.create": _l("Agent created"),
    "agent.change": _l("Agent changed"),
    "agent.delete": _l("Agent deleted"),
    "rule.create": _l("Permanence added"),
    "rule.change": _l("Permanence changed"),
    "rule.delete": _l("Permanence removed"),
    "absence.create": _l("Absence added"),
    "absence.delete": _l("Absence removed"),
    "calendar_feed.create": _l("Calendar link made"),
    "calendar_feed.revoke": _l("Calendar link stopped"),
    "user.create": _l("Account created"),
    "user.change": _l("Account changed"),
    "token.create": _l("API token created"),
    "token.revoke": _l("API token revoked"),
    "password_reset.issue": _l("Password reset link made"),
    "password_reset.use": _l("Password chosen with a reset link"),
    "session.end_all": _l("Sessions closed by an administrator"),
    "login.throttled": _l("Sign-in blocked after failures in a row"),
    "theme.create": _l("Theme created"),
    "theme.update": _l("Theme changed"),
}
ENTITY_LABELS = {
    "appointment": _l("Appointment"),
    "citizen": _l("Citizen"),
    "outbox_message": _l("Outbox message"),
    "site": _l("House"),
    "station": _l("Station"),
    "partner": _l("Partner"),
    "motive": _l("Motive"),
    "agent": _l("Agent"),
    "user": _l("Account"),
    "sign_in": _l("Sign-in from one address"),
    "request_theme": _l("Desk request theme"),
}
# The page of each kind of record, by route name: linked only when the route exists.
ENTITY_PAGES = {
    "appointment": "appointment_page",
    "outbox_message": "admin_outbox_message",
    "site": "admin_site",
    "partner": "admin_partner",
    "motive": "admin_motive",
    "agent": "admin_agent",
    "user": "admin_user",
}
AUTHOR_LABELS = {"command_line": _l("command line"), "system": _l("system")}
# The address says `from` and `to`, as the API does.
QUERY_NAMES = {"start": "from", "end": "to"}
_DIGITS = re.compile(r"\d{1,10}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class AuditForm:
    """The filters as typed, kept as they are to be shown again."""

    who: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str = ""
    start: str = ""
    end: str = ""

    @classmethod
    def of(cls, query: Mapping[str, str]) -> AuditForm:
        typed = {name: query.get(QUERY_NAMES.get(name, name), "") for name in cls.names()}
        return cls(**{name: text.strip()[:120] for name, text in typed.items()})

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in fields(cls)]

    def read(self, locale: str) -> tuple[audit.AuditFilter, dict[str, str]]:
        """The filter these fields ask for, and the fields' errors (none: all is well)."""
        errors: dict[str, str] = {}
        first = _day(self.start, locale, "from", errors)
        last = _day(self.end, locale, "to", errors)
        if first is not None and last is not None and last < first:
            errors["to"] = _("Must not come before the start of the range.")
        entity_id = None
        if self.entity_id:
            if _DIGITS.fullmatch(self.entity_id) and 1 <= int(self.entity_id) <= MAX_ID:
                entity_id = int(self.entity_id)
            else:
                errors["entity_id"] = _("A whole number is expected.")
        wanted = audit.AuditFilter(
            who=self.who, action=self.action, entity=self.entity, entity_id=entity_id,
            first_day=first, last_day=last,
        )  # fmt: skip
        return wanted, errors


def _day(text: str, locale: str, name: str, errors: dict[str, str]) -> date | None:
    """A day as the administrator writes it (07/12/2026 in French, 12/7/26 in English), or
    as YYYY-MM-DD."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if _ISO_DAY.fullmatch(text) else parse_date(text, locale)
    except (ValueError, IndexError):
        # Babel's ParseError is a ValueError; a lone number leaves it an IndexError.
        day = None
    if day is None:
        errors[name] = _("Enter a date such as %(example)s.", example=_example(locale))
        return None
    if not EARLIEST <= day <= LATEST:
        errors[name] = _("This date is out of range.")
        return None
    return day


def _example(locale: str) -> str:
    return format_date(date(2026, 3, 30), locale, "short")


def entity_link(request: web.Request, entity: str, entity_id: int | None) -> str | None:
    """The page of the record an entry is about, when there is one."""
    name = ENTITY_PAGES.get(entity)
    resources = request.app.router.named_resources()
    if entity_id is None or name is None or name not in resources:
        return None
    try:
        return str(resources[name].url_for(id=str(entity_id)))
    except KeyError:  # a page whose address names its record otherwise
        return None


def _shown(request: web.Request, entry: AuditEntryView) -> dict[str, object]:
    """An entry as the page writes it: labels in the reader's language, links."""
    entity = str(ENTITY_LABELS.get(entry.entity, entry.entity))
    return {
        "entry": entry,
        "who": str(AUTHOR_LABELS[entry.by]) if entry.by in AUTHOR_LABELS else entry.user_name,
        "action": str(ACTION_LABELS.get(entry.action, entry.action)),
        "labelled": entry.action in ACTION_LABELS,
        "record": (
            _("%(entity)s no. %(id)s", entity=entity, id=entry.entity_id)
            if entry.entity_id is not None
            else entity
        ),
        "link": entity_link(request, entry.entity, entry.entity_id),
        "details": [(key, _detail(value)) for key, value in entry.details.items()],
    }


def _detail(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    return str(value)


def _action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's options: each group, all of it first, then its actions."""
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for prefix, group in ACTION_GROUPS.items():
        options = [(prefix, _("%(group)s, every action", group=group))]
        options += [
            (code, str(label))
            for code, label in ACTION_LABELS.items()
            if code.startswith(f"{prefix}.")
        ]
        groups.append((str(group), options))
    return groups


async def audit_log(request: web.Request) -> web.Response:
    actor = current_actor(request)
    if actor.role not in roles(Action.READ_AUDIT):
        raise NotAllowed()
    locale, timezone = request[LOCALE], request.app[SETTINGS].default_timezone
    typed = AuditForm.of(request.query)
    wanted, errors = typed.read(locale)
    context: dict[str, object] = {
        "typed": typed,
        "errors": errors,
        "found": None,
        "entries": [],
        "actions": _action_choices(),
        "entities": [(code, str(label)) for code, label in ENTITY_LABELS.items()],
        "known_action": typed.action in ACTION_LABELS or typed.action in ACTION_GROUPS,
        "example": _example(locale),
        "timezone": timezone,
        "when": moment_format(request),
        "page_url": page_link(request),
    }
    if errors:
        return render("audit.html", request, context, status=422)
    found = await audit.find_entries(
        request[DB], actor, wanted, timezone=timezone, page=page_number(request.query),
        per_page=PER_PAGE,
    )  # fmt: skip
    context.update(found=found, entries=[_shown(request, entry) for entry in found.items])
    return render("audit.html", request, context)
