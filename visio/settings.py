"""Settings read from the environment: one typed, validated object.

Every problem is reported as a `ConfigError` whose message names the variable, so the
command line can print one clear line and stop.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from visio.forwarded import DEFAULT_TRUSTED, Network, parse_trusted
from visio.logs import LOG_FORMATS, LogFormat
from visio.meetings.jitsi import JitsiConfig
from visio.notify.sender import SmtpConfig, SmtpTls

LOCALES = ("fr", "en")
# A secret shorter than this is too easy to guess for signing session cookies.
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything visio reads from its environment, already checked."""

    # Secrets (and a URL that may carry a password) stay out of repr(): a logged settings
    # object must not leak them.
    database_url: str = dataclasses.field(default="sqlite+aiosqlite:///./visio.db", repr=False)
    secret_key: str = dataclasses.field(default="", repr=False)
    base_url: str = "http://127.0.0.1:8080"
    default_locale: str = "fr"
    default_timezone: str = "Europe/Paris"
    jitsi_domain: str = "meet.jit.si"
    jitsi_app_id: str | None = None
    jitsi_app_secret: str | None = dataclasses.field(default=None, repr=False)
    jitsi_private_key_file: Path | None = None
    jitsi_kid: str | None = None
    jitsi_tenant: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = dataclasses.field(default=None, repr=False)
    smtp_tls: SmtpTls = "starttls"
    mail_from: str = "visio@localhost"
    retention_days: int = 90
    # Days an audit entry is kept before the daily purge deletes it (a year by default).
    audit_retention_days: int = 365
    # Refuse to serve a database whose schema is behind the code (tests may relax it).
    require_schema_head: bool = True
    # Run the outbox sender inside the web process (VISIO_RUN_WORKER; off when `visio worker`
    # runs on its own).
    run_worker: bool = True
    # On SIGTERM, how long the requests in flight may take to finish (seconds).
    shutdown_grace_seconds: int = 30
    # How long to wait for a connection to the database, and for one statement (seconds):
    # a database that stops answering gets a 503 after that, not a request hanging.
    db_connect_timeout: int = 5
    db_statement_timeout: int = 10
    # How log lines are written on stderr: text for a person, json for a log collector.
    log_format: LogFormat = "text"
    # A bearer token Prometheus may read /metrics with from another machine (unset: only
    # from this one).
    metrics_token: str | None = dataclasses.field(default=None, repr=False)
    # The proxies whose X-Forwarded-For names the client (addresses, networks, or *).
    forwarded_allow_ips: str = DEFAULT_TRUSTED

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        """Read and validate the `VISIO_*` variables; raise `ConfigError` naming the first bad one.

        With `demo=True` a missing secret key is allowed: the demo generates one per run.
        """
        env = os.environ if environ is None else environ

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name)
            if value is None or value.strip() == "":
                return default
            return value.strip()

        def integer(name: str, default: int, low: int, high: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
            if not low <= value <= high:
                raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
            return value

        def boolean(name: str, default: bool) -> bool:
            raw = text(name)
            if raw is None:
                return default
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ConfigError(f"{name}: expected true or false, got {raw!r}")

        database_url = text("VISIO_DATABASE_URL", cls.database_url) or cls.database_url
        try:
            url = make_url(database_url)
        except ArgumentError:
            raise ConfigError(f"VISIO_DATABASE_URL: not a database URL: {database_url!r}") from None
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ConfigError(
                "VISIO_DATABASE_URL: use sqlite+aiosqlite:///path.db or "
                f"postgresql+asyncpg://user@host/db, got driver {url.drivername!r}"
            )

        if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigError(f"VISIO_DATABASE_URL: the folder {folder} does not exist")

        secret_key = text("VISIO_SECRET_KEY") or ""
        if not secret_key and not demo:
            raise ConfigError(
                "VISIO_SECRET_KEY: required; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        if secret_key and len(secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"VISIO_SECRET_KEY: must be at least {MIN_SECRET_LENGTH} characters")

        base_url = (text("VISIO_BASE_URL", cls.base_url) or cls.base_url).rstrip("/")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"VISIO_BASE_URL: expected http(s)://host[:port], got {base_url!r}")

        locale = text("VISIO_DEFAULT_LOCALE", cls.default_locale)
        if locale not in LOCALES:
            raise ConfigError(f"VISIO_DEFAULT_LOCALE: one of {', '.join(LOCALES)}, got {locale!r}")

        timezone = text("VISIO_DEFAULT_TIMEZONE", cls.default_timezone) or cls.default_timezone
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"VISIO_DEFAULT_TIMEZONE: unknown time zone {timezone!r}") from None

        jitsi_domain = text("VISIO_JITSI_DOMAIN", cls.jitsi_domain) or cls.jitsi_domain
        if "/" in jitsi_domain or " " in jitsi_domain:
            raise ConfigError(
                f"VISIO_JITSI_DOMAIN: a host name such as meet.jit.si, got {jitsi_domain!r}"
            )
        app_id = text("VISIO_JITSI_APP_ID")
        app_secret = text("VISIO_JITSI_APP_SECRET")
        if bool(app_id) != bool(app_secret) and not text("VISIO_JITSI_PRIVATE_KEY_FILE"):
            missing = "VISIO_JITSI_APP_SECRET" if app_id else "VISIO_JITSI_APP_ID"
            raise ConfigError(f"{missing}: required with the other Jitsi token setting")
        key_file_raw = text("VISIO_JITSI_PRIVATE_KEY_FILE")
        key_file = Path(key_file_raw) if key_file_raw else None
        kid = text("VISIO_JITSI_KID")
        if key_file is not None:
            if not key_file.is_file():
                raise ConfigError(f"VISIO_JITSI_PRIVATE_KEY_FILE: no such file: {key_file}")
            if not kid:
                raise ConfigError("VISIO_JITSI_KID: required with VISIO_JITSI_PRIVATE_KEY_FILE")

        smtp_tls = text("VISIO_SMTP_TLS", cls.smtp_tls)
        if smtp_tls not in ("none", "starttls", "tls"):
            raise ConfigError(f"VISIO_SMTP_TLS: one of none, starttls, tls, got {smtp_tls!r}")
        smtp_user = text("VISIO_SMTP_USERNAME")
        smtp_password = text("VISIO_SMTP_PASSWORD")
        if smtp_user and not smtp_password:
            raise ConfigError("VISIO_SMTP_PASSWORD: required with VISIO_SMTP_USERNAME")

        mail_from = text("VISIO_MAIL_FROM", cls.mail_from) or cls.mail_from
        if "@" not in mail_from:
            raise ConfigError(f"VISIO_MAIL_FROM: not an email address: {mail_from!r}")

        forwarded = text("VISIO_FORWARDED_ALLOW_IPS", cls.forwarded_allow_ips) or ""
        try:
            parse_trusted(forwarded)
        except ValueError as error:
            raise ConfigError(f"VISIO_FORWARDED_ALLOW_IPS: {error}") from None
        metrics_token = text("VISIO_METRICS_TOKEN")
        if metrics_token is not None and len(metrics_token) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"VISIO_METRICS_TOKEN: must be at least {MIN_SECRET_LENGTH} characters"
            )
        log_format = text("VISIO_LOG_FORMAT", cls.log_format)
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"VISIO_LOG_FORMAT: text or json, got {log_format!r}")

        settings = cls(
            database_url=database_url,
            secret_key=secret_key,
            base_url=base_url,
            default_locale=locale,
            default_timezone=timezone,
            jitsi_domain=jitsi_domain,
            jitsi_app_id=app_id,
            jitsi_app_secret=app_secret,
            jitsi_private_key_file=key_file,
            jitsi_kid=kid,
            jitsi_tenant=text("VISIO_JITSI_TENANT"),
            smtp_host=text("VISIO_SMTP_HOST"),
            smtp_port=integer("VISIO_SMTP_PORT", cls.smtp_port, 1, 65535),
            smtp_username=smtp_user,
            smtp_password=smtp_password,
            smtp_tls=smtp_tls,  # type: ignore[arg-type]  # checked just above
            mail_from=mail_from,
            retention_days=integer("VISIO_RETENTION_DAYS", cls.retention_days, 1, 3650),
            audit_retention_days=integer(
                "VISIO_AUDIT_RETENTION_DAYS", cls.audit_retention_days, 1, 3650
            ),
            run_worker=boolean("VISIO_RUN_WORKER", cls.run_worker),
            log_format=log_format,  # type: ignore[arg-type]  # checked above
            metrics_token=metrics_token,
            forwarded_allow_ips=forwarded,
            shutdown_grace_seconds=integer(
                "VISIO_SHUTDOWN_GRACE_SECONDS", cls.shutdown_grace_seconds, 1, 3600
            ),
            db_connect_timeout=integer("VISIO_DB_CONNECT_TIMEOUT", cls.db_connect_timeout, 1, 600),
            db_statement_timeout=integer(
                "VISIO_DB_STATEMENT_TIMEOUT", cls.db_statement_timeout, 1, 3600
            ),
        )
        settings.jitsi()  # the meeting settings are checked together, at start
        return settings

    def jitsi(self) -> JitsiConfig:
        """How meeting links are made, from the VISIO_JITSI_* settings; `ConfigError` if wrong."""
        key = None
        if self.jitsi_private_key_file is not None:
            try:
                key = self.jitsi_private_key_file.read_text()
            except OSError as error:
                raise ConfigError(
                    f"VISIO_JITSI_PRIVATE_KEY_FILE: cannot read {self.jitsi_private_key_file}: "
                    f"{error.strerror}"
                ) from None
        try:
            return JitsiConfig(
                domain=self.jitsi_domain,
                app_id=self.jitsi_app_id,
                app_secret=self.jitsi_app_secret,
                private_key_pem=key,
                kid=self.jitsi_kid,
                tenant=self.jitsi_tenant,
            )
        except ValueError as error:
            raise ConfigError(str(error).splitlines()[0]) from None

    def smtp(self) -> SmtpConfig | None:
        """Where the outbox sender delivers, or None when VISIO_SMTP_HOST is not set."""
        if not self.smtp_host:
            return None
        return SmtpConfig(
            host=self.smtp_host,
            port=self.smtp_port,
            tls=self.smtp_tls,
            username=self.smtp_username,
            password=self.smtp_password,
            mail_from=self.mail_from,
        )

    def trusted_proxies(self) -> tuple[Network, ...] | None:
        """The proxies of VISIO_FORWARDED_ALLOW_IPS (None: any peer)."""
        return parse_trusted(self.forwarded_allow_ips)

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests, the demo)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def database_url_for_display(self) -> str:
        """The database URL with its password hidden, for messages and logs."""
        return make_url(self.database_url).render_as_string(hide_password=True)
