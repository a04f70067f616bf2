"""HTML pages: signing in and out, the home page, the language switch."""

from __future__ import annotations

import math
from urllib.parse import unquote

from aiohttp import web
from yarl import URL

from visio import web_session
from visio.forwarded import client_address
from visio.handlers.api import now
from visio.handlers.render import render
from visio.i18n import SUPPORTED_LOCALES, ngettext
from visio.i18n import gettext as _
from visio.keys import ACTOR, DB, KEEP_REFUSAL_WRITES, SETTINGS
from visio.middlewares import LANGUAGE_COOKIE
from visio.services import sessions
from visio.services.errors import NotAuthenticated


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site: never send someone elsewhere after signing in.

    Browsers and URL parsers drop tabs and newlines and read a backslash as a slash, so
    "/\t/evil.example" would become "//evil.example": such targets are refused outright.
    """
    if not target:
        return None
    for form in (target, unquote(target)):  # and once more as a browser would decode it
        if any(ord(char) < 32 or char in "\\\x7f" for char in form) or form.startswith("//"):
            return None
    try:
        url = URL(target)
    except ValueError:
        return None
    if url.scheme or url.host is not None or not target.startswith("/") or target.startswith("//"):
        return None
    return target


async def login_form(request: web.Request) -> web.Response:
    context = {"next": _safe_next(request.query.get("next")), "email": "", "error": None}
    return render("login.html", request, context)


async def login(request: web.Request) -> web.StreamResponse:
    """Sign in: a new session and a new form token; a wrong email or password, or too many
    of them in a row (429, `Retry-After`), told the same way whether the account exists."""
    form = await request.post()
    email = str(form.get("email", "")).strip()
    target = _safe_next(str(form.get("next", ""))) or str(request.app.router["home"].url_for())
    context: dict[str, object] = {"next": target, "email": email, "error": None}
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        context["error"] = _("Your form expired; please sign in again.")
        return render("login.html", request, context, status=400)
    result = await sessions.sign_in(
        request[DB], email, str(form.get("password", "")),
        # The client's address; behind a proxy, the one it vouches for (VISIO_FORWARDED_ALLOW_IPS).
        address=client_address(
            request.remote, request.headers.getall("X-Forwarded-For", []),
            request.app[SETTINGS].trusted_proxies(),
        ),
        user_agent=request.headers.get("User-Agent", ""),
        previous_token=web_session.session_token(request),
        secret=request.app[SETTINGS].secret_key, now=now(request),
    )  # fmt: skip
    if isinstance(result, sessions.TooManyAttempts):
        context["error"] = _too_many(result.retry_after)
        response = render("login.html", request, context, status=429)
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if isinstance(result, sessions.WrongCredentials):
        request[KEEP_REFUSAL_WRITES] = True  # the failure is counted
        context["error"] = _("Wrong email or password.")
        return render("login.html", request, context, status=401)
    response = web.HTTPSeeOther(location=target)
    web_session.sign_in(request, response, result.token)
    web_session.renew_csrf(request, response)
    raise response


def _too_many(seconds: int) -> str:
    if seconds < 60:
        return ngettext(
            "Too many attempts: try again in %(num)s second.",
            "Too many attempts: try again in %(num)s seconds.",
            seconds,
        )
    minutes = math.ceil(seconds / 60)
    return ngettext(
        "Too many attempts: try again in %(num)s minute.",
        "Too many attempts: try again in %(num)s minutes.",
        minutes,
    )


async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out: the session ends at once, its cookie is worth nothing from then on."""
    form = await request.post()
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        raise web.HTTPBadRequest()
    token = web_session.session_token(request)
    if token is not None:
        await sessions.end_session(request[DB], token, now=now(request))
    response = web.HTTPSeeOther(location=request.app.router["login"].url_for())
    web_session.sign_out(response)
    raise response


async def home(request: web.Request) -> web.Response:
    if request[ACTOR] is None:
        raise NotAuthenticated()
    return render("home.html", request)


async def set_language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        raise web.HTTPBadRequest()
    locale = str(form.get("locale", ""))
    target = _safe_next(str(form.get("next", ""))) or str(request.app.router["home"].url_for())
    response = web.HTTPSeeOther(location=target)
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(
            LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", path="/"
        )
    raise response
