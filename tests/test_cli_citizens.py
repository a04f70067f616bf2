"""`visio purge`, `visio citizens export --id N` and `visio citizens erase --id N`, run as
an administrator would, on a database with three citizens: one whose last appointment
ended 200 days ago, one seen 10 days ago, one booked for tomorrow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import database_copy
from tests.test_cli import SECRET, assert_one_line_error, environment, visio
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.models import (
    Agent,
    Appointment,
    AuditEntry,
    Citizen,
    Motive,
    OpeningHour,
    OutboxMessage,
    Partner,
    Site,
    Station,
)
from visio.domain import AppointmentStatus, OutboxStatus

ADMIN = "admin@visio.example"
DESK = "desk@visio.example"


@dataclass(frozen=True)
class People:
    old: int  # last seen 200 days ago
    recent: int  # seen 10 days ago
    coming: int  # booked for tomorrow
    coming_appointment: int


def set_up(url: str) -> People:
    async def create() -> People:
        now = datetime.now(UTC).replace(microsecond=0)
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                site = Site(name="France Services Murat", commune="Murat",
                            timezone="Europe/Paris", created_at=now)  # fmt: skip
                site.opening_hours = [OpeningHour(weekday=1, start=time(9), end=time(12))]
                partner = Partner(code="CAF", name="Caisse d'allocations familiales",
                                  created_at=now)  # fmt: skip
                session.add_all([site, partner])
                await session.flush()
                station = Station(site_id=site.id, name="Cabine 1", created_at=now)
                motive = Motive(partner_id=partner.id, name="Prime d'activité",
                                duration_minutes=30)  # fmt: skip
                agent = Agent(partner_id=partner.id, name="Isabelle Delmas",
                              email="isabelle.delmas@caf.example", timezone="Europe/Paris",
                              created_at=now)  # fmt: skip
                session.add_all([station, motive, agent])
                people = [
                    Citizen(first_name=first, last_name=last, first_name_key=first.lower(),
                            last_name_key=last.lower(), email=email, phone="0612345678",
                            created_at=now - timedelta(days=300))
                    for first, last, email in (
                        ("Monique", "Chassang", "monique@courriel.example"),
                        ("Jean", "Rigal", None),
                        ("Lucie", "Fabre", "lucie@courriel.example"),
                    )
                ]  # fmt: skip
                session.add_all(people)
                await session.flush()
                appointments = []
                for index, (person, days, status) in enumerate((
                    (people[0], -200, AppointmentStatus.HELD),
                    (people[1], -10, AppointmentStatus.NO_SHOW),
                    (people[2], 1, AppointmentStatus.BOOKED),
                )):  # fmt: skip
                    start = now + timedelta(days=days)
                    appointment = Appointment(
                        site_id=site.id, station_id=station.id, partner_id=partner.id,
                        motive_id=motive.id, agent_id=agent.id, citizen_id=person.id,
                        start_at=start, end_at=start + timedelta(minutes=30), busy_from=start,
                        busy_until=start + timedelta(minutes=30), status=status,
                        room=f"room-{index}-{start.timestamp()}", created_at=now,
                        outcome_note=f"{person.last_name} a apporté son RIB",
                    )  # fmt: skip
                    session.add(appointment)
                    appointments.append(appointment)
                await session.flush()
                session.add(
                    OutboxMessage(
                        kind="booked.citizen", appointment_id=appointments[0].id,
                        recipient_email="monique@courriel.example",
                        recipient_name="Monique Chassang", subject="Votre rendez-vous",
                        body_text="Bonjour Monique Chassang", status=OutboxStatus.SENT,
                        next_attempt_at=now, created_at=now, sent_at=now,
                    )
                )  # fmt: skip
                return People(people[0].id, people[1].id, people[2].id, appointments[2].id)
        finally:
            await engine.dispose()

    return asyncio.run(create())


def read(url: str, citizen_id: int) -> tuple[Citizen, list[AuditEntry]]:
    """The citizen's row and the audit log, as the database holds them."""

    async def fetch() -> tuple[Citizen, list[AuditEntry]]:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                person = await session.get(Citizen, citizen_id)
                assert person is not None
                entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
                return person, list(entries)
        finally:
            await engine.dispose()

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def prepared_once(
    head_template_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, People]]:
    """The database of these tests (its three citizens, an administrator and a desk made by
    `visio users create`), made once: each test changes a copy of it (`prepared`)."""
    with database_copy(head_template_url, tmp_path_factory.mktemp("citizens")) as url:
        env = environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=url)
        people = set_up(url)
        for email, role, sites in (
            (ADMIN, "admin", []),
            (DESK, "desk", ["France Services Murat"]),
        ):
            options = [option for site in sites for option in ("--site", site)]
            created = visio("users", "create", "--email", email, "--name", "Anne", "--role",
                            role, *options, "--no-password", env=env)  # fmt: skip
            assert created.returncode == 0, created.stderr
        yield url, people


@pytest.fixture
def prepared(
    prepared_once: tuple[str, People], tmp_path: Path
) -> Iterator[tuple[dict[str, str], People]]:
    """The environment of `visio` on a fresh copy of the tests' database, and its people."""
    url, people = prepared_once
    with database_copy(url, tmp_path) as copy:
        yield environment(VISIO_SECRET_KEY=SECRET, VISIO_DATABASE_URL=copy), people


def test_the_export_holds_everything_and_is_audited(
    prepared: tuple[dict[str, str], People],
) -> None:
    env, people = prepared
    url = env["VISIO_DATABASE_URL"]
    exported = visio("citizens", "export", "--id", str(people.old), "--as", ADMIN, env=env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["citizen"]["last_name"] == "Chassang"
    assert document["citizen"]["email"] == "monique@courriel.example"
    [appointment] = document["appointments"]
    assert (appointment["house"], appointment["partner"], appointment["motive"],
            appointment["agent"], appointment["status"]) == (
        "France Services Murat", "Caisse d'allocations familiales", "Prime d'activité",
        "Isabelle Delmas", "held",
    )  # fmt: skip
    assert appointment["outcome_note"] == "Chassang a apporté son RIB"
    [message] = document["messages"]
    assert (message["kind"], message["status"], message["recipient"]) == (
        "booked.citizen", "sent", "monique@courriel.example",
    )  # fmt: skip
    _person, entries = read(url, people.old)
    last = entries[-1]
    assert (last.action, last.entity_id) == ("citizen.export", people.old)
    assert last.user_id is not None  # the administrator named by --as
    # Without --as: the command line itself.
    assert visio("citizens", "export", "--id", str(people.old), env=env).returncode == 0
    assert read(url, people.old)[1][-1].user_id is None


def test_erase_now_or_refuse_while_an_appointment_is_to_come(
    prepared: tuple[dict[str, str], People],
) -> None:
    env, people = prepared
    url = env["VISIO_DATABASE_URL"]
    refused = visio("citizens", "erase", "--id", str(people.coming), env=env)
    assert_one_line_error(refused, "appointments to come", f"V-{people.coming_appointment:06d}",
                          "nothing was changed")  # fmt: skip
    assert read(url, people.coming)[0].last_name == "Fabre"

    erased = visio("citizens", "erase", "--id", str(people.recent), "--as", ADMIN, env=env)
    assert erased.returncode == 0, erased.stderr
    assert erased.stdout.strip() == (
        f"citizen {people.recent} erased (1 appointments and 0 messages kept without their "
        "name and contact details)"
    )
    person, entries = read(url, people.recent)
    assert (person.first_name, person.last_name, person.phone) == ("", "", None)
    assert person.erased_at is not None
    assert (entries[-1].action, entries[-1].entity_id) == ("citizen.erase", people.recent)
    again = visio("citizens", "erase", "--id", str(people.recent), env=env)
    assert again.returncode == 0 and "erased already" in again.stdout
    document = json.loads(visio("citizens", "export", "--id", str(people.recent), env=env).stdout)
    assert document["citizen"]["last_name"] == "" and document["citizen"]["erased_at"]
    assert document["appointments"][0]["outcome_note"] == ""


def test_unknown_ids_and_accounts_are_one_line(prepared: tuple[dict[str, str], People]) -> None:
    env, people = prepared
    for action in ("export", "erase"):
        result = visio("citizens", action, "--id", "999999", env=env)
        assert_one_line_error(result, "no citizen with the id 999999")
        assert result.stdout == ""
    not_admin = visio("citizens", "erase", "--id", str(people.old), "--as", DESK, env=env)
    assert_one_line_error(not_admin, "is not an administrator")
    unknown = visio("citizens", "export", "--id", str(people.old), "--as", "x@y.example", env=env)
    assert_one_line_error(unknown, "no active account")


def test_purge_counts_first_then_erases_once(
    prepared: tuple[dict[str, str], People],
) -> None:
    env, people = prepared
    url = env["VISIO_DATABASE_URL"]
    dry = visio("purge", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would erase 1 citizens" in dry.stdout and "nothing changed" in dry.stdout
    assert read(url, people.old)[0].last_name == "Chassang"

    done = visio("purge", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("erased 1 citizens")
    assert read(url, people.old)[0].last_name == ""
    for kept in (people.recent, people.coming):
        assert read(url, kept)[0].erased_at is None
    assert visio("purge", env=env).stdout.startswith("erased 0 citizens")
    entries = read(url, people.old)[1]
    assert [entry.action for entry in entries].count("citizen.purge") == 2
