"""A partner agent's own absences: list them, add one, take back one not yet begun.

An absence removes the agent's free slots over its range; it does not cancel what is
already booked there. So before an absence is saved, the agent is shown the booked
appointments it falls on (`hit`), and saving it with some asks for a second, explicit
yes (`confirm`): those appointments then stay booked for their desks to move (set aside to
rebook, their citizens told), and each is listed on the agent's page until moved,
cancelled or over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Absence, Agent, Appointment
from visio.domain import AppointmentStatus, RebookReason
from visio.i18n import lazy_gettext as _l
from visio.services import appointments, audit, rebooking
from visio.services.errors import Conflict, InvalidInput, Message, NotFound
from visio.services.notifications import Links
from visio.services.permissions import Action, Actor, require_agent_self
from visio.services.records import AbsenceView, AppointmentView
from visio.services.setup.agents import absence_view

# The longest absence one form may enter; longer is a typing slip (a year for a month).
LONGEST = timedelta(days=366)
REASON_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AgentAbsences:
    """An agent's absences not yet over, by start, and their booked appointments that
    fall in one (to be moved by their desks)."""

    agent_id: int
    timezone: str
    absences: tuple[AbsenceView, ...]
    hit: tuple[AppointmentView, ...]


class WouldHit(Conflict):
    """The absence falls on booked appointments; saving it needs the agent's yes."""

    code = "absence_hits_appointments"
    default_message = _l(
        "This absence falls on booked appointments: confirm to save it anyway, then ask "
        "their houses to move them."
    )

    def __init__(self, hit: tuple[AppointmentView, ...]) -> None:
        super().__init__(extra={"appointments": [view.id for view in hit]})
        self.hit = hit


async def _agent_zone(session: AsyncSession, agent_id: int) -> str:
    timezone = await session.scalar(select(Agent.timezone).where(Agent.id == agent_id))
    if timezone is None:
        raise NotFound()
    return timezone


async def _booked_between(
    session: AsyncSession, agent_id: int, start: datetime, end: datetime, now: datetime
) -> tuple[AppointmentView, ...]:
    """The agent's booked appointments overlapping [start, end) and not yet over."""
    found = await appointments.views_where(
        session,
        Appointment.agent_id == agent_id,
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.start_at < end,
        Appointment.end_at > max(start, now),
        now=now,
    )
    return tuple(found)


async def own_absences(session: AsyncSession, actor: Actor, *, now: datetime) -> AgentAbsences:
    """The signed-in agent's absences under way or to come, and the booked appointments
    they fall on."""
    agent_id = require_agent_self(actor, Action.OWN_ABSENCES)
    timezone = await _agent_zone(session, agent_id)
    rows = (
        await session.scalars(
            select(Absence)
            .where(Absence.agent_id == agent_id, Absence.end_at > now)
            .order_by(Absence.start_at, Absence.id)
        )
    ).all()
    hit: dict[int, AppointmentView] = {}
    for absence in rows:
        for view in await _booked_between(session, agent_id, absence.start_at, absence.end_at, now):
            hit[view.id] = view
    return AgentAbsences(
        agent_id, timezone, tuple(absence_view(absence, timezone) for absence in rows),
        tuple(sorted(hit.values(), key=lambda view: (view.start, view.id))),
    )  # fmt: skip


def _check(start: datetime, end: datetime, reason: str, now: datetime) -> None:
    errors: dict[str, Message] = {}
    if end <= start:
        errors["end"] = _l("The end must come after the start.")
    elif end <= now:
        errors["end"] = _l("This absence is already over.")
    elif end - start > LONGEST:
        errors["end"] = _l("An absence may last at most a year: enter a longer one in parts.")
    if len(reason) > REASON_LENGTH:
        errors["reason"] = _l("At most %(max_length)s characters.", max_length=REASON_LENGTH)
    if errors:
        raise InvalidInput(fields=errors)


async def hit_by(
    session: AsyncSession, actor: Actor, *, start: datetime, end: datetime, now: datetime
) -> tuple[AppointmentView, ...]:
    """The signed-in agent's booked appointments an absence over [start, end) would fall
    on (nothing is written)."""
    agent_id = require_agent_self(actor, Action.OWN_ABSENCES)
    _check(start, end, "", now)
    return await _booked_between(session, agent_id, start, end, now)


async def add_own_absence(
    session: AsyncSession,
    actor: Actor,
    *,
    start: datetime,
    end: datetime,
    reason: str,
    confirm: bool,
    links: Links,
    now: datetime,
) -> AbsenceView:
    """Save an absence of the signed-in agent. `WouldHit` (nothing written) when it falls
    on booked appointments and `confirm` is not given; confirmed, those are set aside for
    their houses to rebook, their citizens told (`visio.services.rebooking`)."""
    agent_id = require_agent_self(actor, Action.OWN_ABSENCES)
    reason = reason.strip()
    _check(start, end, reason, now)
    timezone = await _agent_zone(session, agent_id)
    hit = await _booked_between(session, agent_id, start, end, now)
    if hit and not confirm:
        raise WouldHit(hit)
    await rebooking.set_aside(
        session, actor, hit, RebookReason.AGENT_ABSENT, confirm=True, links=links, now=now
    )
    absence = Absence(agent_id=agent_id, start_at=start, end_at=end, reason=reason)
    session.add(absence)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="absence.create", entity="agent",
        entity_id=agent_id, now=now,
        details={
            "absence_id": absence.id, "start": start.isoformat(), "end": end.isoformat(),
            "appointments_hit": [view.id for view in hit],
        },
    )  # fmt: skip
    return absence_view(absence, timezone)


async def remove_own_absence(
    session: AsyncSession, actor: Actor, absence_id: int, *, now: datetime
) -> None:
    """Take back one of the signed-in agent's absences that has not begun (one under way
    or past is history). Someone else's absence is `NotFound`."""
    agent_id = require_agent_self(actor, Action.OWN_ABSENCES)
    absence = await session.scalar(
        select(Absence).where(Absence.id == absence_id, Absence.agent_id == agent_id)
    )
    if absence is None:
        raise NotFound()
    if absence.start_at <= now:
        raise Conflict(_l("This absence has begun: it can no longer be taken back."))
    await session.execute(delete(Absence).where(Absence.id == absence_id))
    audit.record(
        session, actor_id=actor.user_id, action="absence.delete", entity="agent",
        entity_id=agent_id, now=now,
        details={"absence_id": absence_id, "start": absence.start_at.isoformat(),
                 "end": absence.end_at.isoformat()},
    )  # fmt: skip
