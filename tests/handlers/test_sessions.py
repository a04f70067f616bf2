"""Sessions of the pages and signing in, through the real sign-in form.

Promised: the cookie holds a random token, the table only its hash; signing out ends the
session at once (the old cookie opens nothing); a session ends after 2 hours unused and
12 hours after sign-in whatever its use; a password set with a reset link ends the
person's other sessions (all of them when another browser set it); disabling an account
ends its sessions; an administrator sees a person's open sessions and closes them all
(audited); a sign-in gives the browser a new form token, the one from before is refused;
a cookie that is not a session of ours is nobody. Past 5 failed sign-ins in a row for an
account (10 for a client address), each further failure blocks it for 1 s, 2 s, 4 s… up
to 15 minutes: a blocked attempt is refused with 429 and `Retry-After` before any
password is checked, identically whether the account exists or not; a success clears
the counts; each block is audited without the email.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.conftest import Clock
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.app import create_app
from visio.db.models import AuditEntry, LoginThrottle, Role, User, WebSession
from visio.services import password_resets
from visio.services.accounts import actor_of, find_user_by_email
from visio.settings import Settings

DESK_EMAIL = "anne@visio.example"  # the same length as NOBODY_EMAIL
NOBODY_EMAIL = "nemo@visio.example"
ADMIN_EMAIL = "root@visio.example"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
async def desk(create_site: Any, create_user: Any) -> User:
    site = await create_site("France Services Murat")
    user: User = await create_user(
        Role.DESK, email=DESK_EMAIL, name="Anne Chastel", site_ids=[site.id], password=PASSWORD
    )
    return user


@pytest.fixture
async def admin(create_user: Any) -> User:
    user: User = await create_user(
        Role.ADMIN, email=ADMIN_EMAIL, name="Rose Admin", password=PASSWORD
    )
    return user


async def other_browser(aiohttp_client: Any, client: Any, **headers: str) -> Any:
    """A second browser (its own cookies) on the same server."""
    return await aiohttp_client(client.server, headers=headers or None)


def session_cookie(client: Any) -> str:
    cookie = client.session.cookie_jar.filter_cookies(client.make_url("/")).get("visio_session")
    assert cookie is not None, "no session cookie in this browser"
    return str(cookie.value)


async def opens_desk(client: Any) -> bool:
    """Whether the desk page opens (else: sent to the sign-in page)."""
    response = await client.get("/desk", allow_redirects=False)
    if response.status == 303:
        assert response.headers["Location"] == "/login?next=/desk"
        return False
    assert response.status == 200
    return True


async def rows(session: AsyncSession, user: User) -> list[WebSession]:
    found = await session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user.id)
        .order_by(WebSession.id)
        .execution_options(populate_existing=True)
    )
    return list(found.all())


# ---------------------------------------------------------------- sessions


async def test_the_cookie_holds_a_random_token_and_the_table_only_its_hash(
    client: Any, desk: User, session: AsyncSession, clock: Clock
) -> None:
    response = await sign_in(client, DESK_EMAIL, PASSWORD)
    assert response.status == 303
    cookie = response.cookies["visio_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert 0 < int(cookie["max-age"]) <= 12 * 3600
    token = cookie.value
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes
    [row] = await rows(session, desk)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (row.created_at, row.last_seen_at, row.ended_at) == (clock(), clock(), None)
    # A second sign-in in the same browser is a new session; the one before ends.
    clock.advance(timedelta(minutes=5))
    again = await sign_in(client, DESK_EMAIL, PASSWORD)
    assert again.cookies["visio_session"].value != token
    first, second = await rows(session, desk)
    assert first.ended_at == clock() and second.ended_at is None


async def test_over_https_the_cookie_is_secure(
    aiohttp_client: Any, settings: Settings, clock: Clock, connection: AsyncConnection,
    desk: User,
) -> None:  # fmt: skip
    https = Settings(
        database_url=settings.database_url, secret_key=settings.secret_key,
        run_worker=False, base_url="https://visio.cantal.example",
    )  # fmt: skip
    client = await aiohttp_client(create_app(https, clock=clock, bind=connection))
    page = await client.get("/login")
    assert page.cookies["visio_csrf"]["secure"]
    token = form_token(await page.text())
    # The test talks plain HTTP, over which a browser would not send a Secure cookie back.
    response = await client.post(
        "/login", data={"email": DESK_EMAIL, "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": f"visio_csrf={token}"}, allow_redirects=False,
    )  # fmt: skip
    assert response.status == 303
    assert response.cookies["visio_session"]["secure"]
    assert response.cookies["visio_csrf"]["secure"]


async def test_signing_out_ends_the_session_at_once(
    client: Any, desk: User, session: AsyncSession, clock: Clock
) -> None:
    await sign_in(client, DESK_EMAIL, PASSWORD)
    assert await opens_desk(client)
    old = session_cookie(client)
    page = await (await client.get("/")).text()
    out = await client.post("/logout", data={"csrf_token": form_token(page)}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"
    [row] = await rows(session, desk)
    assert row.ended_at == clock()
    # The old cookie, kept by someone (or sent again by hand), opens nothing any more.
    client.session.cookie_jar.update_cookies({"visio_session": old})
    assert not await opens_desk(client)
    me = await client.get("/api/v1/me")
    assert me.status == 401


async def test_a_session_unused_for_two_hours_ends(
    client: Any, desk: User, session: AsyncSession, clock: Clock
) -> None:
    await sign_in(client, DESK_EMAIL, PASSWORD)
    signed_in_at = clock()
    # Used every 1 h 59 min, it stays open.
    for _ in range(3):
        clock.advance(timedelta(hours=1, minutes=59))
        assert await opens_desk(client)
    [row] = await rows(session, desk)
    await session.refresh(row)
    assert row.last_seen_at == signed_in_at + 3 * timedelta(hours=1, minutes=59)
    clock.advance(timedelta(hours=2))
    assert not await opens_desk(client)


async def test_last_use_is_written_at_most_once_a_minute(
    client: Any, desk: User, session: AsyncSession, clock: Clock
) -> None:
    await sign_in(client, DESK_EMAIL, PASSWORD)
    signed_in_at = clock()
    clock.advance(timedelta(seconds=59))
    assert await opens_desk(client)
    [row] = await rows(session, desk)
    await session.refresh(row)
    assert row.last_seen_at == signed_in_at  # a read stays a read
    clock.advance(timedelta(seconds=1))
    assert await opens_desk(client)
    await session.refresh(row)
    assert row.last_seen_at == signed_in_at + timedelta(minutes=1)


async def test_a_session_ends_twelve_hours_after_sign_in_however_used(
    client: Any, desk: User, clock: Clock
) -> None:
    await sign_in(client, DESK_EMAIL, PASSWORD)
    for _ in range(7):  # 7 × 1 h 42 min = 11 h 54 min
        clock.advance(timedelta(hours=1, minutes=42))
        assert await opens_desk(client)
    clock.advance(timedelta(minutes=5))  # 11 h 59 min
    assert await opens_desk(client)
    clock.advance(timedelta(minutes=1))  # 12 h
    assert not await opens_desk(client)


async def test_a_password_set_with_a_link_ends_the_other_sessions(
    client: Any, aiohttp_client: Any, desk: User, admin: User, session: AsyncSession,
    clock: Clock,
) -> None:  # fmt: skip
    """The desk is signed in on two computers and sets a new password on the second: the
    first is signed out, the second stays. A link used in a browser not signed in as the
    desk (anyone holding it) signs the desk out everywhere."""
    office = await other_browser(aiohttp_client, client)
    await sign_in(client, DESK_EMAIL, PASSWORD)
    await sign_in(office, DESK_EMAIL, PASSWORD)
    assert await opens_desk(client) and await opens_desk(office)

    async def reset_path() -> str:
        admin_actor = actor_of(await _loaded(session, admin))
        issued = await password_resets.issue_reset(
            session, admin_actor, desk.id, link_for=lambda token: f"/password/reset/{token}",
            by_email=False, now=clock(),
        )  # fmt: skip
        await session.commit()
        assert issued.link is not None
        return issued.link

    async def set_password(browser: Any, password: str) -> None:
        path = await reset_path()
        token = form_token(await (await browser.get(path)).text())
        done = await browser.post(
            path,
            data={"password": password, "password_again": password, "csrf_token": token},
            allow_redirects=False,
        )
        assert done.status == 303 and done.headers["Location"] == "/password/changed"

    await set_password(office, "un tout nouveau mot de passe")
    assert not await opens_desk(client)
    assert await opens_desk(office)
    # Someone else's browser (here nobody's) uses a new link: every session of the desk ends.
    stranger = await other_browser(aiohttp_client, client)
    await set_password(stranger, "encore un autre mot de passe")
    assert not await opens_desk(office)
    assert all(row.ended_at is not None for row in await rows(session, desk))


async def _loaded(session: AsyncSession, user: User) -> User:
    found = await find_user_by_email(session, user.email)
    assert found is not None
    return found


async def test_disabling_an_account_ends_its_sessions(
    client: Any, aiohttp_client: Any, desk: User, admin: User, bearer: Any
) -> None:
    await sign_in(client, DESK_EMAIL, PASSWORD)
    assert await opens_desk(client)
    headers = await bearer(admin)
    off = await client.patch(f"/api/v1/users/{desk.id}", json={"active": False}, headers=headers)
    assert off.status == 200
    assert not await opens_desk(client)
    # Enabled again, the account starts afresh: the old session stays ended.
    on = await client.patch(f"/api/v1/users/{desk.id}", json={"active": True}, headers=headers)
    assert on.status == 200
    assert not await opens_desk(client)
    assert (await sign_in(client, DESK_EMAIL, PASSWORD)).status == 303
    assert await opens_desk(client)


async def test_an_administrator_sees_and_closes_a_persons_sessions(
    client: Any, aiohttp_client: Any, desk: User, admin: User, session: AsyncSession,
    clock: Clock,
) -> None:  # fmt: skip
    firefox = await other_browser(aiohttp_client, client, **{"User-Agent": FIREFOX})
    await sign_in(firefox, DESK_EMAIL, PASSWORD)
    clock.advance(timedelta(minutes=30))
    assert await opens_desk(firefox)
    await sign_in(client, ADMIN_EMAIL, PASSWORD)
    html = await (await client.get(f"/admin/users/{desk.id}")).text()
    assert "Sessions ouvertes" in html
    table = html[html.index("Sessions ouvertes") :]
    assert "Firefox · Windows" in table
    # Started at 09:00 in Paris, last seen at 09:30.
    assert "09:00" in table and "09:30" in table
    assert "Fermer toutes ses sessions" in table

    # The desk cannot close them (only administrators).
    desk_token = form_token(await (await firefox.get("/")).text())
    refused = await firefox.post(
        f"/admin/users/{desk.id}/sessions/end", data={"csrf_token": desk_token},
        allow_redirects=False,
    )  # fmt: skip
    assert refused.status == 403

    closed = await client.post(
        f"/admin/users/{desk.id}/sessions/end", data={"csrf_token": form_token(html)},
        allow_redirects=False,
    )  # fmt: skip
    assert closed.status == 303
    assert closed.headers["Location"] == f"/admin/users/{desk.id}?done=sessions_ended"
    after = await (await client.get(closed.headers["Location"])).text()
    assert "Les sessions du compte sont fermées" in after
    assert "Aucune session ouverte." in after
    assert not await opens_desk(firefox)
    entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "session.end_all"))
    assert entry is not None
    assert (entry.user_id, entry.entity, entry.entity_id) == (admin.id, "user", desk.id)
    assert entry.details == {"sessions": 1}
    # The administrator's own session is untouched.
    assert (await client.get("/admin/users")).status == 200


async def test_closing_the_sessions_of_an_unknown_account_is_a_404(
    client: Any, admin: User
) -> None:
    await sign_in(client, ADMIN_EMAIL, PASSWORD)
    token = form_token(await (await client.get("/")).text())
    response = await client.post(
        "/admin/users/999999/sessions/end", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 404


async def test_the_form_token_is_renewed_at_sign_in(client: Any, admin: User) -> None:
    page = await client.get("/login")
    planted = form_token(await page.text())
    assert page.cookies["visio_csrf"].value == planted
    response = await sign_in(client, ADMIN_EMAIL, PASSWORD)
    renewed = response.cookies["visio_csrf"]
    assert renewed.value != planted
    assert renewed["httponly"] and renewed["samesite"] == "Strict"
    # The token from before the sign-in is refused, by the forms and by the API.
    old_form = await client.post("/logout", data={"csrf_token": planted}, allow_redirects=False)
    assert old_form.status == 400
    old_api = await client.post(
        f"/api/v1/users/{1}/tokens", json={"label": "essai"}, headers={"X-CSRF-Token": planted}
    )
    assert old_api.status == 403
    html = await (await client.get("/")).text()
    assert form_token(html) == renewed.value
    me = await client.get("/api/v1/me")
    assert me.status == 200 and (await me.json())["email"] == ADMIN_EMAIL
    out = await client.post("/logout", data={"csrf_token": form_token(html)}, allow_redirects=False)
    assert out.status == 303


async def test_the_api_takes_the_session_cookie_with_the_form_token(
    client: Any, admin: User
) -> None:
    await sign_in(client, ADMIN_EMAIL, PASSWORD)
    token = form_token(await (await client.get("/")).text())
    made = await client.post(
        f"/api/v1/users/{admin.id}/tokens", json={"label": "tableur"},
        headers={"X-CSRF-Token": token},
    )  # fmt: skip
    assert made.status == 201
    without = await client.post(f"/api/v1/users/{admin.id}/tokens", json={"label": "x"})
    assert without.status == 403


@pytest.mark.parametrize(
    "cookie",
    [
        # The right shape, but no session of ours (fixed: parallel workers must collect the
        # same test names).
        "MKiguWS1ENAFXLDOtLLVJE3L2CryWxsIlZEpmX3Hivg",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",  # the JWT of before
        "' OR 1=1 --",
        "x" * 5000,
    ],
)
async def test_a_cookie_that_is_no_session_of_ours_is_nobody(
    client: Any, desk: User, cookie: str
) -> None:
    client.session.cookie_jar.update_cookies({"visio_session": cookie})
    assert not await opens_desk(client)
    assert (await client.get("/api/v1/me")).status == 401


# ---------------------------------------------------------------- throttling


async def attempt(client: Any, email: str, password: str, **headers: str) -> Any:
    page = await client.get("/login", headers=headers)
    token = form_token(await page.text())
    return await client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        headers=headers,
        allow_redirects=False,
    )


async def test_past_five_failures_each_one_blocks_the_account_longer(
    client: Any, desk: User, clock: Clock
) -> None:
    for _ in range(5):
        wrong = await attempt(client, DESK_EMAIL, "pas le bon")
        assert wrong.status == 401
        assert "Retry-After" not in wrong.headers
    # Blocked for 1 s: even the right password is not looked at.
    blocked = await attempt(client, DESK_EMAIL, PASSWORD)
    assert blocked.status == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Trop de tentatives : réessayez dans 1 seconde." in await blocked.text()
    assert "visio_session" not in blocked.cookies
    # Each further failure doubles the wait: 2 s, 4 s, 8 s…
    waits = []
    for _ in range(12):
        clock.advance(timedelta(seconds=int(blocked.headers["Retry-After"])))
        assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
        blocked = await attempt(client, DESK_EMAIL, PASSWORD)
        assert blocked.status == 429
        waits.append(int(blocked.headers["Retry-After"]))
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]  # 15 min at most
    assert "Trop de tentatives : réessayez dans 15 minutes." in await blocked.text()
    english = await attempt(client, DESK_EMAIL, PASSWORD, **{"Accept-Language": "en"})
    assert english.status == 429
    assert "Too many attempts: try again in 15 minutes." in await english.text()
    # Once the wait is over, the right password signs in and the count starts again.
    clock.advance(timedelta(minutes=15))
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303
    for _ in range(5):
        assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).headers["Retry-After"] == "1"


async def test_a_success_clears_the_count(client: Any, desk: User, session: AsyncSession) -> None:
    for _ in range(4):
        assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303
    assert (await session.scalars(select(LoginThrottle))).all() == []
    for _ in range(4):  # four more: not yet five in a row
        assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303


async def test_failures_a_day_old_no_longer_count(client: Any, desk: User, clock: Clock) -> None:
    for _ in range(4):
        assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
    clock.advance(timedelta(days=1, seconds=1))
    assert (await attempt(client, DESK_EMAIL, "pas le bon")).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303


def _same_shape(response_text: str, email: str) -> str:
    """A page with what differs from one request to the next by nature (the email typed,
    the content policy's nonce) put aside."""
    text = response_text.replace(email, "EMAIL")
    return re.sub(r'nonce(-|=")[A-Za-z0-9_-]+', "nonce", text)


def _headers(response: Any) -> dict[str, str]:
    return {
        name: re.sub(r"nonce-[A-Za-z0-9_-]+", "nonce", value)
        for name, value in response.headers.items()
        # The date, and the request's own id (drawn afresh for each request).
        if name not in ("Date", "X-Request-ID")
    }


async def test_an_unknown_email_is_answered_exactly_as_a_real_one(
    client: Any, aiohttp_client: Any, desk: User, admin: User
) -> None:
    """Five failures for the desk, and five for an email without an account: the same
    answers, word for word, header for header; and both then blocked alike."""
    answers: dict[str, list[Any]] = {DESK_EMAIL: [], NOBODY_EMAIL: []}
    for email in (DESK_EMAIL, NOBODY_EMAIL):
        for _ in range(5):
            response = await attempt(client, email, "pas le bon")
            answers[email].append((response.status, _headers(response),
                                   _same_shape(await response.text(), email)))  # fmt: skip
        response = await attempt(client, email, PASSWORD)
        answers[email].append((response.status, _headers(response),
                               _same_shape(await response.text(), email)))  # fmt: skip
        # The address's count is cleared by a success (another account's, in another
        # browser at the same address), so that only the account's count is at work here.
        colleague = await other_browser(aiohttp_client, client)
        assert (await attempt(colleague, ADMIN_EMAIL, PASSWORD)).status == 303
    assert answers[DESK_EMAIL] == answers[NOBODY_EMAIL]
    assert [status for status, _headers_, _body in answers[DESK_EMAIL]] == [401] * 5 + [429]
    assert answers[NOBODY_EMAIL][-1][1]["Retry-After"] == "1"


async def test_each_block_is_audited_without_the_email(
    client: Any, desk: User, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(6):
        await attempt(client, DESK_EMAIL, "le mot de passe essayé")
    for _ in range(5):
        await attempt(client, NOBODY_EMAIL, "le mot de passe essayé")
    entries = (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login.throttled").order_by(AuditEntry.id)
        )
    ).all()
    # The desk: blocked at the 5th failure (the 6th attempt was refused unchecked, and
    # counted nothing); the unknown email at its 5th; the address at its 10th.
    described = [(entry.entity, entry.entity_id, entry.details) for entry in entries]
    assert described == [
        ("user", desk.id, {"scope": "account", "failures": 5, "blocked_seconds": 1}),
        ("user", None, {"scope": "account", "failures": 5, "blocked_seconds": 1}),
        ("sign_in", None, {"scope": "address", "failures": 10, "blocked_seconds": 1}),
    ]
    assert all(entry.user_id is None for entry in entries)
    secrets_seen = [DESK_EMAIL, NOBODY_EMAIL, "le mot de passe essayé"]
    for text in [str(entry.details) for entry in entries] + [
        r.getMessage() for r in caplog.records
    ]:
        assert not any(secret in text for secret in secrets_seen), text
    # Only hashes are kept of what was tried.
    keys = [row.key for row in (await session.scalars(select(LoginThrottle))).all()]
    assert keys and all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys)
    # Keyed by the secret key: a list of emails hashed alone matches none of them.
    for tried in (DESK_EMAIL, NOBODY_EMAIL):
        assert hashlib.sha256(tried.lower().encode()).hexdigest() not in keys


async def test_one_address_trying_many_emails_is_blocked(
    client: Any, desk: User, clock: Clock
) -> None:
    for number in range(10):
        assert (await attempt(client, f"essai{number}@visio.example", "x" * 12)).status == 401
    # Any email from that address, even a real account with its password, waits.
    blocked = await attempt(client, DESK_EMAIL, PASSWORD)
    assert blocked.status == 429 and blocked.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    assert (await attempt(client, "essai10@visio.example", "x" * 12)).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).headers["Retry-After"] == "2"
    clock.advance(timedelta(seconds=2))
    # A success from the address clears its count.
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303
    for number in range(9):
        assert (await attempt(client, f"autre{number}@visio.example", "x" * 12)).status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD)).status == 303


async def test_behind_nginx_each_client_address_is_counted_apart(
    client: Any, desk: User, clock: Clock
) -> None:
    """nginx connects from loopback and names the client in X-Forwarded-For: the clients
    behind it are told apart (VISIO_FORWARDED_ALLOW_IPS trusts loopback by default)."""
    first = {"X-Forwarded-For": "203.0.113.7"}
    for number in range(10):
        refused = await attempt(client, f"essai{number}@visio.example", "x" * 12, **first)
        assert refused.status == 401
    assert (await attempt(client, DESK_EMAIL, PASSWORD, **first)).status == 429
    # Another client of the same nginx is not held up by the first one's failures…
    other = await attempt(client, DESK_EMAIL, PASSWORD, **{"X-Forwarded-For": "203.0.113.8"})
    assert other.status == 303
    # …and the first cannot slip out by writing another address before nginx's own.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert (await attempt(client, "essai@visio.example", "x" * 12, **forged)).status == 429
