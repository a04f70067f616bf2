"""What the administrators' set-up pages share: the appointments a change would leave
without agent or station (the form's second step), a week of permanences as a grid, field
errors as a form shows them, and the days of the week in the reader's language.

Templates: `_setup.html` (`confirm_stranded`, `week_grid`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from babel.dates import get_day_names

from visio.domain import RebookReason
from visio.i18n import current_locale, format_datetime
from visio.i18n import lazy_gettext as _l
from visio.services.errors import DomainError
from visio.services.records import AppointmentView

# The zones offered for a house's or an agent's clock: metropolitan France and the overseas
# departments and communities (another IANA zone set through the API stays offered to the
# record that has it).
ZONES = {
    "Europe/Paris": _l("Metropolitan France (Europe/Paris)"),
    "America/Guadeloupe": _l("Guadeloupe (America/Guadeloupe)"),
    "America/Martinique": _l("Martinique (America/Martinique)"),
    "America/Cayenne": _l("French Guiana (America/Cayenne)"),
    "Indian/Reunion": _l("La Réunion (Indian/Reunion)"),
    "Indian/Mayotte": _l("Mayotte (Indian/Mayotte)"),
    "America/Miquelon": _l("Saint Pierre and Miquelon (America/Miquelon)"),
    "Pacific/Noumea": _l("New Caledonia (Pacific/Noumea)"),
    "Pacific/Tahiti": _l("French Polynesia (Pacific/Tahiti)"),
    "Pacific/Wallis": _l("Wallis and Futuna (Pacific/Wallis)"),
}


# Why an appointment waits to be rebooked, as its pages say it.
REBOOK_REASONS = {
    RebookReason.AGENT_ABSENT: _l("the agent is absent"),
    RebookReason.AGENT_LEFT: _l("the agent has left"),
    RebookReason.PERMANENCE_CHANGED: _l("the agent's permanence changed"),
    RebookReason.HOUSE_CLOSED: _l("the house is closed"),
    RebookReason.STATION_CLOSED: _l("the station is closed"),
    RebookReason.STATION_OUT_OF_SERVICE: _l("the station is out of service"),
}


def rebook_reason(view: AppointmentView) -> str:
    """Why the appointment waits to be rebooked ("" when it does not)."""
    return str(REBOOK_REASONS[view.to_rebook_reason]) if view.to_rebook_reason else ""


def zone_choices(current: str = "") -> list[tuple[str, str]]:
    """The zones a form offers, labelled in the reader's language, with `current` (the one
    a record already has) if it is another."""
    offered = [(zone, str(label)) for zone, label in ZONES.items()]
    if current and current not in ZONES:
        offered.append((current, current))
    return offered


def zone_label(zone: str) -> str:
    return str(ZONES.get(zone, zone))


def stranded_rows(stranded: Sequence[AppointmentView]) -> list[tuple[str, AppointmentView]]:
    """Each appointment with its start written in its house's time, for `confirm_stranded`."""
    return [(format_datetime(view.start, view.timezone, style="medium"), view) for view in stranded]


def weekday_names() -> list[str]:
    """Monday to Sunday, in the reader's language, capitalised as a column heading."""
    names = get_day_names("wide", locale=current_locale.get())
    return [names[index].capitalize() for index in range(7)]


@dataclass(frozen=True, slots=True)
class GridEntry:
    """One permanence on one day of the week grid: its hours (HH:MM), what it is (an
    agent's name, or the houses it serves), a note (every other week, from a date…) and a
    link to its page if any."""

    weekday: int  # ISO, 1 = Monday
    start: str
    end: str
    label: str
    note: str = ""
    url: str = ""


def week_days(entries: Iterable[GridEntry]) -> list[tuple[str, list[GridEntry]]]:
    """The seven days, Monday first, each with its entries by start time (`week_grid`)."""
    by_day: dict[int, list[GridEntry]] = {day: [] for day in range(1, 8)}
    for entry in entries:
        by_day[entry.weekday].append(entry)
    names = weekday_names()
    return [
        (names[day - 1], sorted(by_day[day], key=lambda entry: (entry.start, entry.label)))
        for day in range(1, 8)
    ]


def field_errors(refused: DomainError, renamed: Mapping[str, str] | None = None) -> dict[str, str]:
    """A refusal's field messages as a form shows them, translated now; `renamed` maps a
    service's field name to the form's (`site_ids` → `sites`)."""
    renamed = renamed or {}
    return {renamed.get(name, name): str(text) for name, text in refused.fields.items()}
