"""Meeting links: the Jitsi link of each side of an appointment, and when it opens."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Agent, Appointment
from visio.domain import AppointmentStatus
from visio.i18n import lazy_gettext as _l
from visio.meetings.jitsi import (
    JitsiConfig,
    JoinLink,
    JoinState,
    Participant,
    join_link,
    join_state,
)
from visio.services import appointments
from visio.services.errors import InvalidTransition
from visio.services.permissions import Action, Actor, require_on_appointment
from visio.services.records import AppointmentView
from visio.services.transitions import status_label

Side = Literal["station", "agent"]


@dataclass(frozen=True, slots=True)
class Meeting:
    """One side's way into an appointment's meeting, and whether it is open now."""

    appointment: AppointmentView
    link: JoinLink
    state: JoinState


async def join(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    side: Side,
    config: JitsiConfig,
    now: datetime,
) -> Meeting:
    """The meeting link of one side, and whether joining is open now.

    The agent side is for the appointment's own agent (moderator, with a token) and
    admins; the station side for the booking site's desk and admins (a guest, named after
    the site: on a self-hosted Jitsi a link without a token, which waits for the agent;
    with JaaS a token that is no moderator's). Anyone else gets `NotFound`, never a link.
    The agent opening their link while it is open tells the desk they are there.
    """
    view = await appointments.read(session, actor, appointment_id, now=now)
    action = Action.JOIN_AS_AGENT if side == "agent" else Action.JOIN_AS_STATION
    require_on_appointment(actor, action, site_id=view.site_id, agent_id=view.agent_id)
    if side == "agent":
        email = await session.scalar(select(Agent.email).where(Agent.id == view.agent_id))
        participant = Participant.for_agent(view.agent_id, view.agent_name, email or "")
    else:
        participant = Participant.for_station(view.station_id, view.site_name)
    if view.status is not AppointmentStatus.BOOKED:
        raise InvalidTransition(
            _l("This appointment is %(status)s: there is no meeting to join.",
               status=status_label(view.status))
        )  # fmt: skip
    link = join_link(
        config, room=view.room, start=view.start, end=view.end, participant=participant, now=now
    )
    state = join_state(now, view.start, view.end, config)
    if (
        side == "agent"
        and actor.agent_id == view.agent_id
        and state == "open"
        and view.agent_joined_at is None
    ):
        await _mark_agent_joined(session, view.id, now)
        joined_at = now.astimezone(view.start.tzinfo)
        view = replace(view, agent_joined_at=joined_at, agent_presence="joined")
    return Meeting(view, link, state)


async def _mark_agent_joined(session: AsyncSession, appointment_id: int, now: datetime) -> None:
    """The agent opened their link: the desk stops showing them as late."""
    await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.agent_joined_at.is_(None))
        .values(agent_joined_at=now)
    )
