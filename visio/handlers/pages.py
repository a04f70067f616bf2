"""HTML pages: signing in and out, the home page, the language switch."""

from __future__ import annotations

from typing import Any

from aiohttp import web

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
    """Only paths on this site: never send someone elsewhere after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


async def login_form(request: web.Request) -> web.Response:
    context = {"next": _safe_next(request.query.get("next")), "email": "", "error": None}
    return render("login.html", request, context)


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    email = str(form.get("email", "")).strip()
    target = _safe_next(str(form.get("next", ""))) or str(request.app.router["home"].url_for())
    context: dict[str, Any] = {"next": target, "email": email, "error": None}
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
    locale = str(form.get("locale", ""))
    target = _safe_next(str(form.get("next", ""))) or str(request.app.router["home"].url_for())
    response = web.HTTPSeeOther(location=target)
    if locale in SUPPORTED_LOCALES:
        response.set_cookie(
            LANGUAGE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", path="/"
        )
    raise response
