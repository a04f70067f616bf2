"""Importing agents and their permanences from a CSV file, straight through the service.

Promised: a file (UTF-8 with or without byte order mark, `;` or `,`, English or French
column names) creates the agents it brings with their permanences and corrects those
already there; importing it again changes nothing; a file with one bad row writes nothing
at all, and its report names the row (its line in the file) and the field; administrators
alone import.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tests.conftest import Clock
from tests.services.conftest import LINKS, House
from visio.db.models import Agent, AuditEntry, AvailabilityRule
from visio.i18n import current_locale
from visio.services.errors import InvalidInput, NotAllowed
from visio.services.setup.importing import (
    ImportReport,
    Outcome,
    Reason,
    RowReport,
    import_agents,
    read_table,
)

HEADER = (
    "partner;name;email;timezone;locale;weekdays;start;end;every_weeks;valid_from;valid_until;"
    "sites;motives"
)
GOOD = [
    HEADER,
    "CAF;Nadia Fabre;Nadia.Fabre@caf.example;;;1 3;09:00;12:00;;;;France Services Murat;",
    "CAF;Nadia Fabre;nadia.fabre@caf.example;;;4;14:00;17:00;2;2026-04-02;2026-12-31;"
    "France Services Murat|France Services Massiac;Prime d'activité",
    "CAF;Luc Pagès;luc.pages@caf.example;America/Cayenne;en;mon+fri;8h30;11h;;;;;",
]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """The reasons read in English here (French is checked by the pages' tests)."""
    token = current_locale.set("en")
    yield
    current_locale.reset(token)


def csv_file(lines: list[str], *, separator: str = ";", bom: bool = False) -> bytes:
    text = "\r\n".join(line.replace(";", separator) for line in lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


async def counts(session: AsyncSession) -> tuple[int, ...]:
    """How many agents, permanences and audit entries there are."""
    await session.flush()
    found = []
    for model in (Agent, AvailabilityRule, AuditEntry):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


async def run(session: AsyncSession, house: House, clock: Clock, content: bytes) -> ImportReport:
    return await import_agents(session, house.admin, content, links=LINKS, now=clock())


async def rules_of(session: AsyncSession, email: str) -> list[AvailabilityRule]:
    agent = await session.scalar(select(Agent).where(Agent.email == email))
    assert agent is not None
    return list(
        await session.scalars(
            select(AvailabilityRule)
            .where(AvailabilityRule.agent_id == agent.id)
            .order_by(AvailabilityRule.id)
            .options(selectinload(AvailabilityRule.sites), selectinload(AvailabilityRule.motives))
            .execution_options(populate_existing=True)
        )
    )


@pytest.mark.parametrize(("separator", "bom"), [(";", True), (",", False), (",", True)])
async def test_a_good_file_creates_its_agents_and_their_permanences(
    session: AsyncSession, house: House, clock: Clock, separator: str, bom: bool
) -> None:
    agents, rules, entries = await counts(session)
    report = await run(session, house, clock, csv_file(GOOD, separator=separator, bom=bom))

    assert report.written
    assert [(row.line, row.email, row.outcome) for row in report.rows] == [
        (2, "nadia.fabre@caf.example", Outcome.CREATED),
        (3, "nadia.fabre@caf.example", Outcome.CREATED),
        (4, "luc.pages@caf.example", Outcome.CREATED),
    ]
    assert (report.agents_created, report.agents_updated, report.permanences_added) == (2, 0, 3)
    # two agents, three permanences; audited: each agent, each permanence, the import
    assert await counts(session) == (agents + 2, rules + 3, entries + 2 + 3 + 1)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "agents.import"))
    assert entry is not None and entry.user_id == house.admin.user_id
    assert entry.details == {"rows": 3, "agents_created": 2, "agents_updated": 0,
                             "permanences_added": 3}  # fmt: skip

    nadia = await session.scalar(select(Agent).where(Agent.email == "nadia.fabre@caf.example"))
    assert nadia is not None
    assert (nadia.name, nadia.partner_id, nadia.timezone, nadia.locale) == (
        "Nadia Fabre", house.partner.id, "Europe/Paris", "fr",
    )  # fmt: skip
    first, second = await rules_of(session, "nadia.fabre@caf.example")
    assert (first.weekdays, first.start, first.end, first.every_weeks) == ([1, 3], time(9),
                                                                          time(12), 1)  # fmt: skip
    assert [site.id for site in first.sites] == [house.site.id] and first.motives == []
    assert (second.weekdays, second.every_weeks, second.valid_from, second.valid_until) == (
        [4], 2, date(2026, 4, 2), date(2026, 12, 31),
    )  # fmt: skip
    assert {site.id for site in second.sites} == {house.site.id, house.elsewhere.id}
    assert [motive.id for motive in second.motives] == [house.motive.id]
    (luc,) = await rules_of(session, "luc.pages@caf.example")
    assert (luc.weekdays, luc.start, luc.end, luc.sites) == ([1, 5], time(8, 30), time(11), [])
    luc_agent = await session.scalar(select(Agent).where(Agent.email == "luc.pages@caf.example"))
    assert luc_agent is not None
    assert (luc_agent.timezone, luc_agent.locale) == ("America/Cayenne", "en")


async def test_the_same_file_again_changes_nothing(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    await run(session, house, clock, csv_file(GOOD))
    before = await counts(session)
    again = await run(session, house, clock, csv_file(GOOD, separator=",", bom=True))
    assert again.written
    assert {row.outcome for row in again.rows} == {Outcome.UNCHANGED}
    assert (again.agents_created, again.agents_updated, again.permanences_added) == (0, 0, 0)
    assert await counts(session) == before  # not even an audit entry


async def test_an_agent_already_there_is_corrected_and_gains_the_permanences_they_lack(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    """Isabelle Delmas holds Tuesday mornings at Murat already: the file keeps that one,
    adds Thursday afternoons, and corrects her name and language."""
    agents, rules, _entries = await counts(session)
    report = await run(session, house, clock, csv_file([
        HEADER,
        "caf;Isabelle Delmas-Roux;ISABELLE.DELMAS@caf.example;;en;2;09:00;12:00;;;;"
        "France Services Murat;",
        "CAF;Isabelle Delmas-Roux;isabelle.delmas@caf.example;;en;jeu;14:00;16:30;;;;;",
    ]))  # fmt: skip
    assert report.written
    assert [row.outcome for row in report.rows] == [Outcome.UPDATED, Outcome.UPDATED]
    assert (report.agents_created, report.agents_updated, report.permanences_added) == (0, 1, 1)
    assert (await counts(session))[:2] == (agents, rules + 1)
    agent = await session.get_one(Agent, house.agent.id, populate_existing=True)
    assert (agent.name, agent.locale, agent.timezone) == ("Isabelle Delmas-Roux", "en",
                                                          "Europe/Paris")  # fmt: skip
    tuesday, thursday = await rules_of(session, "isabelle.delmas@caf.example")
    assert tuesday.weekdays == [2] and (thursday.weekdays, thursday.end) == ([4], time(16, 30))

    # the same permanences with her name as it now is: nothing to do
    same = await run(session, house, clock, csv_file([
        HEADER,
        "CAF;Isabelle Delmas-Roux;isabelle.delmas@caf.example;;en;2;09:00;12:00;;;;"
        "France Services Murat;",
    ]))  # fmt: skip
    assert [row.outcome for row in same.rows] == [Outcome.UNCHANGED]


# One bad row among good ones: (the row, the field the report names, part of the reason).
BAD_ROWS = {
    "unknown partner": ("XYZ;Paul Roux;paul.roux@caf.example;;;1;09:00;12:00;;;;;",
                        "partner", "XYZ"),
    "bad time": ("CAF;Paul Roux;paul.roux@caf.example;;;1;25:00;26:00;;;;;", "start", "HH:MM"),
    "end before start": ("CAF;Paul Roux;paul.roux@caf.example;;;1;12:00;09:00;;;;;", "end",
                         "after the start"),
    "unknown house": ("CAF;Paul Roux;paul.roux@caf.example;;;1;09:00;12:00;;;;"
                      "France Services Nowhere;", "sites", "France Services Nowhere"),
    "unknown motive": ("CAF;Paul Roux;paul.roux@caf.example;;;1;09:00;12:00;;;;;Retraite",
                       "motives", "Retraite"),
    "bad email": ("CAF;Paul Roux;paul.roux@;;;1;09:00;12:00;;;;;", "email", "email"),
    "unknown day": ("CAF;Paul Roux;paul.roux@caf.example;;;funday;09:00;12:00;;;;;",
                    "weekdays", "funday"),
    "unknown zone": ("CAF;Paul Roux;paul.roux@caf.example;CET;;1;09:00;12:00;;;;;",
                     "timezone", "Europe/Paris"),
    "twelve weeks": ("CAF;Paul Roux;paul.roux@caf.example;;;1;09:00;12:00;12;;;;",
                     "every_weeks", "1 to 8"),
    "a date in reverse": ("CAF;Paul Roux;paul.roux@caf.example;;;1;09:00;12:00;;2026-05-01;"
                          "2026-04-01;;", "valid_until", "first"),
    "another name for the same email": ("CAF;Nadia Fabre-Roux;nadia.fabre@caf.example;;;5;"
                                        "09:00;12:00;;;;;", "name", "line 2"),
    "the same permanence twice": ("CAF;Nadia Fabre;nadia.fabre@caf.example;;;1 3;09:00;12:00;"
                                  ";;;France Services Murat;", None, "line 2"),
    # refused by the set-up service as it writes it: Isabelle holds Tuesday mornings already
    "overlapping a permanence": ("CAF;Isabelle Delmas;isabelle.delmas@caf.example;;;2;"
                                 "10:00;11:00;;;;;", "start", "already"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ROWS))
async def test_one_bad_row_and_nothing_is_written(
    session: AsyncSession, house: House, clock: Clock, case: str
) -> None:
    bad, column, fragment = BAD_ROWS[case]
    before = await counts(session)
    report = await run(session, house, clock, csv_file([*GOOD, bad]))

    assert not report.written
    assert await counts(session) == before  # no agent, permanence or audit entry
    (refused,) = report.refused
    assert refused.line == 5
    assert refused.reasons[0].field == column
    assert fragment in str(refused.reasons[0].message)
    # the other rows passed their checks: what they would do is said, not done
    assert [row.outcome for row in report.rows[:3]] == [Outcome.CREATED] * 3
    assert await session.scalar(select(Agent).where(Agent.email == "luc.pages@caf.example")) is None


async def test_every_bad_row_is_reported_at_once_with_each_field(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    report = await run(session, house, clock, csv_file([
        HEADER,
        "",  # a blank line is skipped, yet counted
        "CAF;Nadia Fabre;nadia.fabre@caf.example;;;1;9:00;8:00;;;;;Retraite",
        "CAF;Luc Pagès;luc.pages@caf.example;;;1;09:00;12:00;;;;;",
        "XYZ;;luc.pagès@caf;;de;1;09:00;12:00;;;;;",
    ]))  # fmt: skip
    assert not report.written
    assert report.rows == (
        RowReport(3, "nadia.fabre@caf.example", Outcome.REFUSED, (
            Reason("end", report.rows[0].reasons[0].message),
            Reason("motives", report.rows[0].reasons[1].message),
        )),
        RowReport(4, "luc.pages@caf.example", Outcome.CREATED),
        RowReport(5, "luc.pagès@caf", Outcome.REFUSED, report.rows[2].reasons),
    )  # fmt: skip
    assert [reason.field for reason in report.rows[2].reasons] == [
        "email", "partner", "name", "locale",
    ]  # fmt: skip
    assert (report.count(Outcome.REFUSED), report.count(Outcome.CREATED)) == (2, 1)


async def test_french_columns_and_day_names_are_understood(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    report = await run(session, house, clock, csv_file([
        "Partenaire;Nom;Courriel;Fuseau horaire;Langue;Jours;Début;Fin;Semaines;Du;Au;Maisons;"
        "Motifs",
        "CAF;Nadia Fabre;nadia.fabre@caf.example;;;lun-mer;09:00;12:00;;01/04/2026;;"
        "france services murat;prime d'activité",
        "CAF;Nadia Fabre;nadia.fabre@caf.example;;;Ven.;9:00;8:00;;;;;",
    ]))  # fmt: skip
    assert not report.written
    # the report names the column as the file does
    assert report.rows[1].reasons[0].field == "Fin"
    first = report.rows[0]
    assert first.outcome is Outcome.CREATED


async def test_weekdays_in_every_form(session: AsyncSession, house: House, clock: Clock) -> None:
    forms = ["1-5", "Mon Tue", "lun+mer+ven", "7", "SAT + sun"]
    lines = [HEADER] + [
        f"CAF;Agent {index};agent{index}@caf.example;;;{days};09:00;12:00;;;;;"
        for index, days in enumerate(forms)
    ]
    report = await run(session, house, clock, csv_file(lines))
    assert report.written, report.refused
    found = [(await rules_of(session, f"agent{index}@caf.example"))[0].weekdays
             for index in range(len(forms))]  # fmt: skip
    assert found == [[1, 2, 3, 4, 5], [1, 2], [1, 3, 5], [7], [6, 7]]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"partner;name\r\nCAF;x\r\n", "email"),  # columns missing
        (f"{HEADER};colour\r\n".encode(), "colour"),  # an unknown column
        (f"{HEADER};nom\r\n".encode(), "nom"),  # name twice
        (f"{HEADER}\r\n".encode(), "no row"),
        (b"", "empty"),
        (f"{HEADER}\r\nCAF;Lo\xefc".encode("latin-1"), "UTF-8"),
    ],
)
async def test_a_file_that_cannot_be_read_says_why(
    session: AsyncSession, house: House, clock: Clock, content: bytes, fragment: str
) -> None:
    before = await counts(session)
    with pytest.raises(InvalidInput) as raised:
        await run(session, house, clock, content)
    assert fragment in str(raised.value.fields["file"])
    assert await counts(session) == before


def test_lines_are_counted_as_in_the_file() -> None:
    """A quoted cell over two lines, blank lines: each row says where it begins."""
    table = read_table(
        f'{HEADER}\n\nCAF;"Nadia\nFabre";n@caf.example;;;1;09:00;12:00;;;;;\n;;;;;;;;;;;;\n'
        "CAF;Luc;l@caf.example;;;1;09:00;12:00;;;;;\n".encode()
    )
    assert [row.line for row in table.rows] == [3, 6]
    assert table.rows[0].cells["name"] == "Nadia\nFabre"


async def test_only_administrators_import(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    for someone in (house.desk, house.coordinator, house.agent_actor):
        with pytest.raises(NotAllowed):
            await import_agents(session, someone, csv_file(GOOD), links=LINKS, now=clock())


async def test_an_agent_stored_with_capitals_is_found_by_their_email(
    session: AsyncSession, house: House, clock: Clock, create_agent: Any
) -> None:
    """An email stored before emails were lower-cased is the same agent, not a new one."""
    older = await create_agent(house.partner, name="Marie Roux", email="Marie.Roux@CAF.example")
    agents, _rules, _entries = await counts(session)
    report = await run(session, house, clock, csv_file([
        HEADER, "CAF;Marie Roux;marie.roux@caf.example;;;5;09:00;12:00;;;;;",
    ]))  # fmt: skip
    assert report.written and [row.outcome for row in report.rows] == [Outcome.UPDATED]
    assert (await counts(session))[0] == agents
    assert [rule.weekdays for rule in await rules_of(session, older.email)] == [[5]]
