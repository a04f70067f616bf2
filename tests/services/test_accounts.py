"""Accounts, passwords and API tokens, straight through `visio.services.accounts`.

Promised: only an admin (or the command line) creates accounts; every problem of a new
account is named field by field and nothing is written unless all is well; one email is
one account, however it is typed; a token or a password gives back the person with their
role and houses, and an unknown, revoked or disabled one gives nobody.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import House, use_case
from visio.db.models import Agent, ApiToken, AuditEntry, Role, User
from visio.services import accounts
from visio.services.errors import AlreadyExists, Conflict, InvalidInput, NotAllowed, NotFound
from visio.services.permissions import Actor
from visio.services.records import UserView

PASSWORD = "correct horse battery staple"


async def create(
    session: AsyncSession,
    clock: Clock,
    role: Role,
    *,
    actor: Actor | None = None,
    email: str = "nouvelle.personne@visio.example",
    site_ids: Sequence[int] = (),
    agent_id: int | None = None,
    password: str | None = None,
) -> UserView:
    return await accounts.create_user(
        session, actor, email=email, name="  Nouvelle Personne ", role=role, now=clock(),
        site_ids=site_ids, agent_id=agent_id, password=password,
    )  # fmt: skip


async def created_entry(session: AsyncSession, user_id: int) -> AuditEntry:
    """The audit entry of an account's creation (once the session's changes are written,
    as the request's commit would)."""
    await session.flush()
    entry = await session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.create", AuditEntry.entity_id == user_id
        )
    )
    assert entry is not None
    return entry


async def written(session: AsyncSession) -> tuple[int, int]:
    """How many accounts and audit entries there are."""
    await session.flush()
    users = await session.scalar(select(func.count()).select_from(User))
    entries = await session.scalar(select(func.count()).select_from(AuditEntry))
    return int(users or 0), int(entries or 0)


# ---------------------------------------------------------------- creating accounts


async def test_an_admin_creates_a_desk_account(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    created = await create(
        session, clock, Role.DESK, actor=house.admin, email="  Agnes.Roux@Visio.Example ",
        site_ids=[house.elsewhere.id, house.site.id, house.site.id], password=PASSWORD,
    )  # fmt: skip

    assert (created.email, created.name, created.role) == (
        "agnes.roux@visio.example",
        "Nouvelle Personne",
        Role.DESK,
    )
    assert created.site_ids == sorted([house.site.id, house.elsewhere.id])
    assert (created.agent_id, created.locale, created.active, created.created_at) == (
        None,
        "fr",
        True,
        clock(),
    )
    assert await accounts.get_user(session, house.admin, created.id) == created
    entry = await created_entry(session, created.id)
    assert (entry.user_id, entry.details) == (
        house.admin.user_id,
        {"role": "desk", "site_ids": created.site_ids, "agent_id": None},
    )


async def test_the_command_line_creates_the_first_admin(
    session: AsyncSession, clock: Clock
) -> None:
    created = await create(session, clock, Role.ADMIN, password=PASSWORD)

    assert (created.role, created.site_ids) == (Role.ADMIN, [])
    assert (await created_entry(session, created.id)).user_id is None


async def test_an_agent_account_is_linked_to_its_agent(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    # Isabelle Delmas has her account already (the house's); a new colleague has none.
    newcomer = Agent(partner_id=house.partner.id, name="Léa Brun", email="lea.brun@caf.example",
                     timezone="Europe/Paris", created_at=clock())  # fmt: skip
    session.add(newcomer)
    await session.flush()

    created = await create(session, clock, Role.AGENT, actor=house.admin, agent_id=newcomer.id)

    assert (created.role, created.agent_id, created.site_ids) == (Role.AGENT, newcomer.id, [])


@pytest.mark.parametrize(
    ("role", "site_ids", "agent_id", "password", "fields"),
    [
        # role,            sites,   agent,   password,  fields named
        (Role.DESK,        "none",  None,    None,      {"site_ids"}),
        (Role.COORDINATOR, "none",  None,    None,      {"site_ids"}),
        (Role.AGENT,       "house", "free",  None,      {"site_ids"}),
        (Role.ADMIN,       "house", None,    None,      {"site_ids"}),
        (Role.DESK,        "ghost", None,    None,      {"site_ids"}),
        (Role.AGENT,       "none",  None,    None,      {"agent_id"}),
        (Role.AGENT,       "none",  "ghost", None,      {"agent_id"}),
        (Role.AGENT,       "none",  "taken", None,      {"agent_id"}),
        (Role.DESK,        "house", "free",  None,      {"agent_id"}),
        (Role.ADMIN,       "none",  None,    "short",   {"password"}),
        (Role.DESK,        "none",  "free",  "short",   {"site_ids", "agent_id", "password"}),
    ],
)  # fmt: skip
async def test_a_bad_account_is_refused_field_by_field_and_nothing_is_written(
    session: AsyncSession,
    house: House,
    clock: Clock,
    role: Role,
    site_ids: str,
    agent_id: str | None,
    password: str | None,
    fields: set[str],
) -> None:
    free = Agent(partner_id=house.partner.id, name="Léa Brun", email="lea.brun@caf.example",
                 timezone="Europe/Paris", created_at=clock())  # fmt: skip
    session.add(free)
    await session.flush()
    sites = {"none": [], "house": [house.site.id], "ghost": [house.site.id, 999_999]}[site_ids]
    agents = {None: None, "free": free.id, "ghost": 999_999, "taken": house.agent.id}
    before = await written(session)

    with pytest.raises(InvalidInput) as refused:
        async with use_case(session):
            await create(
                session, clock, role, actor=house.admin, site_ids=sites,
                agent_id=agents[agent_id], password=password,
            )  # fmt: skip

    assert set(refused.value.fields) == fields
    assert await written(session) == before


async def test_one_email_is_one_account(session: AsyncSession, house: House, clock: Clock) -> None:
    await create(session, clock, Role.ADMIN, actor=house.admin, email="marie.dupont@visio.example")
    before = await written(session)

    with pytest.raises(AlreadyExists) as refused:
        async with use_case(session):
            await create(
                session, clock, Role.ADMIN, actor=house.admin, email=" Marie.Dupont@VISIO.example"
            )

    assert set(refused.value.fields) == {"email"}
    assert await written(session) == before


@pytest.mark.parametrize("who", ["desk", "agent_actor", "coordinator"])
async def test_only_admins_create_accounts(
    session: AsyncSession, house: House, clock: Clock, who: str
) -> None:
    before = await written(session)

    with pytest.raises(NotAllowed):
        await create(session, clock, Role.ADMIN, actor=getattr(house, who))

    assert await written(session) == before


async def test_people_read_their_own_account_only(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    own = await accounts.get_user(session, house.desk, house.desk.user_id)

    assert (own.email, own.site_ids) == (house.desk.email, [house.site.id])
    with pytest.raises(NotFound):
        await accounts.get_user(session, house.desk, house.admin.user_id)
    with pytest.raises(NotFound):
        await accounts.get_user(session, house.admin, 999_999)


# ---------------------------------------------------------------- tokens


async def test_a_token_gives_back_the_person_with_their_houses(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    desk = await create(
        session, clock, Role.DESK, actor=house.admin,
        site_ids=[house.site.id, house.elsewhere.id],
    )  # fmt: skip
    made = await accounts.create_token(session, None, user_id=desk.id, label=" poste ", now=clock())

    assert made.token.startswith("visio_") and made.token.startswith(made.prefix)
    assert (made.label, made.created_at) == ("poste", clock())
    stored = await session.get_one(ApiToken, made.id)
    assert stored.token_hash == accounts.hash_token(made.token) != made.token

    actor = await accounts.authenticate_token(session, made.token, clock())

    assert actor == Actor(
        user_id=desk.id, email=desk.email, name="Nouvelle Personne", role=Role.DESK,
        locale="fr", site_ids=frozenset({house.site.id, house.elsewhere.id}), agent_id=None,
    )  # fmt: skip


async def test_an_agent_token_carries_the_agent(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    made = await accounts.create_token(
        session, house.agent_actor, user_id=house.agent_actor.user_id, label="", now=clock()
    )

    assert await accounts.authenticate_token(session, made.token, clock()) == house.agent_actor


async def test_a_token_use_is_noted_once_a_minute(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    made = await accounts.create_token(
        session, house.desk, user_id=house.desk.user_id, label="", now=clock()
    )

    async def last_used() -> object:
        return await session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == made.id))

    first = clock()
    await accounts.authenticate_token(session, made.token, first)
    await accounts.authenticate_token(session, made.token, first + timedelta(seconds=30))
    assert await last_used() == first
    await accounts.authenticate_token(session, made.token, first + timedelta(minutes=2))
    assert await last_used() == first + timedelta(minutes=2)


async def test_unknown_revoked_or_disabled_tokens_give_nobody(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    revoked = await accounts.create_token(
        session, None, user_id=house.desk.user_id, label="", now=clock()
    )
    disabled = await accounts.create_token(
        session, None, user_id=house.coordinator.user_id, label="", now=clock()
    )
    await session.execute(
        update(ApiToken).where(ApiToken.id == revoked.id).values(revoked_at=clock())
    )
    await session.execute(
        update(User).where(User.id == house.coordinator.user_id).values(active=False)
    )

    for token in (
        revoked.token,
        disabled.token,
        "visio_" + "x" * 43,  # unknown
        revoked.token.removeprefix("visio_"),  # not a visio token at all
        "",
    ):
        assert await accounts.authenticate_token(session, token, clock()) is None


async def test_tokens_are_made_for_oneself_or_by_an_admin(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    made = await accounts.create_token(
        session, house.admin, user_id=house.desk.user_id, label="", now=clock()
    )
    assert (await accounts.authenticate_token(session, made.token, clock())) == house.desk

    with pytest.raises(NotFound):
        await accounts.create_token(
            session, house.desk, user_id=house.admin.user_id, label="", now=clock()
        )
    with pytest.raises(NotFound):
        await accounts.create_token(session, house.admin, user_id=999_999, label="", now=clock())
    await session.execute(update(User).where(User.id == house.desk.user_id).values(active=False))
    with pytest.raises(Conflict):
        await accounts.create_token(
            session, house.admin, user_id=house.desk.user_id, label="", now=clock()
        )


# ---------------------------------------------------------------- passwords


async def test_a_password_gives_back_the_person(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    created = await create(
        session, clock, Role.COORDINATOR, actor=house.admin, site_ids=[house.site.id],
        password=PASSWORD,
    )  # fmt: skip
    hashed = await session.scalar(select(User.password_hash).where(User.id == created.id))
    assert hashed is not None and PASSWORD not in hashed

    actor = await accounts.authenticate_password(
        session, " Nouvelle.Personne@VISIO.example", PASSWORD, clock()
    )

    assert actor is not None
    assert (actor.user_id, actor.role, actor.site_ids) == (
        created.id,
        Role.COORDINATOR,
        frozenset({house.site.id}),
    )
    last_login = await session.scalar(select(User.last_login_at).where(User.id == created.id))
    assert last_login == clock()


async def test_a_wrong_password_unknown_email_or_closed_account_gives_nobody(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    created = await create(session, clock, Role.ADMIN, actor=house.admin, password=PASSWORD)
    email = created.email

    assert await accounts.authenticate_password(session, email, PASSWORD + "!", clock()) is None
    assert (
        await accounts.authenticate_password(session, "nobody@visio.example", PASSWORD, clock())
        is None
    )
    # An account made for API tokens only has no password to match.
    assert await accounts.authenticate_password(session, house.desk.email, "", clock()) is None
    await session.execute(update(User).where(User.id == created.id).values(active=False))
    assert await accounts.authenticate_password(session, email, PASSWORD, clock()) is None
    last_login = await session.scalar(select(User.last_login_at).where(User.id == created.id))
    assert last_login is None


def test_visio_hashes_passwords_at_argon2s_recommended_cost() -> None:
    """What the suite lowers for speed is the production default: argon2id, 64 MiB, three
    passes, four lanes (checked in a fresh interpreter, as visio runs)."""
    code = (
        "from visio.services import accounts\n"
        "print(accounts.hash_password('un mot de passe solide'))\n"
    )
    made = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert made.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
