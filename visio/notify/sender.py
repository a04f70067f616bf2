"""The outbox sender: claims due messages, delivers them over SMTP, records what happened.

Delivery is *at least once*. A batch is claimed in a short transaction that leases its
rows (their `next_attempt_at` moves to the end of the lease and `attempts` goes up), the
transaction commits, and only then are the messages sent. Should the process die while
sending, the lease runs out and another pass takes the rows again; a resent message keeps
its `Message-ID`, so mail clients and people can tell it is the same one.

Two senders never take the same row: on PostgreSQL the claim skips rows another sender
has locked (`FOR UPDATE SKIP LOCKED`) and the committed lease hides the rest; SQLite has a
single writer (transactions begin with BEGIN IMMEDIATE), so claims simply queue.

Outcomes, per message:

- accepted by the server: `sent`, with `sent_at`;
- refused for good (a 5xx reply to RCPT TO or to the message itself): `failed`, with the
  server's reason in `last_error`; the other messages go on;
- anything temporary (no connection, a 4xx reply, a timeout, a refusal of our own sender
  address or credentials, which is a configuration problem the next attempt may not
  have): retried after 1, 2, 4… minutes (at most one hour), then `dead` after
  `max_attempts` attempts;
- no outcome at all after the last attempt (its sender died each time): `dead` when
  that lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import aiosmtplib
import jinja2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from visio.db.outage import unreachable
from visio.db.statements import outbox
from visio.db.statements.outbox import ClaimedRow, Outcome
from visio.domain import OutboxStatus
from visio.logs import current_request_id
from visio.notify.mime import build_email

log = logging.getLogger(__name__)

# How a message's outcome reads in the log.
_SAID = {
    OutboxStatus.SENT: "sent",
    OutboxStatus.PENDING: "to retry",
    OutboxStatus.FAILED: "refused for good",
    OutboxStatus.DEAD: "given up",
}

Clock = Callable[[], datetime]
SmtpTls = Literal["none", "starttls", "tls"]

# How long a claimed batch belongs to its sender; a crash is retried once it runs out.
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_BATCH_SIZE = 20
DEFAULT_MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
# last_error keeps the reason, not a novel.
MAX_ERROR_LENGTH = 1000


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to hand messages over: the VISIO_SMTP_* and VISIO_MAIL_FROM settings."""

    host: str
    port: int = 587
    tls: SmtpTls = "starttls"
    username: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    mail_from: str = "visio@localhost"
    # Seconds to wait for any one reply of the server.
    timeout: float = 30.0
    # A CA bundle to trust besides the system's (a relay with a private certificate).
    ca_file: str | None = None

    @property
    def domain(self) -> str:
        """The domain of the sender address, for Message-IDs."""
        return self.mail_from.rpartition("@")[2] or "localhost"


@dataclasses.dataclass(slots=True)
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.dead


class _Permanent(Exception):
    """The server refused this message for good."""


class _Temporary(Exception):
    """This attempt failed; a later one may succeed."""


class _Unreachable(_Temporary):
    """No connection to the server could be made."""


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1 min, 2, 4… never more than 1 h."""
    doublings = min(max(attempts - 1, 0), 6)  # 2**6 minutes already pass the hour
    delay: timedelta = FIRST_RETRY * 2**doublings
    return min(delay, LONGEST_RETRY)


class OutboxSender:
    """Delivers the outbox's due messages through one SMTP server.

    `send_due()` drains what is due now and returns; `run()` repeats it every
    `poll_interval` seconds until `stop()`. The clock is injectable for tests.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: SmtpConfig,
        *,
        clock: Clock = utc_now,
        batch_size: int = DEFAULT_BATCH_SIZE,
        lease: timedelta = DEFAULT_LEASE,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        poll_interval: float = 1.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._config = config
        self._clock = clock
        self._batch_size = batch_size
        self._lease = lease
        self._max_attempts = max_attempts
        self._poll_interval = poll_interval
        self._smtp: aiosmtplib.SMTP | None = None
        self._stopping = asyncio.Event()

    # ------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Send due messages until `stop()`; database or server trouble never ends the loop."""
        database_out = False
        while not self._stopping.is_set():
            try:
                report = await self.send_due()
                if report.handled:
                    log.info(
                        "outbox: %d sent, %d to retry, %d failed, %d dead",
                        report.sent, report.retried, report.failed, report.dead,
                    )  # fmt: skip
            except Exception as error:
                # The database may be restarting: the leases keep the rows safe meanwhile.
                if not unreachable(error):
                    log.exception("outbox: pass interrupted, trying again shortly")
                elif not database_out:  # said once, not at every pass while it lasts
                    log.warning("outbox: the database cannot be reached; trying again")
                database_out = unreachable(error)
            else:
                if database_out:
                    log.warning("outbox: the database answers again")
                database_out = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll_interval)
        await self.close()

    def stop(self) -> None:
        """Ask `run()` to return once the batch in hand is done."""
        self._stopping.set()

    async def close(self) -> None:
        """Close the SMTP connection, if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def send_due(self) -> SendReport:
        """Claim and send batches until nothing is due; one connection serves them all."""
        report = SendReport()
        try:
            while not self._stopping.is_set():
                batch = await self._claim()
                if not batch:
                    break
                await self._deliver(batch, report)
        finally:
            # Idle between passes: no connection held open on the server meanwhile.
            await self.close()
        return report

    # ------------------------------------------------------------ claiming

    async def _claim(self) -> list[ClaimedRow]:
        now = self._clock()
        async with self._sessionmaker() as session, session.begin():
            connection = await session.connection()
            # First the rows whose lease ran out after their last attempt: their sender died
            # every time (a message that crashes the process would come back forever).
            await connection.execute(
                outbox.bury_unanswered(),
                {"now": now, "max_attempts": self._max_attempts,
                 "reason": f"no outcome recorded after {self._max_attempts} attempts"},
            )  # fmt: skip
            rows = await connection.execute(
                outbox.claim_due(),
                {"now": now, "batch_size": self._batch_size, "lease_until": now + self._lease},
            )
            claimed = [ClaimedRow._make(row) for row in rows]
        return sorted(claimed, key=lambda message: message.id)

    # ------------------------------------------------------------ sending

    async def _deliver(self, batch: Sequence[ClaimedRow], report: SendReport) -> None:
        outcomes: list[Outcome] = []
        untried: Sequence[ClaimedRow] = ()
        # Past half the lease (a server answering very slowly), the rest of the batch is left
        # alone: it goes back to the outbox when the lease ends, before anyone could think
        # this sender dead while it still sends.
        deadline = self._clock() + self._lease / 2
        for position, message in enumerate(batch):
            if self._clock() > deadline:
                break
            if self._stopping.is_set():
                # Stopping (SIGTERM): after the message in hand, not the whole batch; the
                # rest goes back to the outbox at once, for the next sender.
                untried = batch[position:]
                break
            # Every line about a message carries the id of the request that queued it.
            queued_by = current_request_id.set(message.request_id)
            try:
                done = len(outcomes)
                stop = await self._attempt(batch, position, outcomes, report)
            finally:
                current_request_id.reset(queued_by)
            for outcome, told in zip(outcomes[done:], batch[position:], strict=False):
                _log_outcome(told, outcome)
            if stop:
                break
        await self._record(outcomes, untried)

    async def _attempt(
        self,
        batch: Sequence[ClaimedRow],
        position: int,
        outcomes: list[Outcome],
        report: SendReport,
    ) -> bool:
        """Send the message at `position`, adding its outcome (and, when the server cannot be
        reached, those of the rest of the batch, which wait as well); whether to stop."""
        message = batch[position]
        try:
            await self._send(message)
        except _Permanent as refusal:
            outcomes.append(self._outcome(message, OutboxStatus.FAILED, str(refusal)))
            report.failed += 1
        except _Unreachable as trouble:
            # No connection to be had: the rest of the batch waits as well, rather than
            # knocking on a closed door once per message.
            for waiting in batch[position:]:
                outcomes.append(self._retry(waiting, str(trouble), report))
            return True
        except _Temporary as trouble:
            outcomes.append(self._retry(message, str(trouble), report))
        except Exception as error:
            # Not foreseen: this message waits and retries, the batch goes on.
            log.exception("outbox: message %d could not be sent", message.id)
            outcomes.append(self._retry(message, f"{type(error).__name__}: {error}", report))
        else:
            outcomes.append(self._outcome(message, OutboxStatus.SENT, ""))
            report.sent += 1
        return False

    def _retry(self, message: ClaimedRow, error: str, report: SendReport) -> Outcome:
        if message.attempts >= self._max_attempts:
            report.dead += 1
            return self._outcome(message, OutboxStatus.DEAD, error)
        report.retried += 1
        retry_at = self._clock() + retry_delay(message.attempts)
        return self._outcome(message, OutboxStatus.PENDING, error, retry_at=retry_at)

    def _outcome(
        self,
        message: ClaimedRow,
        status: OutboxStatus,
        error: str,
        *,
        retry_at: datetime | None = None,
    ) -> Outcome:
        return Outcome(
            message_id=message.id,
            claimed_attempts=message.attempts,
            outcome=status,
            error=error[:MAX_ERROR_LENGTH],
            delivered_at=self._clock() if status is OutboxStatus.SENT else None,
            retry_at=retry_at,
        )

    async def _record(self, outcomes: list[Outcome], untried: Sequence[ClaimedRow] = ()) -> None:
        """Write every outcome of a batch in one transaction, fenced by `attempts` (see
        `visio.db.statements.outbox.settle`), and give back the messages left untried."""
        retries = [outcome for outcome in outcomes if outcome["retry_at"] is not None]
        finals = [outcome for outcome in outcomes if outcome["retry_at"] is None]
        async with self._sessionmaker() as session, session.begin():
            connection = await session.connection()
            if finals:
                await connection.execute(outbox.settle(), finals)
            if retries:
                await connection.execute(outbox.postpone(), retries)
            if untried:
                now = self._clock()
                await connection.execute(
                    outbox.release(),
                    [{"message_id": message.id, "claimed_attempts": message.attempts,
                      "retry_at": now} for message in untried],
                )  # fmt: skip

    async def _send(self, message: ClaimedRow) -> None:
        """Hand one message to the server; raise `_Permanent` or `_Temporary` if it is not taken."""
        try:
            # Serialized once, here: cheaper than letting the client copy and flatten it.
            data = build_email(message, self._config, self._clock()).as_bytes()
        except (ValueError, TypeError, KeyError, jinja2.TemplateError) as error:
            # Facts no template can word (a bug, or a row written by hand): a retry would
            # not help, the reason is kept for whoever looks.
            raise _Permanent(f"cannot be written as an email: {error!r}") from None
        for last_try in (False, True):
            smtp = await self._connection()
            options = []
            if not message.recipient_email.isascii() and smtp.supports_extension("smtputf8"):
                options.append("SMTPUTF8")  # an internationalised mailbox name
            try:
                await smtp.sendmail(
                    self._config.mail_from,
                    [message.recipient_email],
                    data,
                    mail_options=options,
                )
                return
            except aiosmtplib.SMTPRecipientsRefused as refused:
                raise _classify(refused.recipients[0]) from None
            except aiosmtplib.SMTPDataError as refused:
                raise _classify(refused) from None
            except ValueError as error:
                # An address that cannot go on an SMTP command line (a line break…); the
                # transaction was left half-way, so the connection goes too.
                await self._drop()
                raise _Permanent(f"invalid address: {error}") from None
            except aiosmtplib.SMTPServerDisconnected as error:
                # A connection kept from the previous message may have been closed by the
                # server meanwhile: one fresh connection, then give up for this attempt.
                await self._drop()
                if last_try:
                    raise _Temporary(f"connection lost: {error}") from None
            except aiosmtplib.SMTPResponseException as refused:
                # Our own sender address or credentials refused: not this message's fault.
                await self._drop()
                raise _Temporary(f"{refused.code} {refused.message}") from None
            except (aiosmtplib.SMTPException, OSError) as error:
                await self._drop()
                raise _Temporary(f"{type(error).__name__}: {error}") from None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        config = self._config
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.tls == "tls",
            start_tls=config.tls == "starttls",
            timeout=config.timeout,
            cert_bundle=config.ca_file,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            smtp.close()
            self._smtp = None
            raise _Unreachable(
                f"cannot connect to {config.host}:{config.port}: {_reason(error)}"
            ) from None
        self._smtp = smtp
        return smtp

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"{error.code} {error.message}"
    return str(error) or type(error).__name__


def _classify(refusal: aiosmtplib.SMTPResponseException) -> _Permanent | _Temporary:
    """5xx is the server's final word on this message; 4xx asks to try again later."""
    reason = f"{refusal.code} {refusal.message}"
    return _Permanent(reason) if 500 <= refusal.code < 600 else _Temporary(reason)


async def send_due_messages(
    sessionmaker: async_sessionmaker[AsyncSession],
    config: SmtpConfig,
    *,
    clock: Clock = utc_now,
) -> SendReport:
    """One pass over the outbox with a sender of default settings (scripts, tests)."""
    return await OutboxSender(sessionmaker, config, clock=clock).send_due()


def _log_outcome(message: ClaimedRow, outcome: Outcome) -> None:
    """One line per message handled, under the id of the request that queued it."""
    log.info(
        "outbox: message %d (%s) %s", message.id, message.kind, _SAID[outcome["outcome"]],
        extra={"request_id": message.request_id or "-"},
    )  # fmt: skip
