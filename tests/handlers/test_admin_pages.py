"""The outbox pages: administrators read the emails as they are, or would be, sent, in
words (statuses and kinds), a page at a time, and send a refused message again."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Clock
from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from tests.notify.test_sender import SmtpServer, maker, smtp, smtp_down  # noqa: F401 (fixtures)
from visio.db.models import AuditEntry, OutboxMessage, OutboxStatus, Role
from visio.notify.sender import OutboxSender

ADMIN = "root@visio.example"
AGENT = "isabelle.delmas@caf.example"


async def admin_signed_in(client: Any, create_user: Any) -> None:
    await create_user(Role.ADMIN, email=ADMIN, name="Rose Admin", password=PASSWORD)
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303


def worded(number: int, clock: Clock, **fields: Any) -> OutboxMessage:
    """A message queued already worded (as scripts queue them)."""
    values: dict[str, Any] = {
        "kind": "reminder.citizen", "recipient_email": f"usager{number}@courriel.example",
        "recipient_name": f"Usager {number}", "locale": "fr", "subject": f"Message {number}",
        "body_text": "Bonjour.", "status": OutboxStatus.PENDING, "attempts": 0,
        "next_attempt_at": clock(), "created_at": clock(), **fields,
    }  # fmt: skip
    return OutboxMessage(**values)


async def test_the_admin_reads_the_outbox(client: Any, world: World, create_user: Any) -> None:
    booked = await book(client, world)
    await admin_signed_in(client, create_user)
    home = await client.get("/")
    assert "/admin/outbox" in await home.text()
    listing = await client.get("/admin/outbox", params={"status": "pending"})
    assert listing.status == 200
    html = unescape(await listing.text())
    assert "Aucun serveur SMTP n'est configuré" in html
    assert AGENT in html and "Confirmation de rendez-vous, à l'agent partenaire" in html
    assert ">à envoyer<" in html and "booked.agent" not in html
    assert booked["reference"] in html  # the appointment, linked
    assert form_token(html)
    first = html.split('href="/admin/outbox/')[1].split('"')[0]
    message = await client.get(f"/admin/outbox/{first}")
    assert message.status == 200
    text = await message.text()
    assert "BEGIN:VCALENDAR" in text or "Rappel" in text
    assert booked["reference"] in text
    assert "Renvoyer" not in text  # a pending message is not sent again
    assert (await client.get("/admin/outbox/424242")).status == 404


async def test_statuses_and_kinds_are_words_in_either_language(
    client: Any, create_user: Any, session: AsyncSession, clock: Clock
) -> None:
    kinds = ["booked.agent", "cancelled.citizen", "rescheduled.agent", "reminder.citizen"]
    session.add_all(
        worded(number, clock, status=status, kind=kinds[number % 4])
        for number, status in enumerate(OutboxStatus)
    )
    await session.flush()
    await admin_signed_in(client, create_user)
    french = unescape(await (await client.get("/admin/outbox")).text())
    for word in ("à envoyer", "envoyé", "refusé par le serveur", "abandonné", "retiré",
                 "Confirmation de rendez-vous, à l'agent partenaire", "Annulation, à l'usager",
                 "Changement d'horaire, à l'agent partenaire", "Rappel, à l'usager"):  # fmt: skip
        assert f">{word}<" in french, word
    client.session.cookie_jar.update_cookies({"visio_lang": "en"})
    english = unescape(await (await client.get("/admin/outbox")).text())
    for word in ("to send", "sent", "refused by the server", "given up", "withdrawn",
                 "Booking confirmation, to the partner agent", "Cancellation, to the citizen",
                 "Change of time, to the partner agent", "Reminder, to the citizen"):  # fmt: skip
        assert f">{word}<" in english, word
    # The status filter offers the same words.
    assert '<option value="failed">refused by the server</option>' in english


async def test_the_outbox_pages_and_filters(
    client: Any, create_user: Any, session: AsyncSession, clock: Clock
) -> None:
    session.add_all(worded(number, clock) for number in range(1, 61))
    session.add(worded(61, clock, kind="booked.agent", recipient_email="claire@caf.example"))
    await session.flush()
    await admin_signed_in(client, create_user)

    first = await (await client.get("/admin/outbox")).text()
    assert "61 messages" in first and "Page 1 sur 2" in first
    assert "claire@caf.example" in first and "usager12@" in first and "usager11@" not in first
    assert 'rel="next"' in first and 'href="/admin/outbox?page=2"' in first
    second = await (await client.get("/admin/outbox", params={"page": "2"})).text()
    assert "usager11@" in second and "usager1@" in second and "usager12@" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second

    booked_only = await (await client.get("/admin/outbox", params={"kind": "booked"})).text()
    assert "1 message<" in booked_only and "claire@caf.example" in booked_only
    by_address = await (await client.get("/admin/outbox", params={"q": "USAGER42@"})).text()
    assert "1 message<" in by_address and "usager42@" in by_address
    # Filters stay in the pages' links.
    reminders = await (await client.get("/admin/outbox", params={"kind": "reminder"})).text()
    assert "60 messages" in reminders and "kind=reminder&amp;page=2" in reminders


async def test_a_message_about_an_appointment_is_found_by_its_reference(
    client: Any, world: World, create_user: Any
) -> None:
    booked = await book(client, world)
    await admin_signed_in(client, create_user)
    html = await (await client.get("/admin/outbox", params={"q": booked["reference"]})).text()
    assert AGENT in html and "monique.chassang@courriel.example" in html
    other = await (await client.get("/admin/outbox", params={"q": "V-999999"})).text()
    assert "0 message<" in other and "Aucun message." in other


async def _fail_the_agents_confirmation(
    client: Any,
    world: World,
    sessions: async_sessionmaker[AsyncSession],
    server: SmtpServer,
    clock: Clock,
) -> tuple[int, int]:
    """Book; the server refuses the agent's address for good: the agent's confirmation
    fails, the citizen's goes. Their ids."""
    await book(client, world)
    server.recorder.refusals[AGENT] = "550 5.1.1 No such mailbox here"
    report = await OutboxSender(sessions, server.config(), clock=clock).send_due()
    assert (report.sent, report.failed) == (1, 1)
    async with sessions() as session:
        found = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.id).where(
                OutboxMessage.kind.in_(["booked.agent", "booked.citizen"])
            )
        )
        ids = {kind: message_id for kind, message_id in found}
    return ids["booked.agent"], ids["booked.citizen"]


async def test_a_refused_message_is_sent_again(
    client: Any,
    world: World,
    create_user: Any,
    maker: async_sessionmaker[AsyncSession],  # noqa: F811
    smtp: SmtpServer,  # noqa: F811
    clock: Clock,
) -> None:
    failed_id, sent_id = await _fail_the_agents_confirmation(client, world, maker, smtp, clock)
    await admin_signed_in(client, create_user)
    page = await (await client.get(f"/admin/outbox/{failed_id}")).text()
    assert "refusé par le serveur" in page and "550 5.1.1 No such mailbox here" in page
    assert "Renvoyer" in page

    # The address is put right at the mail server; an hour later the admin sends again.
    del smtp.recorder.refusals[AGENT]
    clock.advance(timedelta(hours=1))
    response = await client.post(
        f"/admin/outbox/{failed_id}/resend", data={"csrf_token": form_token(page)},
        allow_redirects=False,
    )  # fmt: skip
    assert response.status == 303
    assert response.headers["Location"] == f"/admin/outbox/{failed_id}?done=resent"
    after = unescape(await (await client.get(response.headers["Location"])).text())
    assert "Le message est de nouveau en file d'attente" in after and ">à envoyer<" in after
    async with maker() as session:
        message = await session.get_one(OutboxMessage, failed_id)
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
        assert message.next_attempt_at == clock()
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "message.resend"))
        ).one()
    assert (entry.entity, entry.entity_id) == ("outbox_message", failed_id)
    assert entry.details == {"kind": "booked.agent", "status": "failed", "attempts": 1}

    received = len(smtp.recorder.messages)
    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert (report.sent, report.failed) == (1, 0)
    recipients, email = smtp.recorder.messages[received]
    assert recipients == [AGENT] and "France Services Murat" in str(email["Subject"])
    async with maker() as session:
        message = await session.get_one(OutboxMessage, failed_id)
        assert message.status is OutboxStatus.SENT

    # Sent now: not again.
    refused = await client.post(
        f"/admin/outbox/{sent_id}/resend", data={"csrf_token": form_token(page)}
    )
    assert refused.status == 409
    assert "Ce message a déjà été remis" in unescape(await refused.text())


async def test_a_confirmation_of_a_cancelled_appointment_is_not_sent_again(
    client: Any,
    world: World,
    create_user: Any,
    maker: async_sessionmaker[AsyncSession],  # noqa: F811
    smtp: SmtpServer,  # noqa: F811
    clock: Clock,
) -> None:
    failed_id, _sent = await _fail_the_agents_confirmation(client, world, maker, smtp, clock)
    appointment = await client.get("/api/v1/appointments", headers=world.headers)
    [booked] = await appointment.json()
    cancel = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={}, headers=world.headers
    )
    assert cancel.status == 200, await cancel.text()
    await admin_signed_in(client, create_user)
    page = await (await client.get(f"/admin/outbox/{failed_id}")).text()
    refused = await client.post(
        f"/admin/outbox/{failed_id}/resend", data={"csrf_token": form_token(page)}
    )
    assert refused.status == 409
    assert "Son rendez-vous a changé ou commencé depuis" in unescape(await refused.text())
    async with maker() as session:
        message = await session.get_one(OutboxMessage, failed_id)
        assert message.status is OutboxStatus.FAILED


async def test_the_outbox_is_for_admins_only(
    client: Any, world: World, create_user: Any, session: AsyncSession, clock: Clock
) -> None:
    message = worded(1, clock, status=OutboxStatus.FAILED)
    session.add(message)
    await session.flush()
    anonymous = await client.get("/admin/outbox", allow_redirects=False)
    assert anonymous.status == 303  # to the sign-in page
    assert anonymous.headers["Location"].startswith("/login")
    resend = await client.post(f"/admin/outbox/{message.id}/resend", allow_redirects=False)
    assert resend.status == 303 and resend.headers["Location"].startswith("/login")

    await create_user(
        Role.DESK, email="desk2@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "desk2@visio.example", PASSWORD)).status == 303
    response = await client.get("/admin/outbox", allow_redirects=False)
    assert response.status == 403
    home = await (await client.get("/")).text()
    refused = await client.post(
        f"/admin/outbox/{message.id}/resend", data={"csrf_token": form_token(home)},
        allow_redirects=False,
    )  # fmt: skip
    assert refused.status == 403
    await session.refresh(message)
    assert message.status is OutboxStatus.FAILED
