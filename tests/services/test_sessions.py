"""The sessions service: the delays of the sign-in throttle, the browsers' names, and a
session's times and ends read straight from the table."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from visio.db.models import LoginThrottle, Role, WebSession
from visio.services import sessions
from visio.services.accounts import actor_of, find_user_by_email
from visio.services.errors import NotAllowed, NotFound

PASSWORD = "un mot de passe solide"


@pytest.mark.parametrize(
    ("failures", "allowed", "seconds"),
    [
        (1, 5, None),  # a few mistypes: nothing
        (4, 5, None),
        (5, 5, 1),  # the 5th in a row blocks for a second
        (6, 5, 2),
        (7, 5, 4),
        (14, 5, 512),
        (15, 5, 900),  # 1024 s: held at 15 minutes
        (1000, 5, 900),  # however many
        (9, 10, None),  # an address is allowed more
        (10, 10, 1),
    ],
)
def test_each_failure_past_the_allowed_ones_doubles_the_wait(
    failures: int, allowed: int, seconds: int | None
) -> None:
    wait = sessions.block_for(failures, allowed)
    assert (wait.total_seconds() if wait else None) == seconds


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox · Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge · Windows",  # Edge also names Chrome and Safari
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome · Linux",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome · Android",  # Android also names Linux
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari · iOS",
        ),
        ("Python/3.11 aiohttp/3.14.5", ""),
        ("", ""),
    ],
)
def test_a_browser_is_named_as_a_person_knows_it(user_agent: str, name: str) -> None:
    assert sessions.browser_name(user_agent) == name


async def test_a_session_is_open_until_idle_or_old_or_ended(
    session: AsyncSession, create_user: Any, clock: Clock
) -> None:
    user = await create_user(Role.ADMIN, email="rose@visio.example", password=PASSWORD)
    token = await sessions.open_session(session, user.id, user_agent="x" * 500, now=clock())
    row = await session.scalar(select(WebSession).where(WebSession.user_id == user.id))
    assert row is not None and len(row.user_agent) == 200
    actor = await sessions.session_actor(session, token, clock())
    assert actor is not None and actor.user_id == user.id
    clock.advance(timedelta(hours=1, minutes=59, seconds=59))
    assert await sessions.session_actor(session, token, clock()) is not None
    clock.advance(timedelta(hours=2))
    assert await sessions.session_actor(session, token, clock()) is None
    assert await sessions.session_actor(session, "nothing of ours", clock()) is None

    other = await sessions.open_session(session, user.id, user_agent="", now=clock())
    kept = await sessions.open_session(session, user.id, user_agent="", now=clock())
    assert await sessions.end_user_sessions(session, user.id, now=clock(), keep_token=kept) >= 1
    assert await sessions.session_actor(session, other, clock()) is None
    assert await sessions.session_actor(session, kept, clock()) is not None
    await sessions.end_session(session, kept, now=clock())
    assert await sessions.session_actor(session, kept, clock()) is None


async def test_only_administrators_list_and_close_sessions(
    session: AsyncSession, create_user: Any, create_site: Any, clock: Clock
) -> None:
    site = await create_site()
    desk = await create_user(Role.DESK, email="desk@visio.example", site_ids=[site.id])
    admin = await create_user(Role.ADMIN, email="root@visio.example")
    desk_actor = actor_of(await _loaded(session, desk.email))
    admin_actor = actor_of(await _loaded(session, admin.email))
    await sessions.open_session(session, desk.id, user_agent="", now=clock())
    with pytest.raises(NotAllowed):
        await sessions.list_sessions(session, desk_actor, desk.id, now=clock())
    with pytest.raises(NotAllowed):
        await sessions.end_sessions_of(session, desk_actor, desk.id, now=clock())
    with pytest.raises(NotFound):
        await sessions.end_sessions_of(session, admin_actor, 999_999, now=clock())
    assert len(await sessions.list_sessions(session, admin_actor, desk.id, now=clock())) == 1
    assert await sessions.end_sessions_of(session, admin_actor, desk.id, now=clock()) == 1
    assert await sessions.list_sessions(session, admin_actor, desk.id, now=clock()) == []


async def _loaded(session: AsyncSession, email: str) -> Any:
    found = await find_user_by_email(session, email)
    assert found is not None
    return found


async def test_a_wrong_password_is_counted_and_a_blocked_key_is_not_checked(
    session: AsyncSession, create_user: Any, clock: Clock
) -> None:
    await create_user(Role.ADMIN, email="rose@visio.example", password=PASSWORD)

    async def attempt(password: str, email: str = "Rose@Visio.example ") -> object:
        return await sessions.sign_in(
            session, email, password, address="192.0.2.7", user_agent="",
            previous_token=None, secret="s" * 40, now=clock(),
        )  # fmt: skip

    for _ in range(5):
        assert isinstance(await attempt("pas le bon"), sessions.WrongCredentials)
    counts = {row.scope: row.failures for row in await session.scalars(select(LoginThrottle))}
    assert counts == {"account": 5, "address": 5}
    blocked = await attempt(PASSWORD)
    assert blocked == sessions.TooManyAttempts(retry_after=1)
    # The email is folded: the same account however it is typed.
    assert await attempt(PASSWORD, email="ROSE@visio.example") == blocked
    clock.advance(timedelta(seconds=1))
    signed_in = await attempt(PASSWORD)
    assert isinstance(signed_in, sessions.SignedIn)
    assert (await session.scalars(select(LoginThrottle))).all() == []
