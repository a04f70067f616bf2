"""Settings: defaults, and one clear message naming the variable for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from visio.settings import ConfigError, Settings

SECRET = "s" * 40


def test_defaults_with_only_a_secret() -> None:
    settings = Settings.from_env({"VISIO_SECRET_KEY": SECRET})
    assert settings.database_url == "sqlite+aiosqlite:///./visio.db"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.default_locale == "fr"
    assert settings.jitsi_domain == "meet.jit.si"
    assert settings.smtp_host is None
    assert settings.smtp_port == 587
    assert settings.smtp_tls == "starttls"
    assert settings.retention_days == 90
    assert settings.audit_retention_days == 365
    assert settings.shutdown_grace_seconds == 30
    assert (settings.db_connect_timeout, settings.db_statement_timeout) == (5, 10)


def test_every_variable_is_read(tmp_path: Path) -> None:
    key = tmp_path / "jaas.pem"
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = Settings.from_env(
        {
            "VISIO_DATABASE_URL": "postgresql+asyncpg://visio@db.internal/visio",
            "VISIO_SECRET_KEY": SECRET,
            "VISIO_BASE_URL": "https://visio.example.org/",
            "VISIO_DEFAULT_LOCALE": "en",
            "VISIO_JITSI_DOMAIN": "8x8.vc",
            "VISIO_JITSI_PRIVATE_KEY_FILE": str(key),
            "VISIO_JITSI_KID": "vpaas-magic-cookie-abc/123",
            "VISIO_JITSI_TENANT": "vpaas-magic-cookie-abc",
            "VISIO_SMTP_HOST": "smtp.example.org",
            "VISIO_SMTP_PORT": "465",
            "VISIO_SMTP_USERNAME": "visio",
            "VISIO_SMTP_PASSWORD": "pw",
            "VISIO_SMTP_TLS": "tls",
            "VISIO_MAIL_FROM": "visio@example.org",
            "VISIO_RETENTION_DAYS": "30",
            "VISIO_AUDIT_RETENTION_DAYS": "730",
            "VISIO_SHUTDOWN_GRACE_SECONDS": "90",
            "VISIO_DB_CONNECT_TIMEOUT": "3",
            "VISIO_DB_STATEMENT_TIMEOUT": "20",
        }
    )
    assert settings.base_url == "https://visio.example.org"  # trailing slash dropped
    assert settings.default_locale == "en"
    assert settings.jitsi_private_key_file == key
    assert settings.smtp_port == 465
    assert settings.smtp_tls == "tls"
    assert settings.retention_days == 30
    assert settings.audit_retention_days == 730
    assert settings.shutdown_grace_seconds == 90
    assert (settings.db_connect_timeout, settings.db_statement_timeout) == (3, 20)


def test_the_demo_needs_no_secret() -> None:
    assert Settings.from_env({}, demo=True).secret_key == ""


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        # no secret outside the demo
        ({}, "VISIO_SECRET_KEY"),
        # a secret too short to sign sessions safely
        ({"VISIO_SECRET_KEY": "short"}, "VISIO_SECRET_KEY"),
        # a driver visio does not support
        ({"VISIO_DATABASE_URL": "mysql://root@localhost/visio"}, "VISIO_DATABASE_URL"),
        # not a URL at all
        ({"VISIO_DATABASE_URL": "visio.db"}, "VISIO_DATABASE_URL"),
        ({"VISIO_BASE_URL": "visio.example.org"}, "VISIO_BASE_URL"),
        ({"VISIO_DEFAULT_LOCALE": "de"}, "VISIO_DEFAULT_LOCALE"),
        ({"VISIO_DEFAULT_TIMEZONE": "Europe/Murat"}, "VISIO_DEFAULT_TIMEZONE"),
        ({"VISIO_JITSI_DOMAIN": "https://meet.jit.si/"}, "VISIO_JITSI_DOMAIN"),
        # half of the HS256 pair
        ({"VISIO_JITSI_APP_ID": "visio"}, "VISIO_JITSI_APP_SECRET"),
        ({"VISIO_JITSI_APP_SECRET": "x" * 40}, "VISIO_JITSI_APP_ID"),
        ({"VISIO_JITSI_PRIVATE_KEY_FILE": "/nonexistent/key.pem"}, "VISIO_JITSI_PRIVATE_KEY_FILE"),
        ({"VISIO_SMTP_PORT": "smtp"}, "VISIO_SMTP_PORT"),
        ({"VISIO_SMTP_PORT": "70000"}, "VISIO_SMTP_PORT"),
        ({"VISIO_SMTP_TLS": "ssl"}, "VISIO_SMTP_TLS"),
        ({"VISIO_SMTP_USERNAME": "visio"}, "VISIO_SMTP_PASSWORD"),
        ({"VISIO_MAIL_FROM": "visio"}, "VISIO_MAIL_FROM"),
        ({"VISIO_RETENTION_DAYS": "0"}, "VISIO_RETENTION_DAYS"),
        ({"VISIO_RETENTION_DAYS": "ninety"}, "VISIO_RETENTION_DAYS"),
        ({"VISIO_AUDIT_RETENTION_DAYS": "0"}, "VISIO_AUDIT_RETENTION_DAYS"),
        ({"VISIO_AUDIT_RETENTION_DAYS": "a year"}, "VISIO_AUDIT_RETENTION_DAYS"),
        ({"VISIO_SHUTDOWN_GRACE_SECONDS": "0"}, "VISIO_SHUTDOWN_GRACE_SECONDS"),
        ({"VISIO_DB_CONNECT_TIMEOUT": "0"}, "VISIO_DB_CONNECT_TIMEOUT"),
        ({"VISIO_DB_STATEMENT_TIMEOUT": "10s"}, "VISIO_DB_STATEMENT_TIMEOUT"),
    ],
)
def test_bad_values_name_their_variable(environment: dict[str, str], variable: str) -> None:
    if "VISIO_SECRET_KEY" not in environment and variable != "VISIO_SECRET_KEY":
        environment = {"VISIO_SECRET_KEY": SECRET, **environment}
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(environment)
    message = str(raised.value)
    assert message.startswith(f"{variable}:")
    assert "\n" not in message


def test_a_key_file_must_hold_a_key(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    with pytest.raises(ConfigError, match=r"^VISIO_JITSI_PRIVATE_KEY_FILE:"):
        Settings.from_env(
            {
                "VISIO_SECRET_KEY": SECRET,
                "VISIO_JITSI_PRIVATE_KEY_FILE": str(key),
                "VISIO_JITSI_KID": "vpaas-magic-cookie-abc/1",
                "VISIO_JITSI_TENANT": "vpaas-magic-cookie-abc",
            }
        )


def test_a_short_token_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^VISIO_JITSI_APP_SECRET:"):
        Settings.from_env(
            {
                "VISIO_SECRET_KEY": SECRET,
                "VISIO_JITSI_APP_ID": "visio",
                "VISIO_JITSI_APP_SECRET": "short",
            }
        )


def test_a_key_file_needs_its_kid(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("x")
    with pytest.raises(ConfigError, match=r"^VISIO_JITSI_KID:"):
        Settings.from_env({"VISIO_SECRET_KEY": SECRET, "VISIO_JITSI_PRIVATE_KEY_FILE": str(key)})


def test_secrets_stay_out_of_repr() -> None:
    settings = Settings.from_env(
        {
            "VISIO_SECRET_KEY": SECRET,
            "VISIO_DATABASE_URL": "postgresql+asyncpg://visio:db-password@db.internal/visio",
            "VISIO_JITSI_APP_ID": "visio",
            "VISIO_JITSI_APP_SECRET": "j" * 40,
            "VISIO_SMTP_USERNAME": "visio",
            "VISIO_SMTP_PASSWORD": "smtp-password",
        }
    )
    shown = repr(settings)
    for secret in (SECRET, "db-password", "j" * 40, "smtp-password"):
        assert secret not in shown
    assert "db-password" not in settings.database_url_for_display
    assert "db.internal" in settings.database_url_for_display
