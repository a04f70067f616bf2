"""Agents' private calendar feeds: a secret URL their Outlook or Thunderbird subscribes to.

The secret is shown once and only its SHA-256 is kept; making a new one revokes the old,
and the agent can also revoke it outright. The feed holds the agent's appointments from a
month back to six months ahead, each under the same UID as its email invitations, so the
two never show one appointment twice.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Agent, Appointment, AppointmentStatus, Motive, Site
from visio.notify.ics import Attendee, Invitation, build_feed
from visio.services import audit
from visio.services.accounts import Actor, hash_token
from visio.services.errors import NotFound
from visio.services.notifications import Links, calendar_uid
from visio.services.permissions import Action, require_agent_self

TOKEN_PREFIX = "visio_cal_"  # noqa: S105 (a marker, not a secret)
FEED_PAST = timedelta(days=30)
FEED_FUTURE = timedelta(days=183)


async def new_feed_token(session: AsyncSession, actor: Actor, *, now: datetime) -> str:
    """A new secret for the agent's own feed (the previous one stops working)."""
    agent_id = require_agent_self(actor, Action.OWN_CALENDAR_FEED)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await session.execute(
        update(Agent).where(Agent.id == agent_id).values(calendar_token_hash=hash_token(token))
    )
    audit.record(
        session, actor_id=actor.user_id, action="calendar_feed.create", entity="agent",
        entity_id=agent_id, now=now,
    )  # fmt: skip
    return token


async def feed_active(session: AsyncSession, actor: Actor) -> bool:
    """Whether the signed-in agent has a feed URL that works (its secret is not kept)."""
    agent_id = require_agent_self(actor, Action.OWN_CALENDAR_FEED)
    token_hash = await session.scalar(select(Agent.calendar_token_hash).where(Agent.id == agent_id))
    return token_hash is not None


async def revoke_feed(session: AsyncSession, actor: Actor, *, now: datetime) -> None:
    """The agent's feed URL stops working."""
    agent_id = require_agent_self(actor, Action.OWN_CALENDAR_FEED)
    await session.execute(
        update(Agent).where(Agent.id == agent_id).values(calendar_token_hash=None)
    )
    audit.record(
        session, actor_id=actor.user_id, action="calendar_feed.revoke", entity="agent",
        entity_id=agent_id, now=now,
    )  # fmt: skip


async def feed(session: AsyncSession, token: str, *, links: Links, now: datetime) -> str:
    """The iCalendar text of the feed behind `token`; `NotFound` for an unknown secret."""
    if not token.startswith(TOKEN_PREFIX):
        raise NotFound()
    agent = await session.scalar(
        select(Agent).where(Agent.calendar_token_hash == hash_token(token), Agent.active)
    )
    if agent is None:
        raise NotFound()
    rows = (
        await session.execute(
            select(Appointment, Site.name, Site.address, Site.email, Motive.name)
            .join(Site, Site.id == Appointment.site_id)
            .join(Motive, Motive.id == Appointment.motive_id)
            .where(
                Appointment.agent_id == agent.id,
                Appointment.end_at > now - FEED_PAST,
                Appointment.start_at < now + FEED_FUTURE,
                # A move shows once: the new appointment carries the event on.
                Appointment.cancel_reason != "rescheduled",
            )
            .order_by(Appointment.start_at)
        )
    ).all()
    events = []
    for appointment, site_name, site_address, site_email, motive_name in rows:
        events.append(
            Invitation(
                uid=await calendar_uid(
                    session, appointment.id, appointment.rescheduled_from_id, links
                ),
                sequence=appointment.sequence,
                method="CANCEL" if appointment.status is AppointmentStatus.CANCELLED else "REQUEST",
                start=appointment.start_at,
                end=appointment.end_at,
                summary=f"Visio – {site_name} – {motive_name}",
                description=f"{site_name}, {site_address}",
                location=links.agent_join(appointment.id),
                url=links.agent_join(appointment.id),
                organizer=Attendee(site_name, site_email or links.mail_from),
                attendees=(Attendee(agent.name, agent.email),),
            )
        )
    return build_feed(events, now, name=f"visio – {agent.name}")
