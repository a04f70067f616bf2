"""HTML pages: signing in and out, the home page, the language switch."""

from __future__ import annotations

from urllib.parse import unquote

from aiohttp import web
from yarl import URL

from visio import web_session
from visio.handlers.api import now
from visio.handlers.render import render
from visio.i18n import SUPPORTED_LOCALES
from visio.i18n import gettext as _
from visio.keys import ACTOR, DB
from visio.middlewares import LANGUAGE_COOKIE
from visio.services import accounts
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
    form = await request.post()
    email = str(form.get("email", "")).strip()
    target = _safe_next(str(form.get("next", ""))) or str(request.app.router["home"].url_for())
    context: dict[str, object] = {"next": target, "email": email, "error": None}
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        context["error"] = _("Your form expired; please sign in again.")
        return render("login.html", request, context, status=400)
    actor = await accounts.authenticate_password(
        request[DB], email, str(form.get("password", "")), now(request)
    )
    if actor is None:
        context["error"] = _("Wrong email or password.")
        return render("login.html", request, context, status=401)
    response = web.HTTPSeeOther(location=target)
    web_session.sign_in(request, response, actor.user_id)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        raise web.HTTPBadRequest()
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
