"""An outbox message as the MIME email handed to the SMTP server."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Protocol

from visio.notify.compose import OutboxRow, content


class Outgoing(OutboxRow, Protocol):
    """What an email is made of: the row's message (see `content`) and its id."""

    @property
    def id(self) -> int: ...


class SenderAddress(Protocol):
    """Who sends (`visio.notify.sender.SmtpConfig`)."""

    @property
    def mail_from(self) -> str: ...

    @property
    def domain(self) -> str: ...


class _Headers(HeaderRegistry):
    """The standard header registry, but making each header's class once, not per use.

    The stock registry builds a new class every time a header is set or read, which made
    up a fifth of the sender's time per message.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# CRLF line ends and RFC 2047 encoded headers, as SMTP wants them.
SMTP_POLICY = policy.SMTP.clone(header_factory=_Headers())


def build_email(message: Outgoing, config: SenderAddress, now: datetime) -> EmailMessage:
    """The MIME message of an outbox row: text, HTML alternative, calendar invitation,
    worded from the row's facts (see `visio.notify.compose`).

    Every part is quoted-printable: the message is 7-bit clean, so any server takes it
    as it is, without the 8BITMIME extension nor a second encoding pass.
    """
    words = content(message)
    email = EmailMessage(policy=SMTP_POLICY)
    email["From"] = config.mail_from
    email["To"] = formataddr((message.recipient_name, message.recipient_email))
    email["Subject"] = words.subject
    email["Date"] = format_datetime(now)
    # Stable per row: a message sent again after a crash is recognisably the same one.
    email["Message-ID"] = f"<outbox-{message.id}@{config.domain}>"
    email.set_content(words.text, cte="quoted-printable")
    if words.html:
        email.add_alternative(words.html, subtype="html", cte="quoted-printable")
    if words.ics:
        email.add_attachment(
            words.ics,
            subtype="calendar",
            filename="invitation.ics",
            cte="quoted-printable",
            params={"method": (words.ics_method or "PUBLISH").upper()},
        )
    return email
