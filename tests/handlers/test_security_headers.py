"""Security headers on every response: pages, API calls, errors, redirects, static files.

One table of responses, each checked for every header, over an http and an https base
URL: the content policy (pages: their own files and the request's nonce; the meeting
pages: the configured Jitsi server too, for its frame and its page script, nothing else;
anything else: nothing at all), no framing, no sniffing, the Referer kept home, no cache
but for static files, HSTS over https only, a `Server` without a version, and
`WWW-Authenticate` on every 401.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from aiohttp import CookieJar, web
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import SECRET, Clock
from tests.handlers.conftest import MakeWorld, World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.app import create_app
from visio.db.models import Role, User
from visio.settings import Settings

JITSI_DOMAIN = "visio-meet.example.org"
NO_CONTENT = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
NONCE = re.compile(r"'nonce-[A-Za-z0-9_-]{22}'")
# A page's policy, the nonce aside (it changes with every request).
PAGE_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'", "'nonce-…'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
}
MEETING_POLICY = {
    **PAGE_POLICY,
    "script-src": ["'self'", "'nonce-…'", f"https://{JITSI_DOMAIN}/external_api.js"],
    "frame-src": [f"https://{JITSI_DOMAIN}"],
}
TEMPLATES = Path(__file__).resolve().parents[2] / "visio" / "templates"

Kind = Literal["page", "meeting", "other", "static", "static unversioned"]


def directives(policy: str) -> dict[str, list[str]]:
    """A content policy as {directive: sources}, nonces written 'nonce-…'."""
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice in {policy!r}"
        parsed[name] = [NONCE.sub("'nonce-…'", source) for source in sources]
    return parsed


async def _fault(request: web.Request) -> web.StreamResponse:
    raise RuntimeError("a bug, on purpose")


@pytest.fixture(params=["http", "https"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    return Settings(
        database_url=database_url, secret_key=SECRET, run_worker=False,
        base_url=f"{request.param}://visio.example.org", jitsi_domain=JITSI_DOMAIN,
    )  # fmt: skip


@pytest.fixture
async def client(
    aiohttp_server: Callable[..., Any],
    aiohttp_client: Callable[..., Any],
    settings: Settings,
    clock: Clock,
    connection: AsyncConnection,
) -> Any:
    """The whole application with two routes failing on purpose (a page and an API path),
    which only this test's application has. Over https its cookies are `Secure`: the
    client treats the test server as the https origin a proxy would present."""
    app = create_app(settings, clock=clock, bind=connection)
    app.router.add_get("/test/fault", _fault)
    app.router.add_get("/api/v1/test/fault", _fault)
    server = await aiohttp_server(app)
    jar = CookieJar(unsafe=True, treat_as_secure_origin=server.make_url("/"))
    return await aiohttp_client(server, cookie_jar=jar)


@dataclass
class Scene:
    client: Any
    world: World
    desk: User  # a desk agent of the world's house who signs in with PASSWORD
    appointment_id: int
    clock: Clock

    async def signed_in(self) -> None:
        self.client.session.cookie_jar.clear()
        assert (await sign_in(self.client, self.desk.email, PASSWORD)).status == 303

    async def get(self, path: str, **options: Any) -> Any:
        return await self.client.get(path, allow_redirects=False, **options)


@pytest.fixture
async def scene(
    client: Any, make_world: MakeWorld, create_user: Callable[..., Awaitable[User]], clock: Clock
) -> AsyncIterator[Scene]:
    world = await make_world()
    desk = await create_user(
        Role.DESK, email="accueil@visio.example", site_ids=[world.site.id], password=PASSWORD
    )
    booked = await book(client, world)  # Monday 16 March 2026, 10:00 in Murat
    yield Scene(client, world, desk, booked["id"], clock)


async def _login_page(scene: Scene) -> Any:
    return await scene.get("/login")


async def _desk_day(scene: Scene) -> Any:
    await scene.signed_in()
    return await scene.get("/desk")


async def _appointment_page(scene: Scene) -> Any:
    await scene.signed_in()
    return await scene.get(f"/appointments/{scene.appointment_id}")


async def _meeting_page(scene: Scene) -> Any:
    scene.clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)  # its window is open
    await scene.signed_in()
    response = await scene.get(f"/appointments/{scene.appointment_id}/join/station")
    assert "data-meeting" in await response.text()
    return response


async def _api_call(scene: Scene) -> Any:
    return await scene.get(
        f"/api/v1/appointments/{scene.appointment_id}", headers=scene.world.headers
    )


async def _unknown_page(scene: Scene) -> Any:
    await scene.signed_in()
    return await scene.get("/nowhere")


async def _unknown_api_path(scene: Scene) -> Any:
    return await scene.get("/api/v1/nowhere", headers=scene.world.headers)


async def _wrong_method_api(scene: Scene) -> Any:
    return await scene.client.delete("/api/v1/slots", headers=scene.world.headers)


async def _wrong_method_page(scene: Scene) -> Any:
    return await scene.client.put("/login")


async def _to_sign_in(scene: Scene) -> Any:
    response = await scene.get("/desk")  # nobody signed in
    assert response.headers["Location"] == "/login?next=/desk"
    return response


async def _after_a_form(scene: Scene) -> Any:
    token = form_token(await (await scene.get("/login")).text())
    response = await scene.client.post(
        "/language",
        data={"locale": "en", "next": "/login", "csrf_token": token},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/login"
    return response


async def _no_token(scene: Scene) -> Any:
    return await scene.get("/api/v1/appointments")


async def _bad_token(scene: Scene) -> Any:
    return await scene.get("/api/v1/appointments", headers={"Authorization": "Bearer visio_nope"})


async def _other_scheme(scene: Scene) -> Any:
    return await scene.get("/api/v1/appointments", headers={"Authorization": "Basic YTpi"})


async def _forbidden(scene: Scene) -> Any:
    return await scene.get("/api/v1/users", headers=scene.world.headers)  # admins only


async def _forbidden_page(scene: Scene) -> Any:
    await scene.signed_in()
    return await scene.get("/admin/users")


async def _invalid_field(scene: Scene) -> Any:
    query = {"site_id": "x", "motive_id": "1", "from": "2026-03-16", "to": "2026-03-16"}
    return await scene.get("/api/v1/slots", params=query, headers=scene.world.headers)


async def _too_large(scene: Scene) -> Any:
    body = io.BytesIO(b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}')
    headers = {**scene.world.headers, "Content-Type": "application/json"}
    return await scene.client.post("/api/v1/appointments", data=body, headers=headers)


def _static_url(scene: Scene) -> str:
    """The stylesheet's address as the pages link it, with its version."""
    url = str(scene.client.app.router["static"].url_for(filename="visio.css"))
    assert "?v=" in url
    return url


async def _static_file(scene: Scene) -> Any:
    return await scene.get(_static_url(scene))


async def _static_unchanged(scene: Scene) -> Any:
    first = await scene.get(_static_url(scene))
    return await scene.get(_static_url(scene), headers={"If-None-Match": first.headers["ETag"]})


async def _static_unversioned(scene: Scene) -> Any:
    return await scene.get("/static/visio.css")


async def _unknown_static_file(scene: Scene) -> Any:
    return await scene.get("/static/nothing.css")


async def _health(scene: Scene) -> Any:
    return await scene.get("/healthz")


async def _fault_page(scene: Scene) -> Any:
    await scene.signed_in()
    return await scene.get("/test/fault")


async def _fault_api(scene: Scene) -> Any:
    return await scene.get("/api/v1/test/fault", headers=scene.world.headers)


@dataclass(frozen=True)
class Case:
    make: Callable[[Scene], Awaitable[Any]]
    status: int
    kind: Kind


CASES: dict[str, Case] = {
    "sign-in page": Case(_login_page, 200, "page"),
    "desk's day": Case(_desk_day, 200, "page"),
    "appointment page": Case(_appointment_page, 200, "page"),
    "meeting page": Case(_meeting_page, 200, "meeting"),
    "API call": Case(_api_call, 200, "other"),
    "unknown page": Case(_unknown_page, 404, "page"),
    "unknown API path": Case(_unknown_api_path, 404, "other"),
    "wrong method, API": Case(_wrong_method_api, 405, "other"),
    "wrong method, page": Case(_wrong_method_page, 405, "page"),
    "redirect to sign in": Case(_to_sign_in, 303, "other"),
    "redirect after a form": Case(_after_a_form, 303, "other"),
    "API without a token": Case(_no_token, 401, "other"),
    "API with a bad token": Case(_bad_token, 401, "other"),
    "API with another scheme": Case(_other_scheme, 401, "other"),
    "API forbidden": Case(_forbidden, 403, "other"),
    "page forbidden": Case(_forbidden_page, 403, "page"),
    "invalid field": Case(_invalid_field, 422, "other"),
    "body too large": Case(_too_large, 413, "other"),
    "static file": Case(_static_file, 200, "static"),
    "static file unchanged": Case(_static_unchanged, 304, "static"),
    "static file without version": Case(_static_unversioned, 200, "static unversioned"),
    # aiohttp answers it itself, with no body.
    "unknown static file": Case(_unknown_static_file, 404, "other"),
    "health": Case(_health, 200, "other"),
    "fault page": Case(_fault_page, 500, "page"),
    "fault API": Case(_fault_api, 500, "other"),
}
# What a 401 says in WWW-Authenticate, by what the caller sent.
CHALLENGES = {
    "API without a token": 'Bearer realm="visio"',
    "API with a bad token": 'Bearer realm="visio", error="invalid_token"',
    "API with another scheme": 'Bearer realm="visio", error="invalid_request"',
}


@pytest.mark.parametrize("name", CASES)
async def test_every_response_carries_the_security_headers(
    scene: Scene, settings: Settings, name: str
) -> None:
    case = CASES[name]
    response = await case.make(scene)
    assert response.status == case.status, await response.text()
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Server"] == "visio"  # not aiohttp's name and version
    policy = headers["Content-Security-Policy"]
    assert directives(policy)["frame-ancestors"] == ["'none'"]
    if case.kind == "page":
        assert directives(policy) == PAGE_POLICY
        assert headers["Content-Type"].startswith("text/html")
    elif case.kind == "meeting":
        # The configured Jitsi server for the frame and its page script; nothing else.
        assert directives(policy) == MEETING_POLICY
    else:
        assert policy == NO_CONTENT
    if case.kind == "meeting":
        assert headers["Referrer-Policy"] == "no-referrer"  # nothing of the page travels on
    else:
        assert headers["Referrer-Policy"] == "same-origin"
    if case.kind == "static":
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    elif case.kind == "static unversioned":
        assert headers["Cache-Control"] == "no-cache"
    else:
        assert headers["Cache-Control"] == "no-store"
    if settings.base_url.startswith("https:"):
        assert headers["Strict-Transport-Security"] == HSTS
    else:
        assert "Strict-Transport-Security" not in headers
    if case.status == 401:
        assert headers["WWW-Authenticate"] == CHALLENGES[name]
    else:
        assert "WWW-Authenticate" not in headers
    if case.status == 405:
        assert headers["Allow"]


async def test_the_fault_is_told_without_the_inside(scene: Scene) -> None:
    """The failing route of this test's application answers as any fault would."""
    page = await _fault_page(scene)
    assert "a bug, on purpose" not in await page.text()
    api = await _fault_api(scene)
    assert (await api.json())["error"]["code"] == "internal"


async def test_each_page_gets_its_own_nonce(scene: Scene) -> None:
    policies = [(await _login_page(scene)).headers["Content-Security-Policy"] for _ in range(3)]
    nonces = {NONCE.search(policy).group(0) for policy in policies}  # type: ignore[union-attr]
    assert len(nonces) == 3


async def test_the_meeting_server_is_allowed_on_open_meeting_pages_only(scene: Scene) -> None:
    """Before its window opens the join page embeds nothing: the strict policy."""
    scene.clock.now = datetime(2026, 3, 16, 8, 30, tzinfo=UTC)
    await scene.signed_in()
    early = await scene.get(f"/appointments/{scene.appointment_id}/join/station")
    assert early.status == 200
    assert JITSI_DOMAIN not in early.headers["Content-Security-Policy"]


def test_templates_hold_nothing_the_content_policy_refuses() -> None:
    """No inline script but one carrying the request's nonce, no inline style, no event
    handler attribute, no javascript: link: the policy would refuse them in the browser.
    (Emails are read elsewhere, under their reader's rules.)"""
    refused = {
        "a script without a source or a nonce": re.compile(
            r"<script(?![^>]*\b(?:src=\"\{\{ static\(|nonce=\"\{\{ csp_nonce \}\}\"))[^>]*>"
        ),
        "a style attribute": re.compile(r"\sstyle\s*="),
        "a style element": re.compile(r"<style\b"),
        "an event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
        "a javascript: link": re.compile(r"javascript:", re.IGNORECASE),
    }
    found = [
        f"{template.relative_to(TEMPLATES)}: {what}"
        for template in sorted(TEMPLATES.rglob("*.html"))
        if "emails" not in template.relative_to(TEMPLATES).parts
        for what, pattern in refused.items()
        if pattern.search(template.read_text(encoding="utf-8"))
    ]
    assert not found
    assert re.search(r"\son[a-z]+\s*=", '<button onclick="window.print()">')  # it would see one
