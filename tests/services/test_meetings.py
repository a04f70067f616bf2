"""Meeting links, straight through `visio.services.meetings`.

Promised: the agent side is a moderator link given to the appointment's own agent only
(and admins), the station side a guest link named after the house, given to its desk (on
a self-hosted Jitsi without any token, so that it waits for the agent and never holds
moderator rights; with JaaS a token that is no moderator's);
anyone else is told the appointment does not exist; a settled appointment has no meeting
to join; the agent opening their link while it is open tells the desk they are there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.services.conftest import LINKS, House, book, stored
from visio.domain import AppointmentStatus
from visio.meetings.jitsi import JitsiConfig
from visio.services import appointments, meetings, transitions
from visio.services.errors import InvalidTransition, NotFound
from visio.services.meetings import Meeting, Side
from visio.services.permissions import Actor

SECRET = "a-jitsi-app-secret-of-at-least-32-bytes!!"
TOKENS = JitsiConfig(domain="meet.example.org", app_id="visio", app_secret=SECRET)
JAAS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JAAS_APP = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
JAAS = JitsiConfig(
    domain="8x8.vc",
    tenant=JAAS_APP,
    kid=f"{JAAS_APP}/4f4910",
    private_key_pem=JAAS_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode(),
)  # fmt: skip
PLAIN = JitsiConfig(domain="meet.jit.si")
OPEN = datetime(2026, 3, 17, 8, 50, tzinfo=UTC)  # 09:50 in Murat, ten minutes before


async def join(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    side: Side,
    clock: Clock,
    config: JitsiConfig = TOKENS,
) -> Meeting:
    return await meetings.join(
        session, actor, appointment_id, side=side, config=config, now=clock()
    )


def claims(meeting: Meeting) -> dict[str, Any]:
    assert meeting.link.jwt is not None
    decoded: dict[str, Any] = jwt.decode(
        meeting.link.jwt, SECRET, algorithms=["HS256"], audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )  # fmt: skip
    return decoded


async def test_the_agent_side_makes_the_appointment_agent_moderator(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    meeting = await join(session, house.agent_actor, view.id, "agent", clock)

    assert meeting.link.url == f"https://meet.example.org/{view.room}?jwt={meeting.link.jwt}"
    assert meeting.state == "too_early"
    token = claims(meeting)
    assert (token["room"], token["moderator"]) == (view.room, True)
    assert token["context"]["user"] == {
        "id": f"agent-{house.agent.id}",
        "name": "Isabelle Delmas",
        "email": "isabelle.delmas@caf.example",
        "moderator": "true",
        "affiliation": "owner",
    }
    assert "Chassang" not in json.dumps(token)


async def test_the_station_side_is_a_guest_named_after_the_house(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    meeting = await join(session, house.desk, view.id, "station", clock)

    # Self-hosted: the same room, no token at all (a guest of the anonymous domain).
    assert (meeting.link.url, meeting.link.jwt) == (f"https://meet.example.org/{view.room}", None)
    # JaaS: a token, which JaaS wants from everyone, that is no moderator's.
    meeting = await join(session, house.desk, view.id, "station", clock, config=JAAS)
    assert meeting.link.jwt is not None
    token: dict[str, Any] = jwt.decode(
        meeting.link.jwt, JAAS_KEY.public_key(), algorithms=["RS256"], audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )  # fmt: skip
    assert (token["room"], token["moderator"]) == (view.room, False)
    assert token["context"]["user"] == {
        "id": f"station-{view.station_id}",
        "name": "France Services Murat",
        "moderator": "false",
        "affiliation": "member",
    }
    assert "Chassang" not in json.dumps(token)


async def test_an_admin_may_take_either_side(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = OPEN

    agent_side = await join(session, house.admin, view.id, "agent", clock)
    station_side = await join(session, house.admin, view.id, "station", clock)

    assert claims(agent_side)["context"]["user"]["id"] == f"agent-{house.agent.id}"
    assert station_side.link.jwt is None  # a guest, whoever opens it
    # An admin looking is not the agent arriving.
    assert (await stored(session, view.id)).agent_joined_at is None


@pytest.mark.parametrize(
    ("who", "side"),
    [
        ("colleague_actor", "agent"),  # another agent of the same partner
        ("desk", "agent"),  # the desk never gets the moderator's link
        ("other_desk", "station"),  # another house's desk
        ("agent_actor", "station"),  # the agent never sits at the station
        ("other_desk", "agent"),
        ("colleague_actor", "station"),
    ],
)
async def test_anyone_else_is_told_there_is_no_such_meeting(
    session: AsyncSession, house: House, clock: Clock, who: str, side: Side
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = OPEN

    with pytest.raises(NotFound):
        await join(session, getattr(house, who), view.id, side, clock)

    assert (await stored(session, view.id)).agent_joined_at is None


@pytest.mark.parametrize("side", ["agent", "station"])
async def test_a_cancelled_appointment_has_nothing_to_join(
    session: AsyncSession, house: House, clock: Clock, side: Side
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    await transitions.cancel(session, house.desk, view.id, reason="", now=clock(), links=LINKS)
    clock.now = OPEN
    actor = house.agent_actor if side == "agent" else house.desk

    with pytest.raises(InvalidTransition):
        await join(session, actor, view.id, side, clock)

    assert (await stored(session, view.id)).agent_joined_at is None


async def test_a_held_appointment_has_nothing_to_join(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = datetime(2026, 3, 17, 9, 5, tzinfo=UTC)
    await transitions.record_outcome(
        session, house.agent_actor, view.id, status=AppointmentStatus.HELD, note="",
        now=clock(),
    )  # fmt: skip

    with pytest.raises(InvalidTransition):
        await join(session, house.agent_actor, view.id, "agent", clock)


async def test_the_agent_opening_their_link_when_open_is_seen_by_the_desk(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    early = await join(session, house.agent_actor, view.id, "agent", clock)
    assert (early.state, early.appointment.agent_joined_at) == ("too_early", None)
    assert (await stored(session, view.id)).agent_joined_at is None

    clock.now = OPEN
    opened = await join(session, house.agent_actor, view.id, "agent", clock)
    assert opened.state == "open"
    assert opened.appointment.agent_joined_at is not None
    assert opened.appointment.agent_joined_at.isoformat() == "2026-03-17T09:50:00+01:00"
    assert opened.appointment.agent_presence == "joined"
    desk_view = await appointments.read(session, house.desk, view.id, now=clock())
    assert (desk_view.agent_joined_at, desk_view.agent_presence) == (
        opened.appointment.agent_joined_at,
        "joined",
    )

    # Opening it again later keeps the first time.
    clock.now = datetime(2026, 3, 17, 9, 10, tzinfo=UTC)
    again = await join(session, house.agent_actor, view.id, "agent", clock)
    assert again.appointment.agent_joined_at == opened.appointment.agent_joined_at
    assert (await stored(session, view.id)).agent_joined_at == OPEN


async def test_the_desk_opening_the_station_does_not_mark_the_agent(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)
    clock.now = OPEN

    meeting = await join(session, house.desk, view.id, "station", clock)

    assert meeting.state == "open"
    assert meeting.appointment.agent_joined_at is None
    assert (await stored(session, view.id)).agent_joined_at is None


async def test_the_link_opens_a_quarter_before_and_closes_half_an_hour_after(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    states = []
    for now in (
        datetime(2026, 3, 17, 8, 44, tzinfo=UTC),  # 09:44: too early
        datetime(2026, 3, 17, 8, 45, tzinfo=UTC),  # 09:45: open
        datetime(2026, 3, 17, 9, 59, tzinfo=UTC),  # 10:59: the session may overrun
        datetime(2026, 3, 17, 10, 0, tzinfo=UTC),  # 11:00: over
    ):
        clock.now = now
        states.append((await join(session, house.desk, view.id, "station", clock)).state)

    assert states == ["too_early", "open", "open", "over"]


async def test_without_a_secret_links_are_plain(
    session: AsyncSession, house: House, clock: Clock
) -> None:
    view = await book(session, house, clock, agent=house.agent)

    meeting = await join(session, house.desk, view.id, "station", clock, config=PLAIN)

    assert (meeting.link.url, meeting.link.jwt) == (f"https://meet.jit.si/{view.room}", None)
