"""`visio import agents FILE.csv --as EMAIL`, run as a person would: a line per row and the
totals; a file with a refused row writes nothing and ends with status 1 and one line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from tests.test_cli import SECRET, assert_one_line_error, environment, visio
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import Agent, AuditEntry, AvailabilityRule, Motive, Partner, Site

ADMIN = "admin@visio.example"
HEADER = "partenaire;nom;courriel;jours;début;fin;maisons;motifs"
GOOD = (
    f"\ufeff{HEADER}\n"
    "CAF;Nadia Fabre;nadia.fabre@caf.example;1 3;09:00;12:00;France Services Murat;\n"
    "CAF;Nadia Fabre;nadia.fabre@caf.example;4;14:00;17:00;;Prime d'activité\n"
    "CAF;Luc Pagès;luc.pages@caf.example;lun-ven;13:30;16:00;;\n"
)


def set_up(url: str) -> None:
    """A house, the CAF and one of its motives, as an administrator would have set them up."""

    async def create() -> None:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                now = datetime(2026, 3, 16, 8, tzinfo=UTC)
                partner = Partner(code="CAF", name="Caisse d'allocations familiales",
                                  created_at=now)  # fmt: skip
                session.add_all([
                    partner,
                    Site(name="France Services Murat", commune="Murat",
                         timezone="Europe/Paris", created_at=now),
                ])  # fmt: skip
                await session.flush()
                session.add(Motive(partner_id=partner.id, name="Prime d'activité",
                                   duration_minutes=30))  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(create())


def counts(url: str) -> tuple[int, int, int]:
    """How many agents, permanences and audit entries there are."""

    async def count() -> tuple[int, int, int]:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                found = [
                    int(await session.scalar(select(func.count()).select_from(model)) or 0)
                    for model in (Agent, AvailabilityRule, AuditEntry)
                ]
                return found[0], found[1], found[2]
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_import_agents_whole_or_not_at_all(head_url: str, tmp_path: Path) -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=head_url)
    created = visio("users", "create", "--email", ADMIN, "--name", "Anne Admin", "--role",
                    "admin", "--no-password", env=env)  # fmt: skip
    assert created.returncode == 0, created.stderr
    set_up(head_url)
    good = tmp_path / "agents.csv"
    good.write_text(GOOD, encoding="utf-8")
    _agents, _rules, entries = counts(head_url)

    imported = visio("import", "agents", str(good), "--as", ADMIN, env=env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "Ligne 2 · nadia.fabre@caf.example · créé",
        "Ligne 3 · nadia.fabre@caf.example · créé",
        "Ligne 4 · luc.pages@caf.example · créé",
        "Lignes lues : 3 · Agents créés : 2 · Agents mis à jour : 0 · Permanences ajoutées : 3"
        " · Lignes inchangées : 0 · Lignes refusées : 0",
    ]
    # two agents, three permanences; the audit log: each of them and the import
    assert counts(head_url) == (2, 3, entries + 2 + 3 + 1)

    again = visio("import", "agents", str(good), "--as", ADMIN, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" · inchangé\n") == 3
    assert counts(head_url) == (2, 3, entries + 6)

    bad = tmp_path / "bad.csv"
    bad.write_text(
        GOOD + "CAF;Paul Roux;paul.roux@caf.example;2;10:00;09:00;France Services Nowhere;\n",
        encoding="utf-8",
    )
    refused = visio("import", "agents", str(bad), "--as", ADMIN, env=env)
    assert_one_line_error(refused, "Rien n'a été importé : 1 ligne est refusée")
    assert (
        "Ligne 5 · paul.roux@caf.example · refusé · fin : La fin doit suivre le début. · "
        "maisons : Maison inconnue : France Services Nowhere." in refused.stdout
    )
    assert "Ligne 2 · nadia.fabre@caf.example · inchangé" in refused.stdout
    assert counts(head_url) == (2, 3, entries + 6)


def test_what_stops_an_import_is_one_line(head_url: str, tmp_path: Path) -> None:
    env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=head_url)
    set_up(head_url)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(GOOD.replace("\ufeff", "").encode("latin-1"))
    nobody = visio("import", "agents", str(latin), "--as", ADMIN, env=env)
    assert_one_line_error(nobody, ADMIN)  # no such administrator
    visio("users", "create", "--email", ADMIN, "--name", "Anne Admin", "--role", "admin",
          "--no-password", env=env)  # fmt: skip
    visio("users", "create", "--email", "c@visio.example", "--name", "C", "--role",
          "coordinator", "--site", "France Services Murat", "--no-password", env=env)  # fmt: skip
    assert_one_line_error(
        visio("import", "agents", str(latin), "--as", "c@visio.example", env=env),
        "administrators",
    )
    assert_one_line_error(visio("import", "agents", str(latin), "--as", ADMIN, env=env), "UTF-8")
    assert_one_line_error(
        visio("import", "agents", str(tmp_path / "missing.csv"), "--as", ADMIN, env=env),
        "missing.csv",
    )
