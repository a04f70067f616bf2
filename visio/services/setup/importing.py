"""Partner agents and their permanences in bulk, from a CSV file a partner's IT exports.

The file is UTF-8 text (with or without a byte order mark), its fields separated by `;` or
`,` (whichever its header line uses), and begins with a header line naming its columns in
any order, in English or in French (`partenaire`, `début`…: letters' case, accents, spaces
and hyphens aside). Each following row is one permanence of one agent; the rows of the same
email (letters' case aside) make one agent:

| column | alias | what it holds | when empty |
|---|---|---|---|
| `partner` | `partenaire` | the partner's code (`CAF`) | required |
| `name` | `nom` | the agent's name | required |
| `email` | `courriel` | the agent's email: who the agent is | required |
| `timezone` | `fuseau_horaire` | an IANA zone (`Europe/Paris`) | the default zone |
| `locale` | `langue` | `fr` or `en` | the default language |
| `weekdays` | `jours` | ISO days 1-7 or names (`mon`, `lun`…), by spaces or `+`; `1-5` | required |
| `start`, `end` | `debut`, `fin` | wall-clock times in the agent's zone, `HH:MM` | required |
| `every_weeks` | `semaines` | 1 to 8 (weeks counted from `valid_from`) | 1 |
| `valid_from`, `valid_until` | `du`, `au` | `YYYY-MM-DD` (or `DD/MM/YYYY`) | unbounded |
| `sites` | `maisons` | house names apart by `|` | every house |
| `motives` | `motifs` | the partner's motive names (or ids) apart by `|` | every one |

An agent already there (same email) is corrected (name, time zone, language) and gets the
permanences of the file they do not already have, identically; another is created. The
set-up services write each agent and permanence with their own checks and audit
(`visio.services.setup.agents`); the whole file runs inside one savepoint, rolled back when
any row is refused, so a file is imported whole or not at all. The report says, row by row
(numbered as in the file, the header being line 1), what was done or why the row was
refused, field by field.
"""

from __future__ import annotations

import csv
import enum
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.models import Agent, AvailabilityRule, Motive, Partner, Site
from visio.i18n import SUPPORTED_LOCALES
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.accounts import normalise_email
from visio.services.errors import Conflict, DomainError, InvalidInput, Message
from visio.services.notifications import Links
from visio.services.permissions import Actor
from visio.services.setup.agents import RuleSettings, change_agent, create_agent, create_rule
from visio.services.setup.common import require_admin

# A file is what one request body carries (`visio.app.MAX_BODY_BYTES`, nginx's 1m), less
# the form around it; a partner's whole network of agents fits many times over.
MAX_FILE_BYTES = 1_000_000
MAX_ROWS = 5_000

# Dates out of this range are typing slips, and would overflow the calendar arithmetic
# around them (as the API's own bounds).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)

# The columns in their English names, each with the French names also understood.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "partner": ("partenaire", "code_partenaire"),
    "name": ("nom",),
    "email": ("courriel", "e_mail", "mail"),
    "timezone": ("fuseau_horaire", "fuseau"),
    "locale": ("langue", "language"),
    "weekdays": ("jours", "days"),
    "start": ("debut", "heure_de_debut"),
    "end": ("fin", "heure_de_fin"),
    "every_weeks": ("semaines", "toutes_les_semaines"),
    "valid_from": ("du", "valable_du"),
    "valid_until": ("au", "valable_jusqu_au"),
    "sites": ("maisons", "houses"),
    "motives": ("motifs",),
}
REQUIRED = ("partner", "name", "email", "weekdays", "start", "end")
_BY_ALIAS = {alias: name for name, aliases in COLUMNS.items() for alias in (name, *aliases)}

# What the set-up services call a field, and the file's column for it.
_SERVICE_FIELDS = {"partner_id": "partner", "site_ids": "sites", "motive_ids": "motives"}

# Days by their English and French names, whole or shortened (accents and case aside).
_DAY_NAMES: Mapping[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("mon", "monday", "lun", "lundi"),
            ("tue", "tues", "tuesday", "mar", "mardi"),
            ("wed", "wednesday", "mer", "mercredi"),
            ("thu", "thur", "thurs", "thursday", "jeu", "jeudi"),
            ("fri", "friday", "ven", "vendredi"),
            ("sat", "saturday", "sam", "samedi"),
            ("sun", "sunday", "dim", "dimanche"),
        ),
        start=1,
    )
    for name in names
}
# Deliberately plain, as the API's: one @, no spaces, a dot in the domain.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2})(?::00)?|[hH](\d{2})?)")
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


class Outcome(enum.StrEnum):
    """What a row of the file did (or would do, when another row is refused)."""

    CREATED = "created"  # a permanence of an agent the file brings
    UPDATED = "updated"  # an agent already there: this row adds their permanence or corrects them
    UNCHANGED = "unchanged"  # already there, identically
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a row is refused: a field (the column as the file's header names it; None for
    the row as a whole) and a message, translated when shown."""

    field: str | None
    message: Message


@dataclass(frozen=True, slots=True)
class RowReport:
    """One row of the file: its line (the header is line 1), the agent's email as found,
    what it did, and, when refused, why."""

    line: int
    email: str
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The file, row by row; `written`: every row passed and what they bring is written
    (else nothing is). The counts are of what was (or would be) done."""

    rows: tuple[RowReport, ...]
    written: bool
    agents_created: int
    agents_updated: int
    permanences_added: int

    def count(self, outcome: Outcome | str) -> int:
        """How many rows had this outcome."""
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def refused(self) -> tuple[RowReport, ...]:
        return tuple(row for row in self.rows if row.outcome is Outcome.REFUSED)


# ---------------------------------------------------------------- reading the file


@dataclass(frozen=True, slots=True)
class RawRow:
    """A row as the file has it: where it begins (the header is line 1), its cells by
    column, and how many values it has outside the header's columns (beyond its last, or
    under a column without a title)."""

    line: int
    cells: Mapping[str, str]
    stray: int = 0


@dataclass(frozen=True, slots=True)
class Table:
    """The file read: its columns (ours → as its header writes them) and its rows."""

    columns: Mapping[str, str]
    rows: tuple[RawRow, ...]


def plain(text: str) -> str:
    """`text` as compared: trimmed, letters' case and accents aside."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def column_key(header: str) -> str:
    """A column's title as compared: letters' case, accents, spaces and punctuation aside
    (`Début` → `debut`, `Fuseau horaire` → `fuseau_horaire`)."""
    return re.sub(r"[^a-z0-9]+", "_", plain(header)).strip("_")


def read_table(content: bytes) -> Table:
    """The file's header and rows, or `InvalidInput` on `file` saying what stops reading it:
    too large, not UTF-8, no header, columns missing, unknown or twice, too many rows.
    Blank rows are left out; a row's line is where it begins in the file."""
    if len(content) > MAX_FILE_BYTES:
        raise _file_error(_l("The file is larger than 1 MB."))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise _file_error(
            _l('The file is not UTF-8 text (line %(line)s): save it as "CSV UTF-8" and try '
               "again.", line=line)
        ) from None  # fmt: skip
    header_line = text.split("\n", 1)[0]
    separator = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows: list[RawRow] = []
    try:
        header = next(reader, None)
        if header is None or not any(title.strip() for title in header):
            raise _file_error(_l("The file is empty: its first line names the columns."))
        positions = _columns(header)
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(rows) == MAX_ROWS:
                    raise _file_error(
                        _l("At most %(count)s rows in one file: split it.", count=MAX_ROWS)
                    )
                named = {positions[index]: cell.strip() for index, cell in enumerate(cells)
                         if index in positions}  # fmt: skip
                stray = sum(1 for index, cell in enumerate(cells)
                            if index not in positions and cell.strip())  # fmt: skip
                rows.append(RawRow(line, named, stray))
            line = reader.line_num + 1
    except csv.Error:
        raise _file_error(
            _l("The file cannot be read as CSV near line %(line)s.", line=reader.line_num)
        ) from None
    if not rows:
        raise _file_error(_l("The file has no row below its header."))
    columns = {name: header[index].strip() for index, name in positions.items()}
    return Table(columns=columns, rows=tuple(rows))


def _columns(header: Sequence[str]) -> dict[int, str]:
    """Our column's name at each titled position of the header (every title known, none
    twice, the required ones there)."""
    found: dict[int, str] = {}
    unknown: list[str] = []
    twice: list[str] = []
    for index, title in enumerate(header):
        if not title.strip():
            continue  # a spreadsheet's empty trailing columns: their cells must stay empty
        name = _BY_ALIAS.get(column_key(title))
        if name is None:
            unknown.append(title.strip())
        elif name in found.values():
            twice.append(title.strip())
        else:
            found[index] = name
    if unknown:
        raise _file_error(
            _l("Unknown columns: %(columns)s. The columns are: %(known)s.",
               columns=", ".join(unknown), known=", ".join(COLUMNS))
        )  # fmt: skip
    if twice:
        raise _file_error(_l("Columns named twice: %(columns)s.", columns=", ".join(twice)))
    missing = [name for name in REQUIRED if name not in found.values()]
    if missing:
        raise _file_error(_l("Columns missing: %(columns)s.", columns=", ".join(missing)))
    return found


def _file_error(message: Message) -> InvalidInput:
    return InvalidInput(message, fields={"file": message})


# ---------------------------------------------------------------- one row


@dataclass(frozen=True, slots=True)
class AgentFields:
    """Who a row's agent is, as the file says."""

    partner_id: int
    name: str
    email: str
    timezone: str
    locale: str


@dataclass(frozen=True, slots=True)
class Permanence:
    """A row's permanence, references resolved: two equal ones are the same permanence."""

    weekdays: tuple[int, ...]
    start: time
    end: time
    every_weeks: int
    valid_from: date | None
    valid_until: date | None
    site_ids: frozenset[int]
    motive_ids: frozenset[int]

    def settings(self) -> RuleSettings:
        return RuleSettings(
            weekdays=list(self.weekdays), start=self.start, end=self.end,
            every_weeks=self.every_weeks, anchor_date=None, valid_from=self.valid_from,
            valid_until=self.valid_until, site_ids=sorted(self.site_ids) or None,
            motive_ids=sorted(self.motive_ids) or None,
        )  # fmt: skip


def permanence_of(rule: AvailabilityRule) -> Permanence | None:
    """A stored permanence as a file row would say it (None: anchored on a date of its
    own, which no row says)."""
    if rule.anchor_date is not None:
        return None
    return Permanence(
        weekdays=tuple(sorted(rule.weekdays)), start=rule.start, end=rule.end,
        every_weeks=rule.every_weeks, valid_from=rule.valid_from, valid_until=rule.valid_until,
        site_ids=frozenset(site.id for site in rule.sites),
        motive_ids=frozenset(motive.id for motive in rule.motives),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class References:
    """What rows name, by their names as compared (letters' case aside)."""

    partners: Mapping[str, tuple[int, bool]]  # code → (id, active)
    sites: Mapping[str, tuple[int, bool]]  # name → (id, active)
    motives: Mapping[int, Mapping[str, int]]  # partner id → name or id → motive id


async def load_references(session: AsyncSession) -> References:
    """Every partner and house by name, and every motive by partner, in three statements
    (a few thousand short rows at most)."""
    partners = {
        code.casefold(): (id_, active)
        for id_, code, active in await session.execute(
            select(Partner.id, Partner.code, Partner.active)
        )
    }
    sites = {
        name.casefold(): (id_, active)
        for id_, name, active in await session.execute(select(Site.id, Site.name, Site.active))
    }
    motives: dict[int, dict[str, int]] = {}
    for id_, partner_id, name in await session.execute(
        select(Motive.id, Motive.partner_id, Motive.name)
    ):
        by_partner = motives.setdefault(partner_id, {})
        by_partner[name.strip().casefold()] = id_
        by_partner[str(id_)] = id_
    return References(partners, sites, motives)


@dataclass(slots=True)
class Row:
    """A row as understood: its agent and permanence when their fields are right, and the
    reasons, by column, when something is not."""

    line: int
    email: str
    agent: AgentFields | None = None
    permanence: Permanence | None = None
    reasons: dict[str | None, Message] = field(default_factory=dict)

    def refuse(self, column: str | None, message: Message) -> None:
        self.reasons.setdefault(column, message)


def parse_row(
    raw: RawRow, references: References, *, default_timezone: str, default_locale: str
) -> Row:
    """Read one row's fields: each checked on its own, the first problem of each kept; the
    agent when their fields are right, the permanence when its fields are."""
    cells = raw.cells
    email = normalise_email(cells.get("email", ""))
    row = Row(line=raw.line, email=email)
    if raw.stray:
        row.refuse(None, _l("This row has %(count)s values outside the header's columns.",
                            count=raw.stray))  # fmt: skip
    if not email:
        row.refuse("email", _l("This field is required."))
    elif len(email) > 254 or not _EMAIL.fullmatch(email):
        row.refuse("email", _l("Not a valid email address."))
    partner_id = _partner(row, cells.get("partner", ""), references)
    name = cells.get("name", "")
    if not name:
        row.refuse("name", _l("This field is required."))
    elif len(name) > 160:
        row.refuse("name", _l("At most %(max_length)s characters.", max_length=160))
    timezone = cells.get("timezone") or default_timezone
    if not _is_time_zone(timezone):
        row.refuse("timezone", _l("Unknown time zone; use an IANA name such as Europe/Paris."))
    locale = (cells.get("locale") or default_locale).lower()
    if locale not in SUPPORTED_LOCALES:
        row.refuse("locale", _l("One of: %(expected)s.", expected=", ".join(SUPPORTED_LOCALES)))
    if not row.reasons and partner_id is not None:
        row.agent = AgentFields(partner_id, name, email, timezone, locale)

    weekdays = _weekdays(row, cells.get("weekdays", ""))
    start = _time(row, "start", cells.get("start", ""))
    end = _time(row, "end", cells.get("end", ""))
    if start is not None and end is not None and end <= start:
        row.refuse("end", _l("The end must come after the start."))
    every_weeks = _every_weeks(row, cells.get("every_weeks", ""))
    valid_from = _date(row, "valid_from", cells.get("valid_from", ""))
    valid_until = _date(row, "valid_until", cells.get("valid_until", ""))
    if valid_from and valid_until and valid_until < valid_from:
        row.refuse("valid_until", _l("The last day must not come before the first."))
    site_ids = _sites(row, cells.get("sites", ""), references)
    motive_ids = (
        _motives(row, cells.get("motives", ""), references.motives.get(partner_id, {}))
        if partner_id is not None
        else None
    )
    if (
        weekdays is not None and start is not None and end is not None
        and every_weeks is not None and site_ids is not None and motive_ids is not None
        and not set(row.reasons) - {"email", "name", "timezone", "locale"}
    ):  # fmt: skip
        row.permanence = Permanence(
            weekdays, start, end, every_weeks, valid_from, valid_until, site_ids, motive_ids
        )
    return row


def _partner(row: Row, code: str, references: References) -> int | None:
    if not code:
        row.refuse("partner", _l("This field is required."))
        return None
    found = references.partners.get(code.casefold())
    if found is None:
        row.refuse("partner", _l("Unknown partner code: %(code)s.", code=code))
        return None
    partner_id, active = found
    if not active:
        row.refuse("partner", _l("This partner has left the network: %(code)s.", code=code))
        return None
    return partner_id


def _is_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    # "CET", "EST"…: ambiguous abbreviations, not places (as the API says).
    return "/" in name or name == "UTC"


def _weekdays(row: Row, text: str) -> tuple[int, ...] | None:
    if not text:
        row.refuse("weekdays", _l("This field is required."))
        return None
    days: list[int] = []
    for token in re.split(r"[\s+,;/]+", re.sub(r"\s*-\s*", "-", plain(text))):
        if "-" in token:
            first, _sep, last = token.partition("-")
            bounds = _day(first), _day(last)
        else:
            bounds = _day(token), _day(token)
        if bounds[0] is None or bounds[1] is None or bounds[0] > bounds[1]:
            row.refuse("weekdays", _l(
                "Unknown day: %(day)s. Days are 1 (Monday) to 7 (Sunday), or their names "
                "(mon, lun…), apart by spaces or +; 1-5 for Monday to Friday.", day=token,
            ))  # fmt: skip
            return None
        days += range(bounds[0], bounds[1] + 1)
    if len(set(days)) != len(days):
        row.refuse("weekdays", _l("Each value may appear only once."))
        return None
    return tuple(sorted(days))


def _day(token: str) -> int | None:
    token = token.strip(".")
    if token.isdigit():
        return int(token) if 1 <= int(token) <= 7 else None
    return _DAY_NAMES.get(token)


def _time(row: Row, column: str, text: str) -> time | None:
    if not text:
        row.refuse(column, _l("This field is required."))
        return None
    found = _TIME.fullmatch(text)
    if found is not None:
        hour, minute = int(found[1]), int(found[2] or found[3] or 0)
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    row.refuse(column, _l("A time HH:MM is expected."))
    return None


def _every_weeks(row: Row, text: str) -> int | None:
    if not text:
        return 1
    if text.isdigit() and 1 <= int(text) <= 8:
        return int(text)
    row.refuse("every_weeks", _l("A whole number from 1 to 8 is expected."))
    return None


def _date(row: Row, column: str, text: str) -> date | None:
    if not text:
        return None
    french = _FRENCH_DATE.fullmatch(text)
    try:
        day = (
            date(int(french[3]), int(french[2]), int(french[1]))
            if french
            else date.fromisoformat(text)
        )
    except ValueError:
        row.refuse(column, _l("A date YYYY-MM-DD is expected."))
        return None
    if not EARLIEST <= day <= LATEST:
        row.refuse(column, _l("This date is out of range."))
        return None
    return day


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split("|") if name.strip()]


def _sites(row: Row, text: str, references: References) -> frozenset[int] | None:
    ids: set[int] = set()
    unknown, closed = [], []
    for name in _names(text):
        found = references.sites.get(name.casefold())
        if found is None:
            unknown.append(name)
        elif not found[1]:
            closed.append(name)
        else:
            ids.add(found[0])
    if unknown:
        row.refuse("sites", _l("Unknown house: %(names)s.", names=", ".join(unknown)))
    elif closed:
        row.refuse("sites", _l("This house is closed: %(names)s.", names=", ".join(closed)))
    return frozenset(ids) if not unknown and not closed else None


def _motives(row: Row, text: str, of_partner: Mapping[str, int]) -> frozenset[int] | None:
    ids: set[int] = set()
    unknown = []
    for name in _names(text):
        found = of_partner.get(name.casefold())
        if found is None:
            unknown.append(name)
        else:
            ids.add(found)
    if unknown:
        row.refuse(
            "motives", _l("Not a motive of this partner: %(names)s.", names=", ".join(unknown))
        )
        return None
    return frozenset(ids)


def check_agents(rows: Iterable[Row]) -> dict[str, list[Row]]:
    """The rows by agent (email), in the file's order; within an agent, a row that names
    them otherwise than the first (partner, name, zone, language) or repeats a permanence
    is refused."""
    agents: dict[str, list[Row]] = {}
    for row in rows:
        if row.email and "email" not in row.reasons:
            agents.setdefault(row.email, []).append(row)
    for same in agents.values():
        first = next((row for row in same if row.agent is not None), None)
        seen: dict[Permanence, int] = {}
        for row in same:
            if first is not None and row.agent is not None and row is not first:
                for name, column in (("partner_id", "partner"), ("name", "name"),
                                     ("timezone", "timezone"), ("locale", "locale")):  # fmt: skip
                    if getattr(row.agent, name) != getattr(first.agent, name):
                        row.refuse(column, _l("Differs from line %(line)s for the same email.",
                                              line=first.line))  # fmt: skip
            if row.permanence is not None:
                if row.permanence in seen:
                    row.refuse(None, _l("The same permanence as line %(line)s.",
                                        line=seen[row.permanence]))  # fmt: skip
                else:
                    seen[row.permanence] = row.line
    return agents


# ---------------------------------------------------------------- the import


async def import_agents(
    session: AsyncSession, actor: Actor, content: bytes, *, links: Links, now: datetime,
    default_timezone: str = "Europe/Paris", default_locale: str = "fr",
) -> ImportReport:  # fmt: skip
    """Import a CSV file of agents and their permanences (see the module), whole or not at
    all: every row is checked, its fields here, then by the set-up services as they write
    it inside one savepoint; when any row is refused the savepoint is rolled back and
    nothing is written. Administrators only. A file that cannot be read at all (not UTF-8,
    columns missing or unknown, too large) is `InvalidInput` on `file`.

    An import that changed something is audited once (who, how many agents created and
    updated, permanences added), besides each agent's and permanence's own entries."""
    require_admin(actor)
    table = read_table(content)
    references = await load_references(session)
    rows = [
        parse_row(raw, references, default_timezone=default_timezone,
                  default_locale=default_locale)
        for raw in table.rows
    ]  # fmt: skip
    agents = check_agents(rows)
    existing = await _existing_agents(session, list(agents))
    done: list[AgentDone] = []
    async with session.begin_nested() as whole:
        for email, same in agents.items():
            result = await _import_agent(
                session, actor, same, existing.get(email), links=links, now=now
            )
            if result is not None:
                done.append(result)
        written = not any(row.reasons for row in rows)
        if not written:
            await whole.rollback()
    outcomes = {line: outcome for result in done for line, outcome in result.rows.items()}
    report = ImportReport(
        rows=tuple(_row_report(row, outcomes, table.columns) for row in rows),
        written=written,
        agents_created=sum(1 for result in done if result.outcome is Outcome.CREATED),
        agents_updated=sum(1 for result in done if result.outcome is Outcome.UPDATED),
        permanences_added=sum(result.permanences_added for result in done),
    )
    if written and (report.agents_created or report.agents_updated):
        audit.record(
            session, actor_id=actor.user_id, action="agents.import", entity="agent",
            entity_id=None, now=now,
            details={"rows": len(rows), "agents_created": report.agents_created,
                     "agents_updated": report.agents_updated,
                     "permanences_added": report.permanences_added},
        )  # fmt: skip
    return report


@dataclass(frozen=True, slots=True)
class AgentDone:
    """What importing one agent did: to them (created, updated, unchanged), to each of
    their rows (by line), and how many permanences they gained."""

    outcome: Outcome
    rows: Mapping[int, Outcome]
    permanences_added: int


async def _existing_agents(
    session: AsyncSession, emails: list[str]
) -> dict[str, tuple[Agent, list[Permanence | None]]]:
    """The agents of these emails already there (letters' case aside, should one have been
    stored otherwise), with their permanences as rows say them."""
    if not emails:
        return {}
    found = list(await session.scalars(select(Agent).where(func.lower(Agent.email).in_(emails))))
    permanences: dict[int, list[Permanence | None]] = {agent.id: [] for agent in found}
    rules = await session.scalars(
        select(AvailabilityRule)
        .where(AvailabilityRule.agent_id.in_(list(permanences)))
        .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
    )
    for rule in rules:
        permanences[rule.agent_id].append(permanence_of(rule))
    return {agent.email.lower(): (agent, permanences[agent.id]) for agent in found}


async def _import_agent(
    session: AsyncSession, actor: Actor, rows: list[Row],
    found: tuple[Agent, list[Permanence | None]] | None, *, links: Links, now: datetime,
) -> AgentDone | None:  # fmt: skip
    """Write one agent, then their rows' permanences, each in a savepoint of its own (one
    refused leaves the rest as it was, to be checked in turn). None when no row names the
    agent rightly, or the agent is refused (their rows then say why)."""
    first = next((row for row in rows if row.agent is not None), None)
    if first is None or first.agent is None:
        return None
    try:
        async with session.begin_nested():
            agent_id, outcome, had = await _write_agent(
                session, actor, first.agent, found, links=links, now=now
            )
    except (InvalidInput, Conflict) as error:
        for row in rows:
            _refuse_with(row, error)
        return None
    outcomes: dict[int, Outcome] = {}
    if outcome is Outcome.UPDATED:
        outcomes[first.line] = Outcome.UPDATED  # the agent corrected: their first row says so
    added = 0
    for row in rows:
        if row.permanence is None or row.reasons:
            continue
        if row.permanence in had:
            outcomes.setdefault(row.line, Outcome.UNCHANGED)
            continue
        try:
            async with session.begin_nested():
                await create_rule(
                    session, actor, agent_id=agent_id, rule=row.permanence.settings(), now=now
                )
        except (InvalidInput, Conflict) as error:
            _refuse_with(row, error)
            continue
        added += 1
        outcomes[row.line] = Outcome.CREATED if found is None else Outcome.UPDATED
    if outcome is Outcome.UNCHANGED and added:
        outcome = Outcome.UPDATED
    return AgentDone(outcome, outcomes, added)


async def _write_agent(
    session: AsyncSession, actor: Actor, fields: AgentFields,
    found: tuple[Agent, list[Permanence | None]] | None, *, links: Links, now: datetime,
) -> tuple[int, Outcome, list[Permanence | None]]:  # fmt: skip
    """Create the agent, or correct the one there; their id, what was done, and the
    permanences they already had."""
    if found is None:
        view = await create_agent(
            session, actor, partner_id=fields.partner_id, name=fields.name, email=fields.email,
            timezone=fields.timezone, locale=fields.locale, now=now,
        )  # fmt: skip
        return view.id, Outcome.CREATED, []
    agent, had = found
    if agent.partner_id != fields.partner_id:
        raise InvalidInput(fields={"partner_id": _l("This agent works for another partner.")})
    if not agent.active:
        raise InvalidInput(
            fields={"email": _l("This agent is marked as left: bring them back first.")}
        )
    if (agent.name, agent.timezone, agent.locale) == (fields.name, fields.timezone, fields.locale):
        return agent.id, Outcome.UNCHANGED, had
    await change_agent(
        session, actor, agent.id, name=fields.name, timezone=fields.timezone,
        locale=fields.locale, links=links, now=now,
    )  # fmt: skip
    return agent.id, Outcome.UPDATED, had


def _refuse_with(row: Row, error: DomainError) -> None:
    """A set-up service's refusal, on the row's columns."""
    if not error.fields:
        row.refuse(None, error.message)
    for name, message in error.fields.items():
        row.refuse(_SERVICE_FIELDS.get(name, name), message)


def _row_report(row: Row, outcomes: Mapping[int, Outcome], columns: Mapping[str, str]) -> RowReport:
    if row.reasons:
        reasons = tuple(
            Reason(columns.get(name, name) if name else None, message)
            for name, message in row.reasons.items()
        )
        return RowReport(row.line, row.email, Outcome.REFUSED, reasons)
    return RowReport(row.line, row.email, outcomes.get(row.line, Outcome.UNCHANGED))
