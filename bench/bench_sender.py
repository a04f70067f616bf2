"""The outbox sender's throughput: N pending messages, one sender, a loopback SMTP server.

Fills a scratch database with N messages queued as bookings queue them (the facts of a
booking; a third are confirmations with a calendar invitation, the rest reminders), which
the sender words as it sends them; starts aiosmtpd on 127.0.0.1 (in its own process)
accepting everything, runs one `OutboxSender` until the outbox is drained and prints
messages per second (target: at least 200/s).

    python bench/bench_sender.py                                # SQLite, 2,000 messages
    python bench/bench_sender.py --database-url postgresql+asyncpg://postgres@127.0.0.1/test

The PostgreSQL database named is used to create (and drop) a scratch database beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from baseline import smtp_loop
from bench_slots import scratch_database
from report import result
from sqlalchemy import func, insert, select

from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import OutboxMessage, OutboxStatus
from visio.notify.facts import AgentFacts, MotiveFacts, Parties, PartnerFacts, SiteFacts
from visio.notify.sender import DEFAULT_BATCH_SIZE, OutboxSender, SmtpConfig
from visio.services import notifications
from visio.services.records import CitizenView

PARTIES = Parties(
    site=SiteFacts(name="France Services Murat", address="2 place de l'Hôtel de Ville",
                   timezone="Europe/Paris", email=None),
    partner=PartnerFacts(name="CAF du Cantal"),
    motive=MotiveFacts(name="Prime d'activité", documents=["RIB", "Numéro d'allocataire"],
                       instructions=""),
    agent=AgentFacts(name="Isabelle Delmas", email="isabelle.delmas@caf.example", locale="fr",
                     timezone="Europe/Paris"),
)  # fmt: skip


def queued(n: int, now: datetime) -> dict[str, object]:
    """The n-th message: a citizen's confirmation (with its invitation) or a reminder."""
    start = now + timedelta(days=3, minutes=30 * n)
    moment = notifications.Moment(n + 1, 1, start, start + timedelta(minutes=30), 0, "", None)
    citizen = CitizenView(n + 1, "Usager", str(n), None, f"usager{n}@bench.example", None, "fr")
    change = notifications.Change(
        "booked" if n % 3 == 0 else "reminder", moment, PARTIES, citizen,
        notifications.Links("https://visio.example"), now, f"appointment-{n + 1}@visio.example",
    )  # fmt: skip
    row: dict[str, object] = dict(notifications.message_row(change, for_agent=False))
    row["appointment_id"] = None  # no appointment rows in this scratch database
    return row


# The SMTP server runs in a process of its own, as a real one would: in a thread of this
# one it would compete with the sender for the interpreter. It counts what it accepts and
# prints the count when told to stop.
SERVER = """
import sys
from aiosmtpd.controller import Controller

class Counting:
    received = 0

    async def handle_DATA(self, server, session, envelope):
        Counting.received += 1
        return "250 OK"

controller = Controller(Counting(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the bench closes our stdin
controller.stop()
print(Counting.received, flush=True)
"""


async def start_server(port: int) -> asyncio.subprocess.Process:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, str(port),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert server.stdout is not None
    line = await server.stdout.readline()
    if line.strip() != b"ready":
        raise RuntimeError("the SMTP server did not start")
    return server


async def stop_server(server: asyncio.subprocess.Process) -> int:
    out, _err = await server.communicate(b"")
    return int(out.decode().strip() or 0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def measure(url: str, messages: int, batch_size: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    engine = make_engine(url)
    await upgrade_engine(engine)
    rows = [queued(n, now) for n in range(messages)]
    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(insert(OutboxMessage), rows)

    port = free_port()
    server = await start_server(port)
    try:
        config = SmtpConfig(
            host="127.0.0.1", port=port, tls="none", mail_from="visio@bench.example"
        )
        sender = OutboxSender(make_sessionmaker(engine), config, batch_size=batch_size)
        started = time.perf_counter()
        report = await sender.send_due()
        elapsed = time.perf_counter() - started
        # The same number of plain messages sent bare by aiosmtplib to the same server.
        bare = await smtp_loop("127.0.0.1", port, messages)
    finally:
        received = await stop_server(server)
    async with make_sessionmaker(engine)() as session:
        statuses = Counter(
            dict((await session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )).all())
        )  # fmt: skip
    await engine.dispose()
    return {"messages": messages, "sent": report.sent, "received": received - messages,
            "elapsed": elapsed, "bare": bare, "statuses": statuses}  # fmt: skip


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    arguments = parser.parse_args()
    backend = "postgresql" if (arguments.database_url or "").startswith("postgresql") else "sqlite"
    async with scratch_database(arguments.database_url) as url:
        figures = await measure(url, arguments.messages, arguments.batch_size)
    rate = figures["sent"] / figures["elapsed"]
    drained = figures["statuses"] == {OutboxStatus.SENT: figures["messages"]}
    print(
        f"{backend:<10} messages={figures['messages']} batch={arguments.batch_size} "
        f"sent={figures['sent']} received={figures['received']} in {figures['elapsed']:.2f} s: "
        f"{rate:.0f} messages/s | outbox drained: {'yes' if drained else 'NO'}"
    )
    bare = figures["messages"] / figures["bare"]
    print(
        f"{backend:<10} same-run baseline, aiosmtplib alone on one connection: {bare:.0f} "
        f"messages/s | the sender's share: {rate / bare:.0%}"
    )
    result(bench="sender", database=backend, figure=f"{rate:.0f} messages/s",
           baseline=f"{bare:.0f} bare aiosmtplib messages/s", share=rate / bare,
           check=f"received {figures['received']} of {figures['messages']}")  # fmt: skip
    return 0 if drained and figures["received"] == figures["messages"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
