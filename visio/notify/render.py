"""Rendering one email (subject, text, HTML) from its template triplet, in a given language."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from visio.i18n import current_locale, format_date, format_datetime, gettext, ngettext

TEMPLATES = Path(__file__).parent.parent / "templates" / "emails"


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _environment(autoescape: bool) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Plain-text parts must not be HTML-escaped; the HTML environment escapes everything.
        autoescape=autoescape,  # noqa: S701
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.filters["datetime"] = format_datetime
    environment.filters["date"] = format_date
    return environment


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def render_subject(name: str, locale: str, context: Mapping[str, object]) -> str:
    """Only the subject of the message `name` (lists of messages show no more)."""
    token = current_locale.set(locale)
    try:
        return " ".join(_TEXT.get_template(f"{name}/subject.txt").render(context).split())
    finally:
        current_locale.reset(token)


def render_email(name: str, locale: str, context: Mapping[str, object]) -> RenderedEmail:
    """The message `name` (a folder of templates/emails) for a reader of `locale`."""
    token = current_locale.set(locale)
    try:
        text = _TEXT.get_template(f"{name}/body.txt").render(context)
        html = _HTML.get_template(f"{name}/body.html").render(context)
    finally:
        current_locale.reset(token)
    return RenderedEmail(subject=render_subject(name, locale, context), text=text, html=html)
