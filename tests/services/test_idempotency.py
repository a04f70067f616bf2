"""Safe retries, as the service keeps them: a key's first answer given again for the same
request, refused for another, per user, forgotten after 24 hours; a refused request keeps
nothing; two transactions claiming one key at once end with one answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.conftest import Clock
from tests.services.conftest import use_case
from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import upgrade_engine
from visio.db.models import AuditEntry, IdempotencyKey, Role, User
from visio.services import accounts, idempotency, retention
from visio.services.errors import IdempotencyKeyReused, InvalidInput
from visio.services.idempotency import Answer, Claim, request_hash
from visio.services.permissions import Actor

BOOKING = request_hash("POST", "/api/v1/appointments", {"site_id": 1, "motive_id": 2})
CREATED = Answer(201, {"id": 7, "reference": "V-000007"}, "/api/v1/appointments/7")
MOVED = Answer(201, {"id": 8, "reference": "V-000008"}, "/api/v1/appointments/8")


@pytest.fixture
async def desk(create_user: Callable[..., Awaitable[User]]) -> Actor:
    return accounts.actor_of(await create_user(Role.DESK, name="Agnès Chastel"))


async def keys_held(session: AsyncSession) -> int:
    await session.flush()
    return int(await session.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


async def answered(
    session: AsyncSession, actor: Actor, key: str, clock: Clock, answer: Answer = CREATED
) -> None:
    """`key` claimed and answered with `answer`, as a successful request leaves it."""
    async with use_case(session):
        claim = await idempotency.claim(session, actor, key, BOOKING, now=clock())
        assert claim.first is None and claim.row_id is not None
        await idempotency.keep(session, claim, answer)


# ---------------------------------------------------------------- the request and its key


def test_the_same_fields_in_another_order_are_the_same_request() -> None:
    reordered = request_hash("post", "/api/v1/appointments", {"motive_id": 2, "site_id": 1})
    assert reordered == BOOKING
    assert len(BOOKING) == 64 and int(BOOKING, 16) >= 0
    # Another body, another path, another method: another request.
    assert request_hash("POST", "/api/v1/appointments", {"site_id": 1, "motive_id": 3}) != BOOKING
    assert request_hash("POST", "/api/v1/appointments/9", {"site_id": 1, "motive_id": 2}) != (
        BOOKING
    )
    assert request_hash("PUT", "/api/v1/appointments", {"site_id": 1, "motive_id": 2}) != BOOKING


# Keys as a client may send them, and those refused: 1 to 255 visible ASCII characters.
KEYS = [
    ("7f9c2ba4-e88f-4d7e-9f1d-2c4b1a8e6d3f", True),  # a UUID, the usual choice
    ("x", True),
    ("k" * 255, True),
    ("booking:2026-03-17/10h00#1", True),  # punctuation is fine
    ("", False),
    ("k" * 256, False),
    ("two words", False),  # no spaces
    ("clé", False),  # ASCII only
    ("tab\there", False),
]


@pytest.mark.parametrize(("key", "accepted"), KEYS)
def test_a_key_is_one_to_255_visible_ascii_characters(key: str, accepted: bool) -> None:
    if accepted:
        assert idempotency.checked_key(key) == key
        return
    with pytest.raises(InvalidInput) as refused:
        idempotency.checked_key(key, field="idempotency_key")
    assert set(refused.value.fields) == {"idempotency_key"}
    assert "255" in str(refused.value.fields["idempotency_key"])


# ---------------------------------------------------------------- first answer, given again


async def test_the_same_request_gets_its_first_answer_and_writes_nothing(
    session: AsyncSession, desk: Actor, clock: Clock
) -> None:
    await answered(session, desk, "key-1", clock)
    clock.advance(timedelta(hours=23, minutes=59))
    again = await idempotency.claim(session, desk, "key-1", BOOKING, now=clock())
    assert again == Claim(row_id=None, first=CREATED)
    assert await keys_held(session) == 1
    with pytest.raises(ValueError, match="only a claimed key"):
        await idempotency.keep(session, again, CREATED)


async def test_the_same_key_for_another_request_is_refused(
    session: AsyncSession, desk: Actor, clock: Clock
) -> None:
    await answered(session, desk, "key-1", clock)
    other = request_hash("POST", "/api/v1/appointments", {"site_id": 1, "motive_id": 3})
    with pytest.raises(IdempotencyKeyReused) as refused:
        await idempotency.claim(session, desk, "key-1", other, now=clock())
    assert refused.value.code == "idempotency_key_reused"
    assert set(refused.value.fields) == {"Idempotency-Key"}
    # The first answer stays, for the first request sent again.
    again = await idempotency.claim(session, desk, "key-1", BOOKING, now=clock())
    assert again.first == CREATED


async def test_keys_are_per_user(
    session: AsyncSession,
    desk: Actor,
    clock: Clock,
    create_user: Callable[..., Awaitable[User]],
) -> None:
    colleague = accounts.actor_of(await create_user(Role.DESK, name="Paul Ternes"))
    await answered(session, desk, "key-1", clock)
    # The colleague's key of the same name is theirs: claimed afresh, for any request.
    theirs = await idempotency.claim(session, colleague, "key-1", BOOKING, now=clock())
    assert theirs.first is None and theirs.row_id is not None
    assert await keys_held(session) == 2


async def test_a_key_is_forgotten_after_24_hours(
    session: AsyncSession, desk: Actor, clock: Clock
) -> None:
    await answered(session, desk, "key-1", clock)
    clock.advance(timedelta(hours=24))
    # A new request, whatever it asks: the key is claimed again.
    other = request_hash("POST", "/api/v1/appointments", {"site_id": 1, "motive_id": 3})
    fresh = await idempotency.claim(session, desk, "key-1", other, now=clock())
    assert fresh.first is None and fresh.row_id is not None
    assert await keys_held(session) == 1


async def test_a_refused_request_keeps_no_key(
    session: AsyncSession, desk: Actor, clock: Clock
) -> None:
    with pytest.raises(InvalidInput):
        async with use_case(session):
            await idempotency.claim(session, desk, "key-1", BOOKING, now=clock())
            raise InvalidInput()  # the booking refused: the request's transaction rolls back
    assert await keys_held(session) == 0
    # Sent again, it is asked again.
    claim = await idempotency.claim(session, desk, "key-1", BOOKING, now=clock())
    assert claim.first is None and claim.row_id is not None


async def test_keys_past_their_lifetime_are_deleted(
    session: AsyncSession,
    desk: Actor,
    clock: Clock,
    create_user: Callable[..., Awaitable[User]],
) -> None:
    colleague = accounts.actor_of(await create_user(Role.DESK, name="Paul Ternes"))
    await answered(session, desk, "yesterday", clock)
    await answered(session, colleague, "yesterday", clock)
    clock.advance(timedelta(hours=20))
    await answered(session, desk, "today", clock)
    clock.advance(timedelta(hours=4))
    assert await idempotency.forget_expired(session, now=clock()) == 2
    assert await keys_held(session) == 1
    kept = await idempotency.claim(session, desk, "today", BOOKING, now=clock())
    assert kept.first == CREATED


async def test_the_daily_purge_deletes_keys_past_their_lifetime(
    session: AsyncSession, desk: Actor, clock: Clock
) -> None:
    """The answers kept name citizens: the retention purge deletes them after their day."""
    await answered(session, desk, "yesterday", clock)
    clock.advance(timedelta(hours=20))
    await answered(session, desk, "today", clock)
    clock.advance(timedelta(hours=4))
    options = {"now": clock(), "retention_days": 90, "audit_retention_days": 365}
    assert (await retention.purge(session, dry_run=True, **options)).idempotency_keys == 1
    assert await keys_held(session) == 2
    report = await retention.purge(session, **options)
    assert report.idempotency_keys == 1
    assert await keys_held(session) == 1
    entry = await session.scalar(
        select(AuditEntry.details).where(AuditEntry.action == retention.PURGE_ACTION)
    )
    assert entry is not None and entry["idempotency_keys"] == 1


# ---------------------------------------------------------------- two transactions at once


@pytest.fixture
async def engine(scratch_url: str) -> AsyncIterator[AsyncEngine]:
    """A database of its own, whose transactions really commit."""
    engine = make_engine(scratch_url)
    try:
        await upgrade_engine(engine)
        yield engine
    finally:
        await engine.dispose()


async def a_desk(engine: AsyncEngine) -> Actor:
    now = datetime.now(UTC)
    async with make_sessionmaker(engine)() as session, session.begin():
        user = await accounts.create_user(
            session, None, email="desk@visio.example", name="Agnès Chastel", role=Role.ADMIN,
            now=now,
        )  # fmt: skip
    return Actor(user_id=user.id, email=user.email, name=user.name, role=user.role,
                 locale=user.locale)  # fmt: skip


async def waits_on_a_lock(engine: AsyncEngine, pid: int) -> bool:
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        )
        return waiting == "Lock"


async def claim_in_turn(
    engine: AsyncEngine, actor: Actor, *, first_commits: bool
) -> tuple[Claim, Claim]:
    """Two transactions claim one key: the second while the first is still running (it
    waits), then the first commits its answer or rolls back."""
    maker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with maker() as first, maker() as second:
        await first.begin()
        claimed = await idempotency.claim(first, actor, "key-1", BOOKING, now=now)
        await second.begin()
        pid = await second.scalar(text("SELECT pg_backend_pid()"))
        assert isinstance(pid, int)
        waiting = asyncio.create_task(idempotency.claim(second, actor, "key-1", BOOKING, now=now))
        for _poll in range(1000):  # at most some ten seconds
            if await waits_on_a_lock(engine, pid):
                break
            assert not waiting.done(), "the second claim did not wait for the first"
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the second claim never waited for the first")
        if first_commits:
            await idempotency.keep(first, claimed, CREATED)
            await first.commit()
        else:
            await first.rollback()
        second_claim = await waiting
        if second_claim.row_id is not None:
            await idempotency.keep(second, second_claim, MOVED)
        await second.commit()
        return claimed, second_claim


@pytest.mark.postgres
async def test_a_claim_waits_for_the_first_and_gets_its_answer(engine: AsyncEngine) -> None:
    actor = await a_desk(engine)
    claimed, second = await claim_in_turn(engine, actor, first_commits=True)
    assert claimed.row_id is not None and claimed.first is None
    assert second == Claim(row_id=None, first=CREATED)


@pytest.mark.postgres
async def test_a_claim_waits_for_the_first_and_takes_the_key_if_it_was_refused(
    engine: AsyncEngine,
) -> None:
    actor = await a_desk(engine)
    _claimed, second = await claim_in_turn(engine, actor, first_commits=False)
    assert second.first is None and second.row_id is not None
    async with make_sessionmaker(engine)() as session:
        held: Any = (await session.execute(select(IdempotencyKey.id, IdempotencyKey.body))).all()
        assert [tuple(row) for row in held] == [(second.row_id, MOVED.body)]


async def test_a_claim_after_the_first_committed_gets_its_answer(engine: AsyncEngine) -> None:
    actor = await a_desk(engine)
    maker = make_sessionmaker(engine)
    now = datetime.now(UTC)
    async with maker() as first, first.begin():
        claimed = await idempotency.claim(first, actor, "key-1", BOOKING, now=now)
        await idempotency.keep(first, claimed, CREATED)
    async with maker() as second, second.begin():
        again = await idempotency.claim(second, actor, "key-1", BOOKING, now=now)
    assert again == Claim(row_id=None, first=CREATED)
