"""Signing in and out of the pages, the language switch, and the headers every page carries."""

from __future__ import annotations

import re
from typing import Any

import pytest

from visio.db.models import Role

PASSWORD = "un mot de passe solide"


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


async def sign_in(client: Any, email: str, password: str, next_path: str = "") -> Any:
    page = await client.get("/login")
    token = form_token(await page.text())
    data = {"email": email, "password": password, "csrf_token": token}
    if next_path:
        data["next"] = next_path
    return await client.post("/login", data=data, allow_redirects=False)


async def test_a_page_needs_a_signed_in_person(client: Any) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/"


async def test_sign_in_then_home_then_sign_out(client: Any, create_user: Any) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", name="Anne Admin", password=PASSWORD)
    response = await sign_in(client, "ADMIN@visio.example", PASSWORD, next_path="/")
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.cookies["visio_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    home = await client.get("/")
    assert home.status == 200
    html = await home.text()
    assert "Bonjour, Anne Admin" in html
    assert '<html lang="fr">' in html
    out = await client.post("/logout", data={"csrf_token": form_token(html)}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_wrong_password_says_so_without_saying_which(client: Any, create_user: Any) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    wrong = await sign_in(client, "admin@visio.example", "not the password")
    unknown = await sign_in(client, "nobody@visio.example", PASSWORD)
    for response in (wrong, unknown):
        assert response.status == 401
        assert "Adresse électronique ou mot de passe incorrect." in await response.text()
        assert "visio_session" not in response.cookies


async def test_a_form_without_its_token_is_refused(client: Any, create_user: Any) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    response = await client.post(
        "/login",
        data={"email": "admin@visio.example", "password": PASSWORD},
        allow_redirects=False,
    )
    assert response.status == 400
    assert "visio_session" not in response.cookies


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example/",  # a tab the URL parser drops: //evil.example
        "/\n/evil.example/",
        "/%09/evil.example/",
        "javascript:alert(1)",
    ],
)
async def test_sign_in_never_sends_people_elsewhere(
    client: Any, create_user: Any, target: str
) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    response = await sign_in(client, "admin@visio.example", PASSWORD, next_path=target)
    assert response.status == 303
    assert response.headers["Location"] == "/"


async def test_a_forged_session_cookie_is_ignored(client: Any) -> None:
    client.session.cookie_jar.update_cookies({"visio_session": "eyJhbGciOiJub25lIn0.e30."})
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_the_language_switch_needs_its_form_token_and_stays_here(client: Any) -> None:
    page = await client.get("/login")
    token = form_token(await page.text())
    forged = await client.post("/language", data={"locale": "en"}, allow_redirects=False)
    assert forged.status == 400
    away = await client.post(
        "/language",
        data={"locale": "en", "next": "/\t/evil.example/", "csrf_token": token},
        allow_redirects=False,
    )
    assert away.status == 303
    assert away.headers["Location"] == "/"


async def test_the_language_switch_sticks(client: Any, create_user: Any) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", name="Anne", password=PASSWORD)
    await sign_in(client, "admin@visio.example", PASSWORD)
    home = await client.get("/")
    response = await client.post(
        "/language",
        data={"locale": "en", "next": "/", "csrf_token": form_token(await home.text())},
        allow_redirects=False,
    )
    assert response.status == 303
    html = await (await client.get("/")).text()
    assert '<html lang="en">' in html
    assert "Hello, Anne" in html


async def test_pages_carry_security_headers(client: Any) -> None:
    response = await client.get("/login")
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    csrf = response.cookies["visio_csrf"]
    assert csrf["httponly"] and csrf["samesite"] == "Strict"


async def test_an_unknown_page_is_a_readable_404(client: Any) -> None:
    response = await client.get("/nulle-part")
    assert response.status == 404
    html = await response.text()
    assert "Introuvable, ou hors de votre périmètre." in html
