"""Languages: negotiation, gettext bound to the current request's locale, Babel formatting.

Messages are written in English in the code and translated in `translations/<locale>`;
French is the default language of visio. Catalogs are read from their `.po` source at
start-up (compiled in memory), so the repository holds no compiled binaries.
"""

from __future__ import annotations

import functools
import io
from contextvars import ContextVar
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

SUPPORTED_LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"

current_locale: ContextVar[str] = ContextVar("current_locale", default=DEFAULT_LOCALE)


@functools.cache
def translations(locale: str) -> Translations:
    """The catalog of `locale`, compiled from its `.po` file once per process."""
    po_file = TRANSLATIONS_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.is_file():
        return Translations()  # English: the messages as written
    with po_file.open("rb") as source:
        catalog = read_po(source, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled)


def gettext(message: str, /, **variables: object) -> str:
    """`message` in the current locale, with `%(name)s` placeholders filled from `variables`."""
    text = translations(current_locale.get()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, /, **variables: object) -> str:
    """The singular or plural form for `n` in the current locale; `num` is always available."""
    text = translations(current_locale.get()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def plural_form(singular: str, plural: str, n: int, /) -> str:
    """The singular or plural form for `n`, unformatted: Jinja's i18n extension (newstyle)
    fills its placeholders itself, `num` and the template's own variables alike."""
    return str(translations(current_locale.get()).ungettext(singular, plural, n))


def lazy_gettext(message: str, /, **variables: object) -> LazyProxy:
    """A message translated when it is used, not when the module is imported."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


def negotiate_locale(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The best supported locale for an `Accept-Language` header, else `default`."""
    if not accept_language:
        return default
    preferences: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            preferences.append((-quality, position, tag))
    for _quality, _position, tag in sorted(preferences):
        language = tag.split("-")[0]
        if language in SUPPORTED_LOCALES:
            return language
        if tag == "*":
            return default
    return default


@functools.cache
def _locale(code: str) -> Locale:
    """The parsed locale (Babel parses its name again on every call otherwise)."""
    return Locale.parse(code)


def format_datetime(
    value: datetime, timezone: str, locale: str | None = None, style: str = "full"
) -> str:
    """An instant as people of `locale` read it, in the wall-clock time of `timezone`."""
    zone = ZoneInfo(timezone)
    return babel_format_datetime(
        value.astimezone(zone), style, tzinfo=zone, locale=_locale(locale or current_locale.get())
    )


def format_time(value: datetime, timezone: str, locale: str | None = None) -> str:
    """An instant's wall-clock time in `timezone`, without seconds, as `locale` writes it:
    one clock per language ("13:30" in French, "1:30 PM" in English)."""
    local = value.astimezone(ZoneInfo(timezone))
    return _clock(local.hour, local.minute, locale or current_locale.get())


@functools.lru_cache(maxsize=4096)
def _clock(hour: int, minute: int, locale: str) -> str:
    """A wall-clock time as `locale` writes it, short: a page of free times formats the
    same few dozen times again and again."""
    return babel_format_time(time(hour, minute), "short", locale=_locale(locale))


def format_date(value: date, locale: str | None = None, style: str = "full") -> str:
    return _format_date(value, locale or current_locale.get(), style)


@functools.lru_cache(maxsize=4096)
def _format_date(value: date, locale: str, style: str) -> str:
    return babel_format_date(value, style, locale=_locale(locale))


def language_name(locale: str) -> str:
    """The name of a language in itself: "français", "English"."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:] if locale == "en" else name
