"""Middlewares: locale, error mapping, security headers, one transaction per request, sign-in."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler

from visio import web_session
from visio.i18n import current_locale, negotiate_locale
from visio.i18n import gettext as _
from visio.keys import (
    ACTOR,
    CLOCK,
    CSP_NONCE,
    DB,
    KEEP_REFUSAL_WRITES,
    LOCALE,
    REQUEST_ID,
    SESSIONMAKER,
    SETTINGS,
)
from visio.logs import REQUEST_ID_HEADER, current_request_id, loggable_path, request_id_from
from visio.services import accounts, sessions
from visio.services.errors import (
    Conflict,
    DomainError,
    Internal,
    InvalidInput,
    Malformed,
    MethodNotAllowed,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    TooLarge,
    Unavailable,
)

if TYPE_CHECKING:
    from visio.settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
LANGUAGE_COOKIE = "visio_lang"
# Cookie-authenticated API calls that change something carry the page's form token here.
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX) or request.path in (
        "/healthz",
        "/readyz",
        "/metrics",
    )


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request's id (`X-Request-Id`, see `visio.logs`), for its log lines, its audit
    entries, its answer's header and its error page."""
    request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    request[REQUEST_ID] = request_id
    token = current_request_id.set(request_id)
    try:
        return await handler(request)
    finally:
        current_request_id.reset(token)


async def answer_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """`app.on_response_prepare`: every answer names its request, errors and files included."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The caller's language: the page's choice (cookie), else Accept-Language, else default.

    The JSON API follows Accept-Language only, so a script gets the same answer every time.
    """
    default = request.app[SETTINGS].default_locale
    chosen = None if is_api(request) else request.cookies.get(LANGUAGE_COOKIE)
    if chosen in ("fr", "en"):
        locale = chosen
    else:
        locale = negotiate_locale(request.headers.get("Accept-Language"), default)
    request[LOCALE] = locale
    token = current_locale.set(locale)
    try:
        return await handler(request)
    finally:
        current_locale.reset(token)


# The HTTP status of each domain error, the nearest class in the error's ancestry deciding
# (`SlotUnavailable` is a `Conflict`: 409). The one place errors meet HTTP.
HTTP_STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    Malformed: 400,
    NotAuthenticated: 401,
    NotAllowed: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    TooLarge: 413,
    InvalidInput: 422,
    Internal: 500,
    Unavailable: 503,
}


def http_status(error: DomainError) -> int:
    """The status a domain error is answered with."""
    for kind in type(error).__mro__:
        if kind in HTTP_STATUS:
            return HTTP_STATUS[kind]
    return 400


def error_json(error: DomainError) -> web.Response:
    body: dict[str, object] = {
        "code": error.code,
        "message": str(error.message),
        "fields": {name: str(message) for name, message in error.fields.items()},
    }
    body.update(error.extra)
    return web.json_response({"error": body}, status=http_status(error))


# aiohttp's own refusals (unknown path, wrong method…) in the same format as ours.
_HTTP_ERRORS: dict[int, type[DomainError]] = {
    400: Malformed,
    401: NotAuthenticated,
    403: NotAllowed,
    404: NotFound,
    405: MethodNotAllowed,
    413: TooLarge,
}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors and HTTP errors become the API's error format or an HTML page.

    Anything else is a bug: logged with its traceback, answered with a 500 that says nothing
    about the inside.
    """
    try:
        return await handler(request)
    except DomainError as error:
        return _render_error(request, error)
    except web.HTTPException as exc:
        if exc.status not in _HTTP_ERRORS:
            raise
        response = _render_error(request, _HTTP_ERRORS[exc.status]())
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as error:
        from visio.db.outage import unreachable
        from visio.keys import DB_OUTAGE

        if unreachable(error):
            # Our fault but not a bug: the outage is logged once, not once a request.
            request.app[DB_OUTAGE].failed(error)
            return _render_error(request, Unavailable())
        log.exception("unexpected error on %s %s", request.method, loggable_path(request))
        return _render_error(request, Internal())


def _render_error(request: web.Request, error: DomainError) -> web.StreamResponse:
    if isinstance(error, Unavailable):
        response = error_json(error) if is_api(request) else _unavailable_page(request)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if is_api(request):
        return error_json(error)
    if isinstance(error, NotAuthenticated):
        login = request.app.router["login"].url_for().with_query({"next": request.path_qs})
        raise web.HTTPSeeOther(location=login)
    from visio.handlers.render import render

    status = http_status(error)
    context = {"status": status, "message": str(error.message), "fields": error.fields}
    return render("error.html", request, context, status=status)


# When a client may try again after a 503 (seconds): a database restart takes about that.
RETRY_AFTER_SECONDS = 5


def _unavailable_page(request: web.Request) -> web.StreamResponse:
    from visio.handlers.render import render

    return render("unavailable.html", request, status=503)


def content_security_policy(nonce: str, *, meeting_origin: str | None = None) -> str:
    """The pages' content policy: their own files, and inline scripts carrying the request's
    `nonce`; for the pages that embed the meeting, `meeting_origin` (``https://host``) may
    also be framed and serve Jitsi's page script (its external API), nothing else."""
    # Jitsi's page script is the one file of the meeting server the page loads itself
    # (visio-join.js, visio-station.js); everything else comes inside the meeting's frame.
    meeting_script = f" {meeting_origin}/external_api.js" if meeting_origin else ""
    frames = f"frame-src {meeting_origin}; " if meeting_origin else ""
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'{meeting_script}; {frames}"
        "style-src 'self'; img-src 'self' data:; object-src 'none'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )


def embed_meeting(response: web.StreamResponse, nonce: str, domain: str) -> None:
    """Headers of a page embedding the meeting held on `domain`: its frame and script allowed
    on this response only; no cache keeps it (it may hold a meeting token); no address of it
    handed on to another page (the Referer)."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(
        nonce, meeting_origin=f"https://{domain}"
    )
    headers["Cache-Control"] = "no-store"
    headers["Referrer-Policy"] = "no-referrer"


# Every response but a page: nothing to load, run or frame.
NO_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
# In place of aiohttp's name and version.
SERVER_NAME = "visio"
# Static files are linked with their content's hash in the query (`append_version`): a
# changed file has a new address, so what a browser keeps is never stale.
STATIC_CACHE = "public, max-age=31536000, immutable"
REALM = 'Bearer realm="visio"'

ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def security_headers(settings: Settings) -> ResponseHook:
    """The headers every response carries, added as it goes out (`app.on_response_prepare`).

    A signal, not a middleware: it sees every response, also those no middleware returns
    (a redirect raised, a static file, aiohttp's own refusals and its last-resort 500). A
    header the handler set is kept (a meeting page's content policy). Pages get a content
    policy allowing their own files and the request's script nonce, anything else one
    allowing nothing; nothing is framed or sniffed; nothing is kept by a cache but static
    files; HSTS when the service is reached over https.
    """
    constant = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
    if settings.base_url.lower().startswith("https://"):
        constant["Strict-Transport-Security"] = HSTS

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        headers = response.headers
        headers["Server"] = SERVER_NAME
        for name, value in constant.items():
            headers.setdefault(name, value)
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.content_type == "text/html":
            nonce = request.get(CSP_NONCE) or secrets.token_urlsafe(16)
            headers.setdefault("Content-Security-Policy", content_security_policy(nonce))
        else:
            headers.setdefault("Content-Security-Policy", NO_CONTENT_POLICY)
        if _static_file(request, response):
            # Linked with its version: kept a year; without: asked again (its ETag) each time.
            cache = STATIC_CACHE if "v" in request.query else "no-cache"
        else:
            cache = "no-store"
        headers.setdefault("Cache-Control", cache)
        if response.status == 401:
            headers.setdefault("WWW-Authenticate", www_authenticate(request))

    return add


def _static_file(request: web.Request, response: web.StreamResponse) -> bool:
    """A file of /static/ found and sent (or found unchanged: 304)."""
    resource = request.match_info.route.resource
    return resource is not None and resource.name == "static" and response.status in (200, 304)


def www_authenticate(request: web.Request) -> str:
    """What a 401 answers in `WWW-Authenticate` (RFC 6750): the scheme and realm, and why a
    credential sent was refused."""
    authorization = request.headers.get("Authorization")
    if authorization is None:
        return REALM
    scheme, _sep, token = authorization.partition(" ")
    error = "invalid_token" if scheme.lower() == "bearer" and token.strip() else "invalid_request"
    return f'{REALM}, error="{error}"'


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The request's script nonce, for the page to render; the form token's cookie on pages.

    The headers themselves are added to every response as it goes out (`security_headers`).
    """
    request[CSP_NONCE] = secrets.token_urlsafe(16)
    response = await handler(request)
    if not is_api(request):
        web_session.set_csrf_cookie(request, response)
    return response


@web.middleware
async def transaction_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One session and one transaction per request.

    Committed when the handler succeeds *or* redirects (an HTTPException below 400 is how
    aiohttp redirects; rolling it back would lose the form just saved), rolled back on any
    error, raised or answered (a status of 400 or more), so a refused request never leaves
    half of its writes behind.
    """
    async with request.app[SESSIONMAKER]() as session:
        request[DB] = session
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        if response.status >= 400 and not request.get(KEEP_REFUSAL_WRITES):
            # A refusal a handler answered itself (a form shown again with its errors):
            # what it may have written on the way stays unwritten, as for a raised error.
            await session.rollback()
        else:
            await session.commit()
        return response


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is calling: a bearer token (API) or the session cookie (pages); None if nobody.

    A bad bearer token is refused at once: a script must learn its token is wrong rather
    than be treated as anonymous. A change made through the API with the session cookie
    needs the page's form token in `X-CSRF-Token` (403 otherwise); bearer calls do not.
    """
    session = request[DB]
    now = request.app[CLOCK]()
    actor: accounts.Actor | None = None
    authorization = request.headers.get("Authorization")
    if request.match_info.route.name == "metrics":
        # Its own token (VISIO_METRICS_TOKEN), no account's: checked by the handler.
        authorization = None
    if authorization is not None:
        scheme, _sep, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated(_("Use the header Authorization: Bearer <token>."))
        actor = await accounts.authenticate_token(session, token.strip(), now)
        if actor is None:
            raise NotAuthenticated(_("This API token is unknown or revoked."))
    else:
        session_token = web_session.session_token(request)
        if session_token is not None:
            actor = await sessions.session_actor(session, session_token, now)
        if (
            actor is not None
            and request.method not in SAFE_METHODS
            and request.path.startswith(API_PREFIX)
            and not web_session.csrf_valid(request, request.headers.get(CSRF_HEADER))
        ):
            # A browser sends the session cookie with any request, even one another site
            # makes it send; only a page of ours knows the token to put in this header.
            raise NotAllowed(
                _("Calls made with the session cookie need the header %(header)s of the page.",
                  header=CSRF_HEADER)
            )  # fmt: skip
    request[ACTOR] = actor
    if actor is not None and not is_api(request) and LANGUAGE_COOKIE not in request.cookies:
        # Pages speak the signed-in person's language unless they picked another one.
        request[LOCALE] = actor.locale
        current_locale.set(actor.locale)
    return await handler(request)
