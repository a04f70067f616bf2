"""Rendering pages: every template gets the same page context (language, account, links)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp_jinja2
from aiohttp import web

from visio import web_session
from visio.domain import Role
from visio.i18n import SUPPORTED_LOCALES, language_name
from visio.i18n import lazy_gettext as _l
from visio.keys import ACTOR, CSP_NONCE, LOCALE, REQUEST_ID
from visio.services.errors import Malformed

ROLE_LABELS = {
    Role.DESK: _l("desk agent"),
    Role.AGENT: _l("partner agent"),
    Role.COORDINATOR: _l("coordinator"),
    Role.ADMIN: _l("administrator"),
}


def page_context(request: web.Request) -> dict[str, object]:
    """What every page needs: its language, the signed-in person, named links, the form token."""
    router = request.app.router

    def url(name: str, **parts: object) -> str:
        return str(router[name].url_for(**{key: str(value) for key, value in parts.items()}))

    def static(filename: str) -> str:
        return str(router["static"].url_for(filename=filename))

    return {
        "request": request,
        "locale": request[LOCALE],
        "actor": request.get(ACTOR),
        "url": url,
        "static": static,
        "csrf_token": lambda: web_session.csrf_token(request),
        # An inline script runs only with it: <script nonce="{{ csp_nonce }}">.
        "csp_nonce": request.get(CSP_NONCE, ""),
        # Quoted to the administrator, it finds the request's log lines and audit entries.
        "request_id": request.get(REQUEST_ID),
        "languages": [(code, language_name(code)) for code in SUPPORTED_LOCALES],
        "role_label": lambda role: str(ROLE_LABELS[Role(role)]),
    }


def render(
    template: str,
    request: web.Request,
    context: Mapping[str, object] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """The page `template` with the page context and `context`."""
    return aiohttp_jinja2.render_template(
        template, request, {**page_context(request), **(context or {})}, status=status
    )


async def posted_form(request: web.Request) -> dict[str, str]:
    """A page's form as posted, once its form token is checked (a clear 400 otherwise)."""
    form = await request.post()
    if not web_session.csrf_valid(request, str(form.get(web_session.CSRF_FIELD, ""))):
        raise Malformed(_l("Your form expired; reload the page and try again."))
    return {key: str(value) for key, value in form.items()}
