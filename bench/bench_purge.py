"""What the daily retention purge costs: a database holding `--due` citizens past the
retention period (each with one held appointment, a note, its history and three outbox
messages: the agent's and the citizen's confirmations and a reminder) beside `--kept`
recent ones, purged in one transaction (`visio.services.retention.purge`), as the daily
job does. Prints the time of the purge (its one transaction, commit included), per
citizen erased, and checks that the recent citizens are untouched.

Same-run baseline: the same rows rewritten bare, one UPDATE statement per table (the due
citizens, their appointments, the history entries holding a note, their outbox messages:
each column the purge writes set to its own value) in one transaction, commit included,
just before the purge and again just after it (on the rows as the purge left them). The
purge's time is marked as a result for `python -m bench` (bench/report.py) beside the
mean of the two and its multiple of it.

    python bench/bench_purge.py                                   # SQLite
    python bench/bench_purge.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test

The PostgreSQL database named is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_slots import scratch_database
from report import result

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


async def bare_rewrite(engine: AsyncEngine, before: datetime) -> float:
    """Seconds to rewrite bare, in one transaction, the rows the purge writes: one UPDATE
    per table, each column the purge writes set to its own value (no row read into Python,
    no change to the data)."""
    due_appointments = select(Appointment.id).where(Appointment.end_at <= before)
    statements = [
        update(Citizen)
        .where(Citizen.id.in_(select(Appointment.citizen_id).where(Appointment.end_at <= before)))
        .values(first_name=Citizen.first_name, last_name=Citizen.last_name,
                first_name_key=Citizen.first_name_key, last_name_key=Citizen.last_name_key,
                birth_date=Citizen.birth_date, email=Citizen.email, phone=Citizen.phone,
                erased_at=Citizen.erased_at),
        update(Appointment)
        .where(Appointment.end_at <= before)
        .values(outcome_note=Appointment.outcome_note, cancel_reason=Appointment.cancel_reason),
        # The entries the purge empties: in this data set, the held ones (they hold a note).
        update(AppointmentEvent)
        .where(AppointmentEvent.appointment_id.in_(due_appointments),
               AppointmentEvent.to_status == AppointmentStatus.HELD)
        .values(note=AppointmentEvent.note),
        update(OutboxMessage)
        .where(OutboxMessage.appointment_id.in_(due_appointments))
        .values(recipient_email=OutboxMessage.recipient_email,
                recipient_name=OutboxMessage.recipient_name,
                last_error=OutboxMessage.last_error, payload=OutboxMessage.payload),
    ]  # fmt: skip
    started = time.perf_counter()
    async with engine.begin() as connection:
        for statement in statements:
            await connection.execute(statement)
    return time.perf_counter() - started


async def measure(url: str, due: int, kept: int) -> None:
    await fill(url, due, kept)
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)
        before = NOW - timedelta(days=90)
        bare_before = await bare_rewrite(engine, before)
        started = time.perf_counter()
        async with sessions() as session, session.begin():
            report = await retention.purge(
                session, now=NOW, retention_days=90, audit_retention_days=365
            )
        seconds = time.perf_counter() - started
        bare_after = await bare_rewrite(engine, before)
        async with sessions() as session:
            left = await session.scalar(
                select(func.count()).select_from(Citizen).where(Citizen.erased_at.is_(None))
            )
        assert report.citizens == due and left == kept, (report, left)
        backend = make_url(url).get_backend_name()
        print(
            f"{backend}: erased {report.citizens} citizens "
            f"({report.appointments} appointments, {report.messages} messages) in "
            f"{seconds:.2f} s, {1000 * seconds / max(1, report.citizens):.2f} ms a citizen; "
            f"{left} recent citizens kept"
        )
        bare = (bare_before + bare_after) / 2
        print(
            f"{backend}: same-run baseline, the same rows rewritten bare (one UPDATE a table, "
            f"one transaction): {bare_before:.2f} s before the purge, {bare_after:.2f} s after "
            f"| the purge takes {seconds / bare:.1f}x their mean"
        )
        result(bench="purge", database=backend,
               figure=f"{report.citizens} citizens erased in {seconds:.2f} s",
               baseline=f"bare UPDATEs of the same rows, one transaction: {bare:.2f} s",
               share=seconds / bare, check=f"{left} of {kept} recent citizens kept")  # fmt: skip
    finally:
        await engine.dispose()


async def run(database_url: str | None, due: int, kept: int) -> None:
    async with scratch_database(database_url) as url:
        await measure(url, due, kept)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--due", type=int, default=5000, help="citizens past the period")
    parser.add_argument("--kept", type=int, default=500, help="recent citizens")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.database_url, arguments.due, arguments.kept))


if __name__ == "__main__":
    main()
