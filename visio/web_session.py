"""The signed session cookie of the HTML pages, and the CSRF token of their forms.

The cookie is a JWT signed with `VISIO_SECRET_KEY`, audience `visio:session`: one purpose
per token type, so no other token of ours is ever accepted as a session.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

import jwt
from aiohttp import web

from visio.keys import CLOCK, NEW_CSRF_TOKEN, SETTINGS

SESSION_COOKIE = "visio_session"
CSRF_COOKIE = "visio_csrf"
CSRF_FIELD = "csrf_token"
SESSION_AUDIENCE = "visio:session"
SESSION_LIFETIME = timedelta(hours=12)
ALGORITHM = "HS256"


def _secure(request: web.Request) -> bool:
    return request.app[SETTINGS].base_url.startswith("https://")


def sign_in(request: web.Request, response: web.StreamResponse, user_id: int) -> None:
    """Put a fresh session cookie on `response` (a new session id on each sign-in)."""
    now = request.app[CLOCK]()
    claims = {
        "sub": str(user_id),
        "sid": secrets.token_urlsafe(16),
        "aud": SESSION_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + SESSION_LIFETIME).timestamp()),
    }
    token = jwt.encode(claims, request.app[SETTINGS].secret_key, algorithm=ALGORITHM)
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


def user_id(request: web.Request) -> int | None:
    """The signed-in user's id, or None for no, a forged or an expired cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = jwt.decode(
            token,
            request.app[SETTINGS].secret_key,
            algorithms=[ALGORITHM],
            audience=SESSION_AUDIENCE,
            # Expiry is checked against the application's clock below, not the system's.
            options={"require": ["sub", "exp", "aud"], "verify_exp": False},
        )
        if int(claims["exp"]) <= request.app[CLOCK]().timestamp():
            return None
        return int(claims["sub"])
    except (jwt.InvalidTokenError, ValueError):
        return None


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
