"""The outbox sender against a real SMTP server (aiosmtpd on loopback) and a real database."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from visio.app import create_app
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import OutboxMessage, OutboxStatus
from visio.notify.sender import OutboxSender, SmtpConfig, retry_delay
from visio.settings import Settings

from ..conftest import SECRET, Clock
from ..test_cli import START_SECONDS, free_port

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"


class Recorder:
    """An aiosmtpd handler keeping every message it accepts; some addresses it refuses."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.refusals: dict[str, str] = {}
        # The server runs in its own thread: tests wait on this for a first message.
        self.arrived = threading.Event()
        # Called (in the server's thread) as each message arrives, before it is answered.
        self.on_message: Callable[[], object] | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        self.arrived.set()
        if self.on_message is not None:
            self.on_message()
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        return Counter(str(message["Message-ID"]) for _rcpt, message in self.messages)


class SmtpServer:
    """A loopback SMTP server that can be down, then up on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        # ready_timeout: aiosmtpd gives its thread 5 s to start, short on a busy machine.
        self._controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, ready_timeout=START_SECONDS
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self) -> SmtpConfig:
        return SmtpConfig(
            host="127.0.0.1", port=self.port, tls="none", mail_from="visio@mairie.example"
        )


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_down: SmtpServer) -> SmtpServer:
    smtp_down.start()
    return smtp_down


@pytest.fixture
def maker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions of the sender, inside the test's rolled-back transaction."""
    return async_sessionmaker(
        connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


def outbox_row(number: int, clock: Callable[[], Any], **fields: Any) -> dict[str, Any]:
    return {
        "kind": "booked.citizen",
        "recipient_email": f"usager{number}@example.org",
        "recipient_name": f"Usager {number}",
        "locale": "fr",
        "subject": f"Rendez-vous n°{number} confirmé",
        "body_text": f"Bonjour, votre rendez-vous n°{number} est confirmé.",
        "body_html": f"<p>Bonjour, votre rendez-vous n°{number} est confirmé.</p>",
        "ics": None,
        "ics_method": None,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": clock(),
        "created_at": clock(),
        **fields,
    }


async def queue(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    ids = list(
        (await session.execute(insert(OutboxMessage).returning(OutboxMessage.id), rows)).scalars()
    )
    await session.commit()
    return ids


async def states(session: AsyncSession) -> dict[int, Any]:
    rows = await session.execute(
        select(
            OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts,
            OutboxMessage.next_attempt_at, OutboxMessage.last_error, OutboxMessage.sent_at,
        ).order_by(OutboxMessage.id)
    )  # fmt: skip
    return {row.id: row for row in rows}


async def test_messages_arrive_whole_and_rows_end_sent(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    plain, invitation = await queue(
        session,
        [
            outbox_row(1, clock, body_html=""),
            outbox_row(2, clock, ics=ICS, ics_method="REQUEST", recipient_name="Zoé Lefèvre"),
        ],
    )
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.retried, report.failed) == (2, 0, 0)

    by_id = {str(m["Message-ID"]): (rcpt, m) for rcpt, m in smtp.recorder.messages}
    rcpt, first = by_id[f"<outbox-{plain}@mairie.example>"]
    assert rcpt == ["usager1@example.org"]
    assert first["From"] == "visio@mairie.example"
    assert first["To"] == "Usager 1 <usager1@example.org>"
    assert first["Subject"] == "Rendez-vous n°1 confirmé"
    assert first["Date"].datetime == clock()
    assert first.get_content_type() == "text/plain"
    assert "rendez-vous n°1 est confirmé" in first.get_content()

    rcpt, second = by_id[f"<outbox-{invitation}@mairie.example>"]
    assert rcpt == ["usager2@example.org"]
    assert second["To"].addresses[0].display_name == "Zoé Lefèvre"
    assert second.get_content_type() == "multipart/mixed"
    text = second.get_body(("plain",))
    html = second.get_body(("html",))
    assert text is not None and "n°2 est confirmé" in text.get_content()
    assert html is not None and "<p>Bonjour" in html.get_content()
    [calendar] = list(second.iter_attachments())
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"
    assert calendar.get_filename() == "invitation.ics"
    assert "BEGIN:VCALENDAR" in calendar.get_content()

    for row in (await states(session)).values():
        assert row.status is OutboxStatus.SENT
        assert row.sent_at == clock()
        assert row.attempts == 1
        assert row.last_error == ""


async def test_facts_no_template_can_word_fail_alone_with_the_reason(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    """A row whose facts cannot make a message (an unknown kind, a missing fact) fails for
    good with the reason, at once; the messages around it go out."""
    unknown, missing, fine = await queue(
        session,
        [
            outbox_row(1, clock, payload={"template": "no-such-one", "context": {"locale": "fr"}}),
            outbox_row(2, clock, payload={"template": "booked", "context": {"locale": "fr"}}),
            outbox_row(3, clock),
        ],
    )  # fmt: skip
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.retried, report.failed) == (1, 0, 2)
    rows = await states(session)
    assert rows[unknown].status is OutboxStatus.FAILED
    assert "no-such-one" in rows[unknown].last_error
    assert rows[missing].status is OutboxStatus.FAILED
    assert "cannot be written as an email" in rows[missing].last_error
    assert rows[fine].status is OutboxStatus.SENT
    assert [rcpt for rcpt, _message in smtp.recorder.messages] == [["usager3@example.org"]]


async def test_only_due_pending_messages_are_sent(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    later, cancelled = await queue(
        session,
        [
            # A reminder for tomorrow, and a confirmation withdrawn before it left.
            outbox_row(1, clock, next_attempt_at=clock() + timedelta(days=1)),
            outbox_row(2, clock, status=OutboxStatus.CANCELLED),
        ],
    )
    sender = OutboxSender(maker, smtp.config(), clock=clock)
    assert (await sender.send_due()).handled == 0
    clock.advance(timedelta(days=1))
    assert (await sender.send_due()).sent == 1
    assert list(smtp.recorder.message_ids()) == [f"<outbox-{later}@mairie.example>"]
    assert (await states(session))[cancelled].status is OutboxStatus.CANCELLED


async def test_asked_to_stop_it_sends_the_message_in_hand_and_gives_back_the_rest(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    """A stop (SIGTERM) while the first message of a batch of three is on its way: that one
    is sent and recorded; the other two go back to the outbox at once, due now, the attempt
    they never had not counted."""
    first, *rest = await queue(session, [outbox_row(n, clock) for n in (1, 2, 3)])
    sender = OutboxSender(maker, smtp.config(), clock=clock)
    loop = asyncio.get_running_loop()
    smtp.recorder.on_message = lambda: loop.call_soon_threadsafe(sender.stop)
    report = await sender.send_due()
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    assert list(smtp.recorder.message_ids()) == [f"<outbox-{first}@mairie.example>"]
    rows = await states(session)
    assert (rows[first].status, rows[first].attempts) == (OutboxStatus.SENT, 1)
    for message_id in rest:
        assert rows[message_id].status is OutboxStatus.PENDING
        assert (rows[message_id].attempts, rows[message_id].next_attempt_at) == (0, clock())


async def test_server_down_then_up_nothing_lost_nothing_doubled(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    smtp_down: SmtpServer,
    clock: Clock,
) -> None:
    ids = await queue(session, [outbox_row(n, clock) for n in range(45)])
    sender = OutboxSender(maker, smtp_down.config(), clock=clock, batch_size=20)
    start = clock()

    report = await sender.send_due()
    assert report.retried == 45 and report.sent == 0
    for row in (await states(session)).values():
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.next_attempt_at == start + timedelta(minutes=1)
        assert "cannot connect" in row.last_error

    # Still down a minute later: the next wait doubles.
    clock.advance(timedelta(minutes=1))
    assert (await sender.send_due()).retried == 45
    assert {row.next_attempt_at for row in (await states(session)).values()} == {
        clock() + timedelta(minutes=2)
    }
    # Before that, nothing is tried at all.
    clock.advance(timedelta(minutes=1))
    assert (await sender.send_due()).handled == 0

    smtp_down.start()
    clock.advance(timedelta(minutes=1))
    assert (await sender.send_due()).sent == 45
    assert smtp_down.recorder.message_ids() == Counter(
        f"<outbox-{id_}@mairie.example>" for id_ in ids
    )
    for row in (await states(session)).values():
        assert row.status is OutboxStatus.SENT
        assert row.attempts == 3
        assert row.last_error == ""
    assert (await sender.send_due()).handled == 0


async def test_a_refused_address_fails_alone(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    smtp.recorder.refusals = {
        "usager1@example.org": "550 5.1.1 <usager1@example.org>: no such mailbox",
        "usager3@example.org": "451 4.3.0 try again later",
    }
    first, refused, third, busy, fifth = await queue(
        session, [outbox_row(n, clock) for n in range(5)]
    )
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.failed, report.retried) == (3, 1, 1)

    rows = await states(session)
    assert rows[refused].status is OutboxStatus.FAILED
    assert rows[refused].last_error == "550 5.1.1 <usager1@example.org>: no such mailbox"
    assert rows[refused].sent_at is None
    # A 4xx is temporary: retried after the first backoff.
    assert rows[busy].status is OutboxStatus.PENDING
    assert rows[busy].last_error.startswith("451")
    assert rows[busy].next_attempt_at == clock() + timedelta(minutes=1)
    for id_ in (first, third, fifth):
        assert rows[id_].status is OutboxStatus.SENT
    assert sorted(rcpt[0] for rcpt, _m in smtp.recorder.messages) == [
        "usager0@example.org", "usager2@example.org", "usager4@example.org",
    ]  # fmt: skip


async def test_dead_after_the_last_attempt(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    smtp_down: SmtpServer,
    clock: Clock,
) -> None:
    [id_] = await queue(session, [outbox_row(1, clock)])
    sender = OutboxSender(maker, smtp_down.config(), clock=clock, max_attempts=3)
    for _ in range(2):
        assert (await sender.send_due()).retried == 1
        clock.advance(timedelta(hours=1))
    assert (await sender.send_due()).dead == 1
    row = (await states(session))[id_]
    assert row.status is OutboxStatus.DEAD
    assert row.attempts == 3
    assert "cannot connect" in row.last_error


async def test_a_lease_hides_claimed_rows_until_it_runs_out(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    """A sender that died mid-send left its rows leased: they go again after the lease."""
    [id_] = await queue(
        session,
        [outbox_row(1, clock, attempts=1, next_attempt_at=clock() + timedelta(minutes=5))],
    )
    sender = OutboxSender(maker, smtp.config(), clock=clock)
    assert (await sender.send_due()).handled == 0
    clock.advance(timedelta(minutes=5))
    assert (await sender.send_due()).sent == 1
    assert (await states(session))[id_].attempts == 2


async def test_a_row_whose_last_attempt_never_reported_is_dead(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    """Its sender died on each of the 8 attempts: a 9th would likely crash again."""
    [id_] = await queue(session, [outbox_row(1, clock, attempts=8)])
    assert (await OutboxSender(maker, smtp.config(), clock=clock).send_due()).handled == 0
    row = (await states(session))[id_]
    assert row.status is OutboxStatus.DEAD
    assert "after 8 attempts" in row.last_error
    assert smtp.recorder.messages == []


async def test_an_address_unfit_for_smtp_fails_and_the_next_one_goes(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer, clock: Clock
) -> None:
    broken, fine = await queue(
        session,
        [outbox_row(1, clock, recipient_email="usager1@example.org\r\nRCPT TO:<x@y.z>"),
         outbox_row(2, clock)],
    )  # fmt: skip
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.failed) == (1, 1)
    rows = await states(session)
    assert rows[broken].status is OutboxStatus.FAILED
    assert rows[fine].status is OutboxStatus.SENT
    assert [rcpt for rcpt, _m in smtp.recorder.messages] == [["usager2@example.org"]]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, valid for a day."""
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("tls", ["starttls", "tls"])
# The implicit TLS server below is told not to require STARTTLS for AUTH, and warns.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_tls_and_authentication(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    clock: Clock,
    tmp_path: Path,
    tls: str,
) -> None:
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    logins: list[bytes] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        assert isinstance(data, LoginPassword)
        logins.append(data.login)
        return AuthResult(success=data.password == b"mot de passe")

    recorder = Recorder()
    port = free_port()
    options: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if tls == "starttls"
        # aiosmtpd does not count implicit TLS as TLS for its AUTH rule: it is, here.
        else {"ssl_context": context, "auth_require_tls": False}
    )
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_required=True, ready_timeout=START_SECONDS, **options,
    )  # fmt: skip
    controller.start()
    try:
        [id_] = await queue(session, [outbox_row(1, clock)])
        config = SmtpConfig(
            host="127.0.0.1", port=port, tls=tls, username="visio",  # type: ignore[arg-type]
            password="mot de passe", mail_from="visio@mairie.example", ca_file=str(cert_file),
        )  # fmt: skip
        await OutboxSender(maker, config, clock=clock).send_due()
        assert (await states(session))[id_].last_error == ""
    finally:
        controller.stop()
    assert logins == [b"visio"]
    assert recorder.message_ids() == Counter({f"<outbox-{id_}@mairie.example>": 1})


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_delay(n) for n in range(1, 10)] == [
        timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60, 60)
    ]


# ---------------------------------------------------------------- two senders, one database


async def two_senders_drain(url: str, smtp: SmtpServer, messages: int = 200) -> None:
    """Two senders with their own engines empty one outbox: each message leaves once."""
    setup = make_engine(url)
    await upgrade_engine(setup)
    from visio.app import utc_now

    async with make_sessionmaker(setup)() as session, session.begin():
        await session.execute(
            insert(OutboxMessage), [outbox_row(n, utc_now) for n in range(messages)]
        )
    engines = [make_engine(url), make_engine(url)]
    try:
        senders = [
            OutboxSender(make_sessionmaker(engine), smtp.config(), batch_size=7)
            for engine in engines
        ]
        reports = await asyncio.gather(*(sender.send_due() for sender in senders))
        assert sum(report.sent for report in reports) == messages
        # Both took part: the claims interleaved rather than one sender doing it all.
        assert all(report.sent > 0 for report in reports)
        counts = smtp.recorder.message_ids()
        assert len(counts) == messages
        assert set(counts.values()) == {1}
        async with make_sessionmaker(setup)() as session:
            statuses = Counter((await session.scalars(select(OutboxMessage.status))).all())
        assert statuses == {OutboxStatus.SENT: messages}
    finally:
        for engine in [*engines, setup]:
            await engine.dispose()


@pytest.mark.postgres
async def test_two_senders_on_postgresql_send_each_message_once(
    scratch_url: str, smtp: SmtpServer
) -> None:
    await two_senders_drain(scratch_url, smtp)


async def test_two_senders_on_sqlite_send_each_message_once(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    await two_senders_drain(f"sqlite+aiosqlite:///{tmp_path / 'two.db'}", smtp)


# ---------------------------------------------------------------- inside `visio serve`


async def test_the_web_app_runs_the_sender_and_stops_it(
    aiohttp_client: Callable[..., Any], scratch_url: str, smtp: SmtpServer
) -> None:
    engine = make_engine(scratch_url)
    await upgrade_engine(engine)
    from visio.app import utc_now

    async with make_sessionmaker(engine)() as session, session.begin():
        await session.execute(insert(OutboxMessage), [outbox_row(1, utc_now)])
    await engine.dispose()
    settings = Settings(
        database_url=scratch_url,
        secret_key=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        mail_from="visio@mairie.example",
    )
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    assert await asyncio.to_thread(smtp.recorder.arrived.wait, 20)
    await client.close()  # runs the cleanup: the sender stops before the engine goes
    assert smtp.recorder.message_ids() == Counter({"<outbox-1@mairie.example>": 1})


def test_no_sender_without_smtp_or_when_disabled(database_url: str) -> None:
    from visio.keys import OUTBOX_SENDER

    base = Settings(database_url=database_url, secret_key=SECRET)
    assert OUTBOX_SENDER not in create_app(base)
    with_smtp = base.replace(smtp_host="127.0.0.1")
    assert OUTBOX_SENDER in create_app(with_smtp)
    assert OUTBOX_SENDER not in create_app(with_smtp.replace(run_worker=False))


# ---------------------------------------------------------------- from booking to inbox


async def test_a_booking_reaches_the_agent_in_their_language_with_the_invitation(
    client: Any,
    world: dict[str, Any],
    smtp: SmtpServer,
    maker: async_sessionmaker[AsyncSession],
    clock: Clock,
) -> None:
    """Booked through the API, sent by the sender: the agent's email is French, carries
    the invitation; the citizen who gave no email gets nothing (the desk prints)."""
    from tests.handlers.conftest import book

    await book(client, world, citizen={"first_name": "Jean", "last_name": "Rigal"})
    english = await book(
        client, world, start="2026-03-16T11:00:00+01:00",
        citizen={"first_name": "Ann", "last_name": "Baker", "email": "ann@courriel.example",
                 "locale": "en"},
    )  # fmt: skip
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert report.sent == 3  # two confirmations to the agent, one to Ann; reminders wait
    received = {
        (tuple(rcpt), str(message["Subject"])): message for rcpt, message in smtp.recorder.messages
    }
    to_agent = [m for (rcpt, _s), m in received.items() if rcpt == ("isabelle.delmas@caf.example",)]
    assert len(to_agent) == 2
    assert all(str(m["Subject"]).startswith("Rendez-vous en visio à France Services Murat")
               for m in to_agent)  # fmt: skip
    calendars = [part for part in to_agent[0].walk() if part.get_content_type() == "text/calendar"]
    assert calendars and calendars[0].get_param("method") == "REQUEST"
    to_ann = [m for (rcpt, _s), m in received.items() if rcpt == ("ann@courriel.example",)]
    assert len(to_ann) == 1
    assert str(to_ann[0]["Subject"]).startswith("Your visio appointment with")
    text = to_ann[0].get_body(preferencelist=("plain",))
    assert text is not None and "Please bring:" in text.get_content()
    assert english["reference"] in text.get_content()
    assert not any("rigal" in rcpt[0] for rcpt, _s in received)


async def test_the_sender_says_of_each_message_the_request_that_queued_it(
    client: Any,
    world: Any,
    smtp: SmtpServer,
    maker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A booking's messages keep its request id; the sender's line about each message, sent
    or not, carries that id, so a reference quoted on the phone leads to the emails too."""
    from tests.handlers.conftest import booking

    response = await client.post(
        "/api/v1/appointments", json=booking(world),
        headers={**world.headers, "X-Request-Id": "desk-booking-0042"},
    )  # fmt: skip
    assert response.status == 201
    queued = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.request_id).order_by(
                OutboxMessage.id
            )
        )
    ).all()
    # The agent's and the citizen's confirmations, and their reminders: all of this request.
    assert {kind for _id, kind, _rid in queued} >= {"booked.agent", "booked.citizen"}
    assert {request_id for _id, _kind, request_id in queued} == {"desk-booking-0042"}
    refused = "monique.chassang@courriel.example"
    smtp.recorder.refusals = {refused: f"550 5.1.1 <{refused}>: no such mailbox"}
    with caplog.at_level("INFO", logger="visio.notify.sender"):
        report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.failed) == (1, 1)  # reminders wait for their time
    lines = {
        record.getMessage(): getattr(record, "request_id", None)
        for record in caplog.records
        if record.getMessage().startswith("outbox: message ")
    }
    agent_id = next(i for i, kind, _rid in queued if kind == "booked.agent")
    citizen_id = next(i for i, kind, _rid in queued if kind == "booked.citizen")
    assert lines == {
        f"outbox: message {agent_id} (booked.agent) sent": "desk-booking-0042",
        f"outbox: message {citizen_id} (booked.citizen) refused for good": "desk-booking-0042",
    }


async def test_a_message_queued_outside_a_request_has_no_request_id(
    session: AsyncSession, maker: async_sessionmaker[AsyncSession], smtp: SmtpServer,
    clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    (message_id,) = await queue(session, [outbox_row(1, clock)])
    assert await session.scalar(
        select(OutboxMessage.request_id).where(OutboxMessage.id == message_id)
    ) is None  # fmt: skip
    with caplog.at_level("INFO", logger="visio.notify.sender"):
        await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    (record,) = [r for r in caplog.records if r.getMessage().startswith("outbox: message ")]
    assert getattr(record, "request_id", None) == "-"


@pytest.mark.postgres
def test_two_worker_processes_on_postgresql_send_each_message_once(
    scratch_url: str, smtp: SmtpServer
) -> None:
    """Two `visio worker` processes share one outbox: 1,000 messages, each delivered once
    (enough for both to be at work together whichever starts first)."""
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from visio.app import utc_now

    MESSAGES = 1000

    async def fill() -> None:
        engine = make_engine(scratch_url)
        try:
            await upgrade_engine(engine)
            async with make_sessionmaker(engine)() as session, session.begin():
                await session.execute(
                    insert(OutboxMessage), [outbox_row(n, utc_now) for n in range(MESSAGES)]
                )
        finally:
            await engine.dispose()

    asyncio.run(fill())
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIO_")}
    env.update(VISIO_DATABASE_URL=scratch_url, VISIO_SMTP_HOST="127.0.0.1",
               VISIO_SMTP_PORT=str(smtp.port), VISIO_SMTP_TLS="none")  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "visio", "worker"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(smtp.recorder.messages) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # a doubled send would arrive now
    finally:
        logs = []
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            logs.append(worker.communicate(timeout=30)[1])
    counts = smtp.recorder.message_ids()
    assert len(counts) == MESSAGES, logs
    assert set(counts.values()) == {1}
    # Both processes took part.
    assert all(re.search(r"outbox: [1-9]\d* sent", log) for log in logs), logs
