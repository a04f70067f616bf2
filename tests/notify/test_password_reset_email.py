"""A password reset link, from the administrator's click to the owner's inbox (a real SMTP
server, aiosmtpd on loopback) and back to the page where the link sets the password."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Clock
from tests.handlers.conftest import World
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from tests.notify.test_sender import SmtpServer, maker, smtp, smtp_down  # noqa: F401 (fixtures)
from visio.app import create_app
from visio.db.models import Role, User
from visio.notify.sender import OutboxSender
from visio.settings import Settings

NEW_PASSWORD = "mon nouveau mot de passe"


async def test_the_link_reaches_its_owner_in_their_language_and_works(
    aiohttp_client: Any,
    settings: Settings,
    clock: Clock,
    connection: Any,
    world: World,
    create_user: Any,
    session: AsyncSession,
    smtp: SmtpServer,  # noqa: F811
    maker: async_sessionmaker[AsyncSession],  # noqa: F811
) -> None:
    desk = await session.get_one(User, world.desk.id)
    desk.locale = "en"
    await create_user(Role.ADMIN, email="root@visio.example", password=PASSWORD)
    await session.commit()
    with_smtp = settings.replace(
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_tls="none",
        base_url="http://visio.example",
    )  # fmt: skip
    client = await aiohttp_client(create_app(with_smtp, clock=clock, bind=connection))
    assert (await sign_in(client, "root@visio.example", PASSWORD)).status == 303
    page = await client.get(f"/admin/users/{world.desk.id}")
    sent = await client.post(
        f"/admin/users/{world.desk.id}/password-reset",
        data={"csrf_token": form_token(await page.text())},
        allow_redirects=False,
    )
    assert sent.status == 303

    report = await OutboxSender(maker, smtp.config(), clock=clock).send_due()
    assert report.sent == 1
    [(recipients, message)] = smtp.recorder.messages
    assert recipients == [world.desk.email]
    assert message["To"].addresses[0].display_name == "Agnès Chastel"
    assert str(message["Subject"]) == "visio: choose a new password"
    assert not [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    body = text.get_content()
    assert "Hello Agnès Chastel," in body and "within 24 hours" in body
    found = re.search(r"http://visio\.example(/password/reset/visio_reset_[\w-]+)", body)
    assert found, body
    assert f'href="{found.group(0)}"' in html.get_content()

    # The owner opens the link (signed out) and sets the password once.
    await client.post("/logout", data={"csrf_token": form_token(await page.text())})
    form = await client.get(found.group(1))
    assert form.status == 200
    done = await client.post(
        found.group(1),
        data={"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
              "csrf_token": form_token(await form.text())},
        allow_redirects=False,
    )  # fmt: skip
    assert done.status == 303
    assert (await sign_in(client, world.desk.email, NEW_PASSWORD)).status == 303
    assert (await client.get(found.group(1))).status == 404
