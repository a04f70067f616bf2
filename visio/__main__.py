"""The `visio` command: serve, worker, db upgrade, demo, users create, tokens create,
import agents, purge, citizens export|erase, check-config."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import getpass
import logging
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from visio import __version__, logs
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import current_revision, head_revision, upgrade_engine
from visio.db.models import Role, Site
from visio.keys import REQUEST_ID
from visio.services import accounts, counters, desk_tally
from visio.services.errors import DomainError
from visio.services.setup.importing import ImportReport, import_agents
from visio.settings import ConfigError, Settings

log = logging.getLogger("visio")


class CommandError(Exception):
    """A failure worth one line to the person at the terminal, not a traceback."""


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- serve


async def _serve(
    settings: Settings, host: str, port: int, banner: Callable[[int], str] | None = None
) -> None:
    """Serve on host:port until SIGTERM or Ctrl+C; the banner (given the port) goes to stdout
    once the socket listens. With port 0 the system picks a free port, the one named."""
    from visio.app import SchemaNotAtHead, create_app

    app = create_app(settings)
    # On SIGTERM the requests in flight finish (for up to the grace period) before the
    # process ends; aiohttp leaves a handler running when its client goes away.
    runner = web.AppRunner(
        app,
        access_log=log,
        access_log_class=PathOnlyAccessLogger,
        shutdown_timeout=settings.shutdown_grace_seconds,
    )
    try:
        await runner.setup()
    except SchemaNotAtHead as error:
        raise CommandError(str(error)) from None
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot reach the database: {_first_line(error)}") from None
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as error:
        await runner.cleanup()
        if error.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {port} on {host} is already in use: stop the other program or "
                f"choose another port with --port"
            ) from None
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    # What start-up built (modules, templates, the app) lives as long as the process: moved
    # out of the collector's reach, a full collection no longer walks it, and the pauses
    # that land on requests building thousands of rows (the statistics) shrink to the
    # requests' own objects.
    gc.collect()
    gc.freeze()
    port = int(runner.addresses[0][1])  # the one the system chose for --port 0
    print(
        banner(port) if banner else f"visio {__version__} listening on http://{host}:{port}",
        flush=True,
    )
    terminated = asyncio.Event()
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, terminated.set)
    try:
        await terminated.wait()
        # A moment for the connections the system has already queued on the listening
        # socket to be accepted: closing it would reset them, requests sent and all.
        await asyncio.sleep(ACCEPT_QUEUED_SECONDS)
        await site.stop()
        log.info(
            "SIGTERM: no new connections; finishing the requests in flight (at most %d s)",
            settings.shutdown_grace_seconds,
        )
    finally:
        # Stops listening, closes idle connections, waits for the requests in flight, then
        # stops the outbox sender (after its message in hand) and closes the database.
        await runner.cleanup()
    log.info("stopped")


# Seconds given, after SIGTERM, to accept the connections already waiting to be accepted.
ACCEPT_QUEUED_SECONDS = 0.05


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log lines without query strings: a desk's search may carry a citizen's name,
    email or phone, which must not end up in the server's logs."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # The fields also go to a JSON line (VISIO_LOG_FORMAT=json) one by one.
        fields = {
            "remote": request.remote,
            "method": request.method,
            "path": logs.loggable_path(request),
            "status": response.status,
            "duration_ms": round(time * 1000, 1),
            "request_id": request.get(REQUEST_ID) or "-",
        }
        self.logger.info(
            "%s %s %s %d %.1fms",
            request.remote,
            request.method,
            fields["path"],
            response.status,
            time * 1000,
            extra=fields,
        )


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# ---------------------------------------------------------------- worker


async def _worker(settings: Settings) -> None:
    """The outbox sender alone, for a deployment that keeps it out of the web processes."""
    from visio.notify.sender import OutboxSender

    smtp = settings.smtp()
    if smtp is None:
        raise CommandError("VISIO_SMTP_HOST is not set: there is no server to send emails to")
    current, expected = await _check_database(settings)
    if current != expected:
        raise CommandError(
            f"database schema at {current or 'none'}, expected {expected}: run `visio db upgrade`"
        )
    engine = make_engine(settings.database_url)
    sender = OutboxSender(make_sessionmaker(engine), smtp)
    log.info("outbox sender started: %s:%d (%s)", smtp.host, smtp.port, smtp.tls)
    # SIGTERM (systemd, containers) lets the batch in hand finish and be recorded.
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, sender.stop)
    try:
        await sender.run()
    finally:
        await sender.close()
        await engine.dispose()


# ---------------------------------------------------------------- database


async def _db_upgrade(settings: Settings) -> str:
    engine = make_engine(settings.database_url)
    try:
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            revision = await current_revision(connection)
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot upgrade the database: {_first_line(error)}") from None
    finally:
        await engine.dispose()
    return revision or "?"


# ---------------------------------------------------------------- users and tokens


async def _create_user(settings: Settings, arguments: argparse.Namespace) -> str:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            site_ids = await _site_ids(session, arguments.site or [])
            agent_id = None
            if arguments.agent_email:
                from visio.db.models import Agent

                agent_id = await session.scalar(
                    select(Agent.id).where(Agent.email == arguments.agent_email.lower())
                )
                if agent_id is None:
                    raise CommandError(f"no agent with the email {arguments.agent_email}")
            user = await accounts.create_user(
                session,
                None,
                email=arguments.email,
                name=arguments.name,
                role=Role(arguments.role),
                site_ids=site_ids,
                agent_id=agent_id,
                locale=arguments.locale,
                password=arguments.password,
                now=_now(),
            )
            return f"created {user.role.value} {user.email} (id {user.id})"
    except DomainError as error:
        details = "; ".join(f"{name}: {message}" for name, message in error.fields.items())
        raise CommandError(f"{error.message}{' ' + details if details else ''}") from None
    except SQLAlchemyError as error:
        raise CommandError(f"database error: {_first_line(error)}") from None
    finally:
        await engine.dispose()


async def _site_ids(session: object, names_or_ids: Sequence[str]) -> list[int]:
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    site_ids = []
    for value in names_or_ids:
        query = select(Site.id).where(
            Site.id == int(value) if value.isdigit() else Site.name == value
        )
        site_id = await session.scalar(query)
        if site_id is None:
            raise CommandError(f"no site named {value!r}")
        site_ids.append(site_id)
    return site_ids


async def _create_token(settings: Settings, email: str, label: str) -> str:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            user = await accounts.find_user_by_email(session, email)
            if user is None:
                raise CommandError(f"no user with the email {email}")
            created = await accounts.create_token(
                session, None, user_id=user.id, label=label, now=_now()
            )
            return created.token
    except DomainError as error:
        raise CommandError(str(error.message)) from None
    except SQLAlchemyError as error:
        raise CommandError(f"database error: {_first_line(error)}") from None
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- import


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as source:
            return source.read()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None


async def _import_agents(settings: Settings, content: bytes, admin_email: str) -> ImportReport:
    """Import a CSV file of agents and their permanences as the administrator whose account
    has `admin_email` (the audit log names them): committed whole, or nothing written."""
    from visio.services.errors import NotAllowed
    from visio.services.notifications import Links

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            user = await accounts.find_user_by_email(session, admin_email)
            if user is None or not user.active:
                raise CommandError(f"no active account with the email {admin_email}")
            return await import_agents(
                session, accounts.actor_of(user), content,
                links=Links(base_url=settings.base_url, mail_from=settings.mail_from),
                now=_now(), default_timezone=settings.default_timezone,
                default_locale=settings.default_locale,
            )  # fmt: skip
    except NotAllowed:
        raise CommandError(f"{admin_email} may not import: set-up is for administrators") from None
    except DomainError as error:
        raise CommandError(str(error.message)) from None
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot import: {_first_line(error)}") from None
    finally:
        await engine.dispose()


def _report_lines(report: ImportReport) -> list[str]:
    """The import's report for the terminal: a line per row of the file, then the totals."""
    from visio.i18n import gettext as _

    outcomes = {
        "created": _("created") if report.written else _("to create"),
        "updated": _("updated") if report.written else _("to update"),
        "unchanged": _("unchanged"),
        "refused": _("refused"),
    }
    lines = []
    for row in report.rows:
        reasons = [
            _("%(field)s: %(message)s", field=reason.field, message=reason.message)
            if reason.field else str(reason.message)
            for reason in row.reasons
        ]  # fmt: skip
        parts = [_("Line %(line)s", line=row.line), row.email, outcomes[row.outcome.value]]
        lines.append(" · ".join(parts + reasons))
    totals = [
        (_("Rows read"), len(report.rows)),
        (_("Agents created") if report.written else _("Agents to create"), report.agents_created),
        (_("Agents updated") if report.written else _("Agents to update"), report.agents_updated),
        (_("Permanences added") if report.written else _("Permanences to add"),
         report.permanences_added),
        (_("Rows unchanged"), report.count("unchanged")),
        (_("Rows refused"), len(report.refused)),
    ]  # fmt: skip
    lines.append(" · ".join(_("%(field)s: %(message)s", field=label, message=count)
                            for label, count in totals))  # fmt: skip
    return lines


# ---------------------------------------------------------------- demo


async def _demo(settings: Settings, arguments: argparse.Namespace) -> None:
    from visio.demo import DemoAccount, prepare_demo

    try:
        accounts_ = await prepare_demo(settings, reset=arguments.reset, now=_now())
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot prepare the demo database: {_first_line(error)}") from None

    def banner(port: int) -> str:
        lines = [
            f"visio demo on http://{arguments.host}:{port}  "
            f"(database: {settings.database_url_for_display})",
            "Sign in with one of these demo accounts:",
        ]
        lines += [f"  {a.role:<12} {a.email:<34} {a.password}" for a in accounts_]
        if accounts_:
            admin: DemoAccount = accounts_[0]
            lines.append(f"API token of {admin.email}: {admin.token}")
        lines.append("Meeting links are plain Jitsi rooms without tokens: for trying only.")
        lines.append("Press Ctrl+C to stop.")
        return "\n".join(lines)

    await _serve(settings, arguments.host, arguments.port, banner=banner)


DEMO_DATABASE_URL = "sqlite+aiosqlite:///./visio-demo.db"


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="visio",
        description="Videoconference appointments for France Services houses.",
    )
    parser.add_argument("--version", action="version", version=f"visio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def listen_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--host", default="127.0.0.1", help="address to listen on")
        command.add_argument(
            "--port",
            type=int,
            default=8080,
            help="port to listen on (0: a free one, named in the first line printed)",
        )

    serve = commands.add_parser("serve", help="run the web server")
    listen_options(serve)
    commands.add_parser(
        "worker",
        help="send the queued emails (VISIO_SMTP_*), without the web server",
        description="Set VISIO_RUN_WORKER=false on the web servers when this runs instead.",
    )

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="bring the schema up to this version")
    db_commands.add_parser("current", help="print the schema's revision")

    demo = commands.add_parser(
        "demo",
        help="create (or reuse) a populated demo database and serve it",
        description=(
            "Uses VISIO_DATABASE_URL if set, else ./visio-demo.db. Secrets are generated "
            "for this run only."
        ),
    )
    demo.add_argument("--reset", action="store_true", help="erase and repopulate the database")
    listen_options(demo)

    users = commands.add_parser("users", help="accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = user_commands.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument(
        "--site", action="append", help="site name or id (repeat); desk and coordinator"
    )
    create.add_argument("--agent-email", help="the agent record of an agent account")
    create.add_argument("--locale", choices=["fr", "en"], default="fr")
    password = create.add_mutually_exclusive_group()
    password.add_argument("--password", help="the password (else asked for)")
    password.add_argument(
        "--no-password", action="store_true", help="an account that only uses API tokens"
    )

    tokens = commands.add_parser("tokens", help="API tokens")
    token_commands = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    token_create = token_commands.add_parser("create", help="create a token, printed once")
    token_create.add_argument("--email", required=True)
    token_create.add_argument("--label", default="")

    commands.add_parser("check-config", help="validate the environment and the database")
    stats = commands.add_parser("stats", help="statistics")
    stats_commands = stats.add_subparsers(dest="stats_command", required=True, metavar="ACTION")
    stats_commands.add_parser(
        "rebuild",
        help="count every appointment and desk request again into the statistics' counters",
    )
    imports = commands.add_parser("import", help="bring set-up in from a file")
    import_commands = imports.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    agents_import = import_commands.add_parser(
        "agents",
        help="partner agents and their permanences from a CSV file, whole or not at all",
        description=(
            "One row per permanence; the rows of one email make one agent, created or "
            "corrected. Columns: partner, name, email, weekdays, start, end (required), "
            "timezone, locale, every_weeks, valid_from, valid_until, sites, motives. Prints a "
            "line per row and the totals; exit status 1 when a row is refused (then nothing "
            "is written)."
        ),
    )
    agents_import.add_argument("file", metavar="FILE.csv", help="UTF-8, ; or , between fields")
    agents_import.add_argument(
        "--as", dest="as_email", required=True, metavar="EMAIL",
        help="the administrator account the import is made as (the audit log names them)",
    )  # fmt: skip
    purge = commands.add_parser(
        "purge",
        help="erase the citizens past VISIO_RETENTION_DAYS and the audit entries past "
        "VISIO_AUDIT_RETENTION_DAYS, now (`visio serve` does it daily)",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="only count what would be erased and deleted"
    )
    citizens = commands.add_parser("citizens", help="a citizen's rights of access and erasure")
    citizen_commands = citizens.add_subparsers(
        dest="citizens_command", required=True, metavar="ACTION"
    )
    for name, what in (
        ("export", "print everything held about one citizen, as JSON (audited)"),
        ("erase", "erase one citizen's name and contact details now (audited); refused "
                  "while an appointment of theirs is to come"),
    ):  # fmt: skip
        citizen_command = citizen_commands.add_parser(name, help=what)
        citizen_command.add_argument("--id", type=int, required=True, help="the citizen's id")
        citizen_command.add_argument(
            "--as", dest="as_email", metavar="EMAIL",
            help="the administrator acting (the audit log names them; else the command line)",
        )  # fmt: skip
    return parser


def _run(arguments: argparse.Namespace) -> int:
    if arguments.command == "demo":
        settings = Settings.from_env(demo=True)
        import os

        if not os.environ.get("VISIO_DATABASE_URL"):
            settings = settings.replace(database_url=DEMO_DATABASE_URL)
        if not settings.secret_key:
            settings = settings.replace(secret_key=secrets.token_urlsafe(48))
        asyncio.run(_demo(settings, arguments))
        return 0

    settings = Settings.from_env(demo=arguments.command != "serve")
    logs.configure(settings.log_format)
    if arguments.command == "serve":
        asyncio.run(_serve(settings, arguments.host, arguments.port))
    elif arguments.command == "worker":
        asyncio.run(_worker(settings))
    elif arguments.command == "db" and arguments.db_command == "upgrade":
        print(f"database at revision {asyncio.run(_db_upgrade(settings))}")
    elif arguments.command == "db" and arguments.db_command == "current":
        print(asyncio.run(_check_database(settings))[0] or "empty")
    elif arguments.command == "users":
        if not arguments.no_password and arguments.password is None:
            if not sys.stdin.isatty():
                raise CommandError("give --password or --no-password (no terminal to ask on)")
            arguments.password = getpass.getpass("Password: ")
            if getpass.getpass("Again: ") != arguments.password:
                raise CommandError("the two passwords differ")
        print(asyncio.run(_create_user(settings, arguments)))
    elif arguments.command == "tokens":
        print(asyncio.run(_create_token(settings, arguments.email, arguments.label)))
    elif arguments.command == "stats":
        appointments, requests = asyncio.run(_stats_rebuild(settings))
        print(f"{appointments} appointments and {requests} desk requests counted")
    elif arguments.command == "import":
        from visio.i18n import current_locale, ngettext

        current_locale.set(settings.default_locale)  # the report's language
        content = _read_file(arguments.file)
        report = asyncio.run(_import_agents(settings, content, arguments.as_email))
        print("\n".join(_report_lines(report)))
        if not report.written:
            raise CommandError(
                ngettext("Nothing was imported: %(num)d row is refused",
                         "Nothing was imported: %(num)d rows are refused", len(report.refused))
            )  # fmt: skip
    elif arguments.command in ("purge", "citizens"):
        _personal_data(settings, arguments)
    elif arguments.command == "check-config":
        Settings.from_env()  # the full check, secret key included
        current, expected = asyncio.run(_check_database(settings))
        if current != expected:
            raise CommandError(
                f"database schema at {current or 'none'}, expected {expected}: "
                "run `visio db upgrade`"
            )
        print(f"configuration ok; database reachable, schema at {current}")
    return 0


def _personal_data(settings: Settings, arguments: argparse.Namespace) -> None:
    """`visio purge` and `visio citizens export|erase`."""
    import json

    from visio import personal_data

    try:
        if arguments.command == "purge":
            report = asyncio.run(personal_data.purge(settings, dry_run=arguments.dry_run))
            print("\n".join(personal_data.purge_lines(report)))
        elif arguments.citizens_command == "export":
            document = asyncio.run(
                personal_data.export_citizen(settings, arguments.id, arguments.as_email)
            )
            print(json.dumps(document, ensure_ascii=False, indent=2))
        else:
            print(
                asyncio.run(personal_data.erase_citizen(settings, arguments.id, arguments.as_email))
            )
    except personal_data.Refused as error:
        raise CommandError(str(error)) from None


async def _stats_rebuild(settings: Settings) -> tuple[int, int]:
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            counted = await counters.rebuild(session), await desk_tally.rebuild(session)
            await session.commit()
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot rebuild the statistics: {_first_line(error)}") from None
    finally:
        await engine.dispose()
    return counted


async def _check_database(settings: Settings) -> tuple[str | None, str]:
    engine = make_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            return await current_revision(connection), head_revision()
    except (SQLAlchemyError, OSError) as error:
        raise CommandError(f"cannot reach the database: {_first_line(error)}") from None
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; every expected failure ends with one line on stderr and exit status 1."""
    # Our own log lines (requests included) at INFO; libraries only when they warn. As text
    # until the settings are read, then as they say (VISIO_LOG_FORMAT).
    logs.configure("text")
    arguments = _parser().parse_args(argv)
    try:
        return _run(arguments)
    except (ConfigError, CommandError) as error:
        print(f"visio: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
