"""An appointment's changes of state: cancelled, the citizen arrived, how it went.

Each change locks the appointment's row, checks the change is possible now, writes it
with its history and audit entries, and answers with the appointment's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import Appointment, AppointmentEvent, Citizen
from visio.db.statements import citizens as citizen_statements
from visio.domain import OUTCOMES, AppointmentStatus
from visio.i18n import lazy_gettext as _l
from visio.services import appointments, audit, counters, notifications
from visio.services.errors import InvalidTransition, NotAllowed
from visio.services.notifications import Links
from visio.services.permissions import Action, Actor, may, outcomes_for, require
from visio.services.records import AppointmentView, CitizenView

STATUS_LABELS = {
    AppointmentStatus.BOOKED: _l("booked"),
    AppointmentStatus.HELD: _l("held"),
    AppointmentStatus.NO_SHOW: _l("missed by the citizen"),
    AppointmentStatus.AGENT_ABSENT: _l("missed by the agent"),
    AppointmentStatus.CANCELLED: _l("cancelled"),
}


def status_label(status: AppointmentStatus) -> str:
    """A status as people read it, in the current language."""
    return str(STATUS_LABELS[status])


def require_booked(appointment: Appointment) -> None:
    """Only a booked appointment changes: `InvalidTransition` once it is settled."""
    if appointment.status is not AppointmentStatus.BOOKED:
        raise InvalidTransition(
            _l("This appointment is %(status)s: it can no longer change.",
               status=status_label(appointment.status))
        )  # fmt: skip


async def change_status(
    session: AsyncSession,
    appointment: Appointment,
    to_status: AppointmentStatus,
    actor: Actor,
    now: datetime,
    note: str = "",
) -> None:
    """The new status, with its history entry, its audit entry and the statistics'
    counters moved."""
    await counters.count_change(session, appointment, to_status)
    session.add(
        AppointmentEvent(
            appointment_id=appointment.id, at=now, by_user_id=actor.user_id,
            from_status=appointment.status, to_status=to_status, note=note,
        )
    )  # fmt: skip
    audit.record(
        session, actor_id=actor.user_id, action=f"appointment.{to_status.value}",
        entity="appointment", entity_id=appointment.id, now=now,
        details={"from": appointment.status.value, "to": to_status.value},
    )  # fmt: skip
    appointment.status = to_status
    appointment.updated_at = now


async def citizen_of(session: AsyncSession, citizen_id: int | None) -> CitizenView | None:
    """The citizen of an appointment, for its messages (None once erased)."""
    if citizen_id is None:
        return None
    query = citizen_statements.details().where(
        Citizen.id == citizen_id,
        Citizen.erased_at.is_(None),
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return CitizenView(**citizen_statements.DetailsRow._make(row)._asdict())


async def cancel(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    reason: str,
    now: datetime,
    links: Links,
) -> AppointmentView:
    """Cancel a booked appointment (its desk, its agent, an admin); frees its time at once."""
    require(actor, Action.CANCEL)
    appointment = await appointments.locked(session, actor, appointment_id)
    require_booked(appointment)
    if appointment.end_at <= now:
        raise InvalidTransition(_l("This appointment is over: record its outcome instead."))
    await change_status(session, appointment, AppointmentStatus.CANCELLED, actor, now, reason)
    appointment.cancel_reason = reason
    appointment.sequence += 1
    await session.flush()
    citizen = await citizen_of(session, appointment.citizen_id)
    await notifications.queue_cancelled(session, appointment, citizen, links=links, now=now)
    return await appointments.read(session, actor, appointment_id, now=now)


async def record_outcome(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    status: AppointmentStatus,
    note: str,
    now: datetime,
) -> AppointmentView:
    """Held, citizen absent, or agent absent: once the appointment has started."""
    require(actor, Action.RECORD_OUTCOME)
    if status not in OUTCOMES:
        raise InvalidTransition()
    if status not in outcomes_for(actor):
        raise NotAllowed(_l("That the agent did not come is for the desk to record."))
    appointment = await appointments.locked(session, actor, appointment_id)
    require_booked(appointment)
    if now < appointment.start_at:
        raise InvalidTransition(_l("This appointment has not started yet."))
    await change_status(session, appointment, status, actor, now, note)
    appointment.outcome_note = note
    await session.flush()
    return await appointments.read(session, actor, appointment_id, now=now)


# The citizen's arrival is marked from this long before the start until the end, and may
# be taken back this long after it was marked (a click on the wrong row).
ARRIVAL_OPENS = timedelta(minutes=30)
ARRIVAL_UNDO = timedelta(minutes=5)


def arrival_open(start: datetime, end: datetime, now: datetime) -> bool:
    """Whether an arrival may be marked now: from 30 minutes before the start to the end."""
    return start - ARRIVAL_OPENS <= now <= end


async def mark_arrived(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> AppointmentView:
    """The citizen is at the station: the agent's agenda shows it at once. From 30 minutes
    before the start until the end (`InvalidTransition` otherwise)."""
    require(actor, Action.MARK_ARRIVED)
    appointment = await appointments.locked(session, actor, appointment_id)
    require_booked(appointment)
    if not arrival_open(appointment.start_at, appointment.end_at, now):
        raise InvalidTransition(
            _l("The arrival is marked from 30 minutes before the start until the end.")
        )
    if appointment.arrived_at is None:
        appointment.arrived_at = now
        appointment.updated_at = now
        audit.record(
            session, actor_id=actor.user_id, action="appointment.arrived",
            entity="appointment", entity_id=appointment.id, now=now,
        )  # fmt: skip
    await session.flush()
    return await appointments.read(session, actor, appointment_id, now=now)


async def undo_arrival(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> AppointmentView:
    """Take back an arrival marked by mistake, within 5 minutes of marking it."""
    require(actor, Action.MARK_ARRIVED)
    appointment = await appointments.locked(session, actor, appointment_id)
    require_booked(appointment)
    arrived_at = appointment.arrived_at
    if arrived_at is None or now - arrived_at > ARRIVAL_UNDO:
        raise InvalidTransition(_l("An arrival can be taken back only within 5 minutes."))
    appointment.arrived_at = None
    appointment.updated_at = now
    audit.record(
        session, actor_id=actor.user_id, action="appointment.arrival_undone",
        entity="appointment", entity_id=appointment.id, now=now,
    )  # fmt: skip
    await session.flush()
    return await appointments.read(session, actor, appointment_id, now=now)


@dataclass(frozen=True, slots=True)
class AppointmentDetail:
    """One appointment's page: the appointment, where it moved to, and what the reader may
    do with it now (by the same rules the changes themselves check)."""

    appointment: AppointmentView
    moved_to_id: int | None
    can_cancel: bool
    can_reschedule: bool
    can_mark_arrived: bool
    can_undo_arrival: bool
    can_record_outcome: bool
    # The outcomes the reader may record, in a fixed order.
    outcomes: tuple[AppointmentStatus, ...]


async def detail(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> AppointmentDetail:
    """An appointment the actor may see, with the changes open to them now; `NotFound`
    otherwise."""
    view = await appointments.read(session, actor, appointment_id, now=now)
    moved_to = await session.scalar(
        select(Appointment.id).where(Appointment.rescheduled_from_id == appointment_id)
    )
    booked = view.status is AppointmentStatus.BOOKED
    arrived = view.arrived_at
    return AppointmentDetail(
        appointment=view,
        moved_to_id=moved_to,
        can_cancel=booked and now < view.end and may(actor, Action.CANCEL),
        can_reschedule=booked and now < view.start and may(actor, Action.RESCHEDULE),
        can_mark_arrived=booked
        and arrived is None
        and arrival_open(view.start, view.end, now)
        and may(actor, Action.MARK_ARRIVED),
        can_undo_arrival=booked
        and arrived is not None
        and now - arrived <= ARRIVAL_UNDO
        and may(actor, Action.MARK_ARRIVED),
        can_record_outcome=booked and now >= view.start and may(actor, Action.RECORD_OUTCOME),
        outcomes=tuple(status for status in AppointmentStatus if status in outcomes_for(actor)),
    )


async def send_confirmation(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime, links: Links
) -> str:
    """Email the citizen their confirmation again (the desk's "send by email"); the address
    it goes to. `InvalidTransition` when the appointment is not booked any more or the
    citizen gave no email."""
    require(actor, Action.PRINT_CONFIRMATION)
    appointment = await appointments.locked(session, actor, appointment_id)
    require_booked(appointment)
    citizen = await citizen_of(session, appointment.citizen_id)
    if citizen is None or not citizen.email:
        raise InvalidTransition(_l("This citizen gave no email address: print the confirmation."))
    await notifications.queue_confirmation_again(
        session, appointment, citizen, links=links, now=now
    )
    audit.record(
        session, actor_id=actor.user_id, action="appointment.confirmation_sent",
        entity="appointment", entity_id=appointment.id, now=now,
    )  # fmt: skip
    return citizen.email
