"""Password reset links, straight through `visio.services.password_resets`.

Promised: only an administrator makes a link, for an active account; only the link's
hash is kept; with an email server the link goes to the account's owner through the
outbox, in their language, otherwise it is given back once; a link sets a password once,
within 24 hours, and not after a newer link was made; a short password is refused and
spends nothing; an unknown, spent or expired link is refused the same way.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import House
from visio.db.models import AuditEntry, OutboxMessage, OutboxStatus, PasswordReset, User
from visio.notify.compose import content
from visio.services import accounts, password_resets
from visio.services.errors import Conflict, InvalidInput, NotAllowed, NotFound
from visio.services.records import IssuedReset

NEW_PASSWORD = "un nouveau mot de passe"


def link_for(token: str) -> str:
    return f"https://visio.example/password/reset/{token}"


def token_of(issued: IssuedReset) -> str:
    assert issued.link is not None
    return issued.link.rsplit("/", 1)[1]


async def issue(
    session: AsyncSession, house: House, clock: Clock, *, by_email: bool = False
) -> IssuedReset:
    """A link for the desk agent of Murat, made by the administrator."""
    return await password_resets.issue_reset(
        session, house.admin, house.desk.user_id, link_for=link_for, by_email=by_email,
        now=clock(),
    )  # fmt: skip


async def signs_in(session: AsyncSession, house: House, password: str, clock: Clock) -> bool:
    actor = await accounts.authenticate_password(session, house.desk.email, password, clock())
    return actor is not None


async def test_a_link_shown_once_sets_the_password_once(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    issued = await issue(session, house, clock)
    assert issued.emailed_to is None
    assert issued.expires_at == clock() + timedelta(hours=24)
    token = token_of(issued)
    assert token.startswith("visio_reset_") and len(token) > 40
    # Only the hash is kept, and nothing is queued without an email server.
    stored = await session.scalar(select(PasswordReset.token_hash))
    assert stored == accounts.hash_token(token) and token not in stored
    assert await session.scalar(select(OutboxMessage.id)) is None

    shown = await password_resets.reset_link(session, token, now=clock())
    assert shown.email == house.desk.email

    clock.advance(timedelta(hours=2))
    await password_resets.reset_password(
        session, token, NEW_PASSWORD, again=NEW_PASSWORD, now=clock()
    )
    assert await signs_in(session, house, NEW_PASSWORD, clock)
    with pytest.raises(NotFound):
        await password_resets.reset_link(session, token, now=clock())
    with pytest.raises(NotFound):
        await password_resets.reset_password(
            session, token, "encore un autre mot", again="encore un autre mot", now=clock()
        )
    assert await signs_in(session, house, NEW_PASSWORD, clock)

    await session.flush()
    actions = (
        await session.execute(
            select(AuditEntry.action, AuditEntry.user_id)
            .where(AuditEntry.action.startswith("password_reset."))
            .order_by(AuditEntry.id)
        )
    ).all()
    assert [tuple(row) for row in actions] == [
        ("password_reset.issue", house.admin.user_id),
        ("password_reset.use", house.desk.user_id),
    ]


async def test_a_link_expires_after_a_day(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    token = token_of(await issue(session, house, clock))
    clock.advance(timedelta(hours=24))
    with pytest.raises(NotFound) as refused:
        await password_resets.reset_password(
            session, token, NEW_PASSWORD, again=NEW_PASSWORD, now=clock()
        )
    # The same words as for a link that never was: nothing says which it is.
    with pytest.raises(NotFound) as unknown:
        await password_resets.reset_link(session, "visio_reset_nothing", now=clock())
    assert str(refused.value.message) == str(unknown.value.message)
    with pytest.raises(NotFound):
        await password_resets.reset_link(session, "not even ours", now=clock())


async def test_a_new_link_spends_the_older_one(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    first = token_of(await issue(session, house, clock))
    second = token_of(await issue(session, house, clock))
    with pytest.raises(NotFound):
        await password_resets.reset_link(session, first, now=clock())
    await password_resets.reset_password(
        session, second, NEW_PASSWORD, again=NEW_PASSWORD, now=clock()
    )
    assert await signs_in(session, house, NEW_PASSWORD, clock)


async def test_a_short_or_mistyped_password_is_refused_and_the_link_still_works(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    token = token_of(await issue(session, house, clock))
    with pytest.raises(InvalidInput) as refused:
        await password_resets.reset_password(session, token, "court", again="corps", now=clock())
    assert set(refused.value.fields) == {"password", "password_again"}
    with pytest.raises(InvalidInput) as refused:
        await password_resets.reset_password(
            session, token, NEW_PASSWORD, again=NEW_PASSWORD.upper(), now=clock()
        )
    assert set(refused.value.fields) == {"password_again"}
    await password_resets.reset_link(session, token, now=clock())


async def test_a_disabled_account_gets_no_link_and_its_links_stop(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    token = token_of(await issue(session, house, clock))
    await accounts.change_user(
        session, house.admin, house.desk.user_id, accounts.UserChanges(active=False), now=clock()
    )
    with pytest.raises(NotFound):
        await password_resets.reset_link(session, token, now=clock())
    with pytest.raises(Conflict):
        await issue(session, house, clock)


@pytest.mark.parametrize("who", ["desk", "agent_actor", "coordinator"])
async def test_only_administrators_make_links(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    with pytest.raises(NotAllowed):
        await password_resets.issue_reset(
            session, getattr(house, who), house.desk.user_id, link_for=link_for,
            by_email=False, now=clock(),
        )  # fmt: skip
    with pytest.raises(NotFound):
        await password_resets.issue_reset(
            session, house.admin, 999_999, link_for=link_for, by_email=False, now=clock()
        )


async def test_by_email_the_link_goes_to_the_owner_in_their_language(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    desk = await session.get_one(User, house.desk.user_id)
    desk.locale = "en"
    first = await issue(session, house, clock, by_email=True)
    assert first.link is None and first.emailed_to == house.desk.email
    await issue(session, house, clock, by_email=True)
    await session.flush()
    messages = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    # The first message, not sent yet, would carry a spent link: it is withdrawn.
    assert [m.status for m in messages] == [OutboxStatus.CANCELLED, OutboxStatus.PENDING]
    message = messages[-1]
    assert message.kind == "password_reset" and message.appointment_id is None
    assert message.recipient_email == house.desk.email
    words = content(message)
    assert words.subject == "visio: choose a new password"
    assert "within 24 hours" in words.text and words.ics is None
    link = next(line for line in words.text.splitlines() if "/password/reset/" in line).strip()
    token = link.rsplit("/", 1)[1]
    assert f'href="{link}"' in words.html
    await password_resets.reset_password(
        session, token, NEW_PASSWORD, again=NEW_PASSWORD, now=clock()
    )
    assert await signs_in(session, house, NEW_PASSWORD, clock)
