"""Languages: negotiation, and a French translation for every message of the code."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from visio.i18n import current_locale, format_datetime, gettext, negotiate_locale

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),  # nothing said: French
        ("", "fr"),
        ("en", "en"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),  # German unsupported: the next choice
        ("de, it", "fr"),  # nothing supported: the default
        ("en;q=0, fr", "fr"),  # q=0 means "not this one"
        ("en;q=0.2, fr;q=0.8", "fr"),  # order by quality, not position
        ("en;q=garbage", "fr"),
    ],
)
def test_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_locale(header) == expected


def test_every_message_has_its_french_translation(project_root: Path) -> None:
    catalog_path = project_root / "visio/translations/fr/LC_MESSAGES/messages.po"
    catalog = read_po(io.BytesIO(catalog_path.read_bytes()), locale="fr")
    translated = {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalog
        if message.id and message.string
    }
    method_map = [
        ("**.py", "python"),
        ("**/templates/**.html", "jinja2"),
        ("**/templates/**.txt", "jinja2"),
    ]
    options = {"**/templates/**": {"trimmed": "true", "extensions": "jinja2.ext.i18n"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(project_root / "visio"), method_map, options_map=options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    # Both kinds of source are read: a template's message and a module's.
    assert {"Skip to content", "This field is required."} <= found
    missing = sorted(found - translated)
    assert not missing, f"messages without French: {missing}"


def test_formatting_follows_the_locale_and_the_zone() -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert format_datetime(moment, "Europe/Paris", "fr", "short") == "30/03/2026 09:00"
    assert format_datetime(moment, "Indian/Reunion", "fr", "short") == "30/03/2026 11:00"
    token = current_locale.set("en")
    try:
        assert gettext("This field is required.") == "This field is required."
    finally:
        current_locale.reset(token)
    assert gettext("This field is required.") == "Ce champ est obligatoire."
