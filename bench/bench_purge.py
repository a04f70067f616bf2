"""What the daily retention purge costs: a database holding `--due` citizens past the
retention period (each with one held appointment, a note, its history and three outbox
messages: the agent's and the citizen's confirmations and a reminder) beside `--kept`
recent ones, purged in one transaction (`visio.services.retention.purge`), as the daily
job does. Prints the time of the purge (its one transaction, commit included), per
citizen erased, and checks that the recent citizens are untouched.

    python bench/bench_purge.py                                   # SQLite
    python bench/bench_purge.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentEvent,
    Citizen,
    Motive,
    OutboxMessage,
    Partner,
    Site,
    Station,
)
from visio.domain import AppointmentStatus, OutboxStatus
from visio.services import retention

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)


def _payload(template: str, name: str, for_agent: bool) -> dict[str, object]:
    """An outbox document of the usual size and shape (`visio.notify.facts.MessageFacts`)."""
    site = {"name": "France Services Murat", "address": "2 place de l'Hôtel de ville",
            "timezone": "Europe/Paris", "email": "murat@fs.example"}  # fmt: skip
    return {
        "template": template,
        "context": {
            "for_agent": for_agent, "recipient_name": "Isabelle Delmas" if for_agent else name,
            "locale": "fr", "zone": "Europe/Paris", "start": "2026-03-17T09:00:00+00:00",
            "end": "2026-03-17T09:30:00+00:00", "site": site,
            "partner": {"name": "Caisse d'allocations familiales"},
            "motive": {"name": "Prime d'activité", "documents": ["RIB"], "instructions": ""},
            "documents": ["RIB"], "instructions": "", "reference": "V-000001",
            "join_url": "https://visio.example/appointments/1/join/agent",
            "citizen_name": name if for_agent else "", "reason": "",
        },
        "invitation": None,
    }  # fmt: skip


async def fill(url: str, due: int, kept: int) -> None:
    engine = make_engine(url)
    try:
        await upgrade_engine(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            site = Site(name="France Services Murat", commune="Murat", timezone="Europe/Paris",
                        created_at=NOW)  # fmt: skip
            partner = Partner(code="CAF", name="Caisse d'allocations familiales", created_at=NOW)
            session.add_all([site, partner])
            await session.flush()
            station = Station(site_id=site.id, name="Cabine 1", created_at=NOW)
            motive = Motive(partner_id=partner.id, name="Prime d'activité", duration_minutes=30)
            agent = Agent(partner_id=partner.id, name="Isabelle Delmas", email="i@caf.example",
                          timezone="Europe/Paris", created_at=NOW)  # fmt: skip
            session.add_all([station, motive, agent])
            await session.flush()
            connection = await session.connection()
            total = due + kept
            people = [
                {"first_name": f"Prénom{n}", "last_name": f"Nom{n}", "first_name_key": f"prenom{n}",
                 "last_name_key": f"nom{n}", "email": f"usager{n}@courriel.example",
                 "phone": f"06{n:08d}", "locale": "fr", "created_at": NOW - timedelta(days=500)}
                for n in range(total)
            ]  # fmt: skip
            ids = list(await connection.scalars(insert(Citizen).returning(Citizen.id), people))
            # One appointment an hour: those due end over 91 days ago, the `kept` ones start
            # 80 days ago and after.
            appointments = []
            for index, citizen_id in enumerate(ids):
                if index < due:
                    start = NOW - timedelta(days=91, hours=due - index)
                else:
                    start = NOW - timedelta(days=80) + timedelta(hours=index - due)
                appointments.append({
                    "site_id": site.id, "station_id": station.id, "partner_id": partner.id,
                    "motive_id": motive.id, "agent_id": agent.id, "citizen_id": citizen_id,
                    "start_at": start, "end_at": start + timedelta(minutes=30),
                    "busy_from": start, "busy_until": start + timedelta(minutes=30),
                    "status": AppointmentStatus.HELD, "room": f"bench-room-{index}",
                    "outcome_note": f"Nom{index} a apporté son RIB", "created_at": start,
                })  # fmt: skip
            appointment_ids = list(
                await connection.scalars(
                    insert(Appointment).returning(Appointment.id), appointments
                )
            )
            events, messages = [], []
            for index, appointment_id in enumerate(appointment_ids):
                at = appointments[index]["start_at"]
                name = f"Prénom{index} Nom{index}"
                events += [
                    {"appointment_id": appointment_id, "at": at, "to_status": status,
                     "note": note}
                    for status, note in ((AppointmentStatus.BOOKED, ""),
                                         (AppointmentStatus.HELD, f"{name} venue"))
                ]  # fmt: skip
                for kind, template, for_agent, email in (
                    ("booked.agent", "booked", True, "i@caf.example"),
                    ("booked.citizen", "booked", False, f"usager{index}@courriel.example"),
                    ("reminder.citizen", "reminder", False, f"usager{index}@courriel.example"),
                ):
                    messages.append({
                        "kind": kind, "appointment_id": appointment_id,
                        "recipient_email": email,
                        "recipient_name": "Isabelle Delmas" if for_agent else name,
                        "locale": "fr", "payload": _payload(template, name, for_agent),
                        "status": OutboxStatus.SENT, "attempts": 1, "next_attempt_at": at,
                        "created_at": at, "sent_at": at,
                    })  # fmt: skip
            await connection.execute(insert(AppointmentEvent), events)
            await connection.execute(insert(OutboxMessage), messages)
    finally:
        await engine.dispose()


async def measure(url: str, due: int, kept: int) -> None:
    await fill(url, due, kept)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            report = await retention.purge(
                session, now=NOW, retention_days=90, audit_retention_days=365
            )
        seconds = time.perf_counter() - started
        async with sessions() as session:
            left = await session.scalar(
                select(func.count()).select_from(Citizen).where(Citizen.erased_at.is_(None))
            )
        assert report.citizens == due and left == kept, (report, left)
        print(
            f"{make_url(url).get_backend_name()}: erased {report.citizens} citizens "
            f"({report.appointments} appointments, {report.messages} messages) in "
            f"{seconds:.2f} s, {1000 * seconds / max(1, report.citizens):.2f} ms a citizen; "
            f"{left} recent citizens kept"
        )
    finally:
        await engine.dispose()


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        help="an empty PostgreSQL database, emptied first (default: a temporary SQLite file)",
    )
    parser.add_argument("--due", type=int, default=5000, help="citizens past the period")
    parser.add_argument("--kept", type=int, default=500, help="recent citizens")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = arguments.database_url or f"sqlite+aiosqlite:///{folder}/bench-purge.db"
        if url.startswith("postgresql"):
            asyncio.run(_reset_postgres(url))
        asyncio.run(measure(url, arguments.due, arguments.kept))


if __name__ == "__main__":
    main()
