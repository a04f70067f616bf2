"""Personal data at the edges of visio: the daily purge inside `visio serve`, and the
commands `visio purge`, `visio citizens export --id N` and `visio citizens erase --id N`
(see `visio.services.retention` for what they do)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from visio.db.engine import make_engine, make_sessionmaker
from visio.domain import Role
from visio.services import accounts, retention
from visio.services.errors import NotFound
from visio.services.retention import ErasureReport, PurgeReport, UpcomingAppointments
from visio.settings import Settings

log = logging.getLogger(__name__)

# How often the job looks whether today's purge is done (seconds): it runs on the first
# look of each day, whichever process makes it, and costs one small query otherwise.
PURGE_CHECK_SECONDS = 3600.0


class Refused(Exception):
    """A command that cannot be done, in one line for the terminal."""


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- the daily job


class DailyPurge:
    """The retention purge, once a day, beside the web server: each process looks every
    `interval` seconds; the first look of a day that finds no purge done that day (by any
    process, or by `visio purge`) runs it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _now,
        interval: float = PURGE_CHECK_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._clock = clock
        self._interval = interval
        self._stopping = asyncio.Event()

    async def run_once(self) -> PurgeReport | None:
        """Purge now if no process has today; None when nothing was done. One transaction:
        stopped in the middle, nothing is half-erased."""
        async with self._sessions() as session, session.begin():
            report = await retention.daily_purge(
                session, now=self._clock(), retention_days=self._settings.retention_days,
                audit_retention_days=self._settings.audit_retention_days,
            )  # fmt: skip
        if report is not None:
            log.info(
                "retention purge: %d citizens erased, %d audit entries deleted",
                report.citizens, report.audit_entries,
            )  # fmt: skip
        return report

    async def run(self) -> None:
        """Look, then wait `interval`, until `stop()`. A database that does not answer is
        one log line; the next look tries again."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except (SQLAlchemyError, OSError) as error:
                log.warning("retention purge not done, tried again later: %s", _first_line(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)

    def stop(self) -> None:
        self._stopping.set()


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------- the commands


async def purge(settings: Settings, *, dry_run: bool) -> PurgeReport:
    """`visio purge`: the purge at once (whatever ran today), in one transaction."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await retention.purge(
                session, now=_now(), retention_days=settings.retention_days,
                audit_retention_days=settings.audit_retention_days, dry_run=dry_run,
            )  # fmt: skip
    except (SQLAlchemyError, OSError) as error:
        raise Refused(f"cannot purge: {_first_line(error)}") from None
    finally:
        await engine.dispose()


def purge_lines(report: PurgeReport) -> list[str]:
    """The purge's counts for the terminal."""
    before, audit_before = report.before.date().isoformat(), report.audit_before.date().isoformat()
    if report.dry_run:
        return [
            f"would erase {report.citizens} citizens whose last appointment ended before "
            f"{before} ({report.appointments} appointments, {report.messages} messages)",
            f"would delete {report.audit_entries} audit entries older than {audit_before}",
            "nothing changed (--dry-run)",
        ]
    return [
        f"erased {report.citizens} citizens whose last appointment ended before {before} "
        f"({report.appointments} appointments, {report.messages} messages)",
        f"deleted {report.audit_entries} audit entries older than {audit_before}",
    ]


async def _actor_id(session: AsyncSession, as_email: str | None) -> int | None:
    """The administrator the command acts as (`--as`), None for the command line itself."""
    if as_email is None:
        return None
    user = await accounts.find_user_by_email(session, as_email)
    if user is None or not user.active:
        raise Refused(f"no active account with the email {as_email}")
    if user.role is not Role.ADMIN:
        raise Refused(f"{as_email} is not an administrator")
    return user.id


async def export_citizen(
    settings: Settings, citizen_id: int, as_email: str | None
) -> dict[str, object]:
    """`visio citizens export`: everything held about one citizen (audited)."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            actor_id = await _actor_id(session, as_email)
            return await retention.export_citizen(
                session, citizen_id, actor_id=actor_id, now=_now()
            )
    except NotFound:
        raise Refused(f"no citizen with the id {citizen_id}") from None
    except (SQLAlchemyError, OSError) as error:
        raise Refused(f"cannot export: {_first_line(error)}") from None
    finally:
        await engine.dispose()


async def erase_citizen(settings: Settings, citizen_id: int, as_email: str | None) -> str:
    """`visio citizens erase`: one citizen erased at once (audited); what was done."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            actor_id = await _actor_id(session, as_email)
            report = await retention.erase_citizen(
                session, citizen_id, actor_id=actor_id, now=_now()
            )
    except NotFound:
        raise Refused(f"no citizen with the id {citizen_id}") from None
    except UpcomingAppointments as error:
        raise Refused(
            f"citizen {citizen_id} has appointments to come ({', '.join(error.references)}): "
            "cancel them first (at the desk, or POST /api/v1/appointments/ID/cancel), "
            "then erase; nothing was changed"
        ) from None
    except (SQLAlchemyError, OSError) as error:
        raise Refused(f"cannot erase: {_first_line(error)}") from None
    finally:
        await engine.dispose()
    return erasure_line(report)


def erasure_line(report: ErasureReport) -> str:
    if report.already is not None:
        return f"citizen {report.citizen_id} was erased already, on {report.already.date()}"
    return (
        f"citizen {report.citizen_id} erased ({report.appointments} appointments and "
        f"{report.messages} messages kept without their name and contact details)"
    )
