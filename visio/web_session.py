"""The session cookie of the HTML pages, and the CSRF token of their forms.

The cookie holds the random token of a server-side session (`visio.services.sessions`):
it means nothing by itself, and ends when its session ends (sign-out, idle, too old, a
password change, an administrator). HttpOnly, SameSite=Lax, Secure when visio is served
over https, and never kept by the browser longer than a session can last.
"""

from __future__ import annotations

import hmac
import re
import secrets

from aiohttp import web

from visio.keys import NEW_CSRF_TOKEN, SETTINGS
from visio.services.sessions import SESSION_LIFETIME

SESSION_COOKIE = "visio_session"
CSRF_COOKIE = "visio_csrf"
CSRF_FIELD = "csrf_token"
# What `secrets.token_urlsafe(32)` makes: anything else is not one of our tokens.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].base_url.startswith("https://")


def sign_in(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """Put the cookie of a new session's `token` on `response`."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
        path="/",
    )


def sign_out(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def session_token(request: web.Request) -> str | None:
    """The session token this browser sent, or None for none or one not of our making (it
    is looked up only when it could be one of ours)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or not _TOKEN.fullmatch(token):
        return None
    return token


def csrf_token(request: web.Request) -> str:
    """The form token of this browser (double-submit cookie); a new one is remembered so
    that `set_csrf_cookie` puts it on the response."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = request.get(NEW_CSRF_TOKEN) or secrets.token_urlsafe(24)
        request[NEW_CSRF_TOKEN] = token
    return token


def set_csrf_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Send the cookie of a form token made while rendering this response."""
    token = request.get(NEW_CSRF_TOKEN)
    if token and response.prepared is False:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(request), path="/"
        )


def csrf_valid(request: web.Request, submitted: str | None) -> bool:
    """Whether a submitted form token matches this browser's cookie."""
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))


def renew_csrf(request: web.Request, response: web.StreamResponse) -> None:
    """A new form token for this browser, its cookie on `response` (signing in): a token
    someone planted in the browser before is worth nothing after."""
    token = secrets.token_urlsafe(24)
    request[NEW_CSRF_TOKEN] = token
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(request), path="/"
    )
