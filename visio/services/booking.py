"""Booking: book, reschedule, cancel, record the outcome, mark the citizen arrived.

No double booking, ever. A booking takes, in this fixed order, a row lock on its agent and
then on its station (PostgreSQL), re-checks the slot with the engine on fresh data, and
inserts; two requests for the same agent or station therefore run one after the other,
and the second sees the first's appointment. On SQLite every write transaction holds the
database's write lock from its start (BEGIN IMMEDIATE), which serialises them the same way.
Behind that, PostgreSQL's exclusion constraints refuse overlapping busy time outright; a
violation becomes `SlotUnavailable`, never a 500.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Integer, Text, bindparam, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.base import table
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AuditEntry,
    Citizen,
    Role,
    Site,
    Station,
)
from visio.i18n import lazy_gettext as _l
from visio.meetings.jitsi import JitsiConfig, JoinLink, Participant, join_link, join_state
from visio.meetings.rooms import new_room_name
from visio.scheduling import Slot, find_slots
from visio.scheduling.calendars import time_zone
from visio.services import audit, availability, notifications
from visio.services.accounts import Actor
from visio.services.citizens import CitizenDetails, find_or_create_citizen
from visio.services.errors import (
    Conflict,
    InvalidTransition,
    NotAllowed,
    NotFound,
    SlotUnavailable,
)
from visio.services.notifications import Links

# How many free slots a refused booking proposes instead, and how far it looks for them.
NEXT_SLOTS = 5
NEXT_SLOTS_DAYS = 14
# A booking whose chosen agent lost the race tries the next free agent at the same time.
MAX_AGENT_ATTEMPTS = 5

OUTCOMES = frozenset(
    {AppointmentStatus.HELD, AppointmentStatus.NO_SHOW, AppointmentStatus.AGENT_ABSENT}
)


@dataclass(frozen=True, slots=True)
class BookingRequest:
    site_id: int
    motive_id: int
    start: datetime
    citizen: CitizenDetails
    agent_id: int | None = None
    station_id: int | None = None


# ---------------------------------------------------------------- reading


def _visible_to(actor: Actor) -> Any:
    """The SQL condition for the appointments an actor may see."""
    if actor.is_admin:
        return True
    if actor.role is Role.DESK:
        return Appointment.site_id.in_(actor.site_ids)
    if actor.role is Role.AGENT and actor.agent_id is not None:
        return Appointment.agent_id == actor.agent_id
    return False


def may_read(actor: Actor) -> None:
    """Appointments are read by desk agents, partner agents and admins: `NotAllowed` else."""
    if actor.role not in (Role.DESK, Role.AGENT, Role.ADMIN):
        raise NotAllowed()


async def get_appointment(
    session: AsyncSession, actor: Actor, appointment_id: int, *, lock: bool = False
) -> Appointment:
    """An appointment the actor may see (the booking site's desk, its agent, admins).

    `NotFound` otherwise: whether it exists is nobody else's business.
    """
    may_read(actor)
    query = select(Appointment).where(Appointment.id == appointment_id, _visible_to(actor))
    if lock:
        query = query.with_for_update()
    appointment = await session.scalar(query)
    if appointment is None:
        raise NotFound()
    return appointment


async def list_appointments(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int | None,
    agent_id: int | None,
    first: datetime | None,
    last: datetime | None,
    statuses: Sequence[AppointmentStatus],
    limit: int = 500,
) -> list[Appointment]:
    """The appointments in the actor's scope matching the filters, by start."""
    may_read(actor)
    query = select(Appointment).where(_visible_to(actor)).order_by(Appointment.start_at)
    if site_id is not None:
        query = query.where(Appointment.site_id == site_id)
    if agent_id is not None:
        query = query.where(Appointment.agent_id == agent_id)
    if first is not None:
        query = query.where(Appointment.end_at > first)
    if last is not None:
        query = query.where(Appointment.start_at < last)
    if statuses:
        query = query.where(Appointment.status.in_(statuses))
    return list((await session.scalars(query.limit(limit))).all())


# The widest gap between UTC and a French house's wall clock (Polynesia -10h, New
# Caledonia +11h), and then some: enough to catch every site-local day in a UTC range.
WIDEST_OFFSET = timedelta(hours=14)


async def appointments_on_days(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int | None,
    agent_id: int | None,
    first_day: date | None,
    last_day: date | None,
    statuses: Sequence[AppointmentStatus],
    limit: int = 500,
) -> list[AppointmentView]:
    """The appointments in the actor's scope starting on the given days, each day read in
    the appointment's own site's zone (a list may span houses of several zones)."""
    first = last = None
    if first_day is not None:
        first = datetime.combine(first_day, time(), UTC) - WIDEST_OFFSET
    if last_day is not None:
        last = datetime.combine(last_day + timedelta(days=1), time(), UTC) + WIDEST_OFFSET
    found = await list_appointments(
        session, actor, site_id=site_id, agent_id=agent_id, first=first, last=last,
        statuses=statuses, limit=limit,
    )  # fmt: skip
    views = await describe(session, found)
    return [
        view
        for view in views
        if (first_day is None or view.local_start.date() >= first_day)
        and (last_day is None or view.local_start.date() <= last_day)
    ]


@dataclass(frozen=True, slots=True)
class AppointmentView:
    """An appointment with what it is shown with: its site's zone and its citizen."""

    appointment: Appointment
    timezone: str
    citizen: Citizen | None

    @property
    def local_start(self) -> datetime:
        return self.appointment.start_at.astimezone(time_zone(self.timezone))


async def describe(
    session: AsyncSession, appointments: Sequence[Appointment]
) -> list[AppointmentView]:
    """Appointments with their sites' zones and their citizens, in two queries in all."""
    site_ids = {a.site_id for a in appointments}
    zones = dict(
        (await session.execute(select(Site.id, Site.timezone).where(Site.id.in_(site_ids)))).all()
    ) if site_ids else {}  # fmt: skip
    citizens = await citizens_of(session, {a.citizen_id for a in appointments if a.citizen_id})
    return [
        AppointmentView(a, zones[a.site_id], citizens.get(a.citizen_id) if a.citizen_id else None)
        for a in appointments
    ]


async def citizens_of(session: AsyncSession, ids: set[int]) -> dict[int, Citizen]:
    """Citizens by id, in one query."""
    if not ids:
        return {}
    rows = await session.scalars(select(Citizen).where(Citizen.id.in_(ids)))
    return {citizen.id: citizen for citizen in rows}


# ---------------------------------------------------------------- booking


async def book(
    session: AsyncSession, actor: Actor, request: BookingRequest, *, now: datetime, links: Links
) -> AppointmentView:
    """Book a visio appointment for the citizen at the desk, or raise `SlotUnavailable`
    (with the next free slots) when the slot is not, or no longer, free.

    The hot path of visio: a dozen plain statements (the caller's token and the commit
    included), no ORM unit of work. Its emails are queued as facts, worded when sent.
    """
    availability.may_search(actor, request.site_id)
    found = await find_or_create_citizen(session, actor, request.citizen, now=now)
    citizen = found.citizen
    booked = await _book_slot(session, actor, request, now=now, citizen_id=citizen.id)
    appointment = booked.appointment
    if found.known:
        clash = await (await session.connection()).scalar(
            select(Appointment.id).where(
                Appointment.citizen_id == citizen.id,
                Appointment.id != appointment.id,
                Appointment.status == AppointmentStatus.BOOKED,
                Appointment.start_at < appointment.end_at,
                Appointment.end_at > appointment.start_at,
            )
        )
        if clash is not None:
            # One person, one place at a time: the desk probably booked twice by mistake.
            raise Conflict(
                _l("This citizen already has an appointment at that time (%(reference)s).",
                   reference=f"V-{clash:06d}"),
                fields={"start": _l("The citizen is already booked then.")},
            )  # fmt: skip
    head = booked.inputs.head
    await notifications.queue_booked(
        session, appointment, citizen, links=links, now=now,
        parties=_parties_read(booked.inputs, appointment.agent_id),
        reminder_offsets=head.reminder_offsets,
    )  # fmt: skip
    return AppointmentView(appointment, head.timezone, citizen)


def _parties_read(inputs: availability.SearchInputs, agent_id: int) -> notifications.Parties:
    """What the messages of a booking say of its house, partner, motive and agent: all
    read already by the booking itself."""
    head = inputs.head
    name, email, locale, zone = inputs.agent_details[agent_id]
    return notifications.parties_from(
        site=(head.site_name, head.site_address, head.timezone, head.site_email),
        partner_name=head.partner_name,
        motive=(head.motive_name, head.documents, head.instructions),
        agent=(name, email, locale, zone),
    )


@dataclass(frozen=True, slots=True)
class _Booked:
    appointment: Appointment
    # What the booking was judged on: the site, the motive, the chosen agent.
    inputs: availability.SearchInputs


async def _book_slot(
    session: AsyncSession,
    actor: Actor,
    request: BookingRequest,
    *,
    now: datetime,
    rescheduled_from: Appointment | None = None,
    citizen_id: int | None = None,
) -> _Booked:
    """Insert the appointment for a free (start, agent, station), choosing the agent and the
    station when the request leaves them open; `SlotUnavailable` when nothing is free."""
    postgres = session.get_bind().dialect.name == "postgresql"
    # When nothing is left to choose, lock first and read once: the reads are then fresh.
    # SQLite's transaction holds the write lock from its start, so it is always that case.
    locked_first = not postgres or (request.agent_id is not None and request.station_id is not None)
    lock = None
    if postgres and request.agent_id is not None and request.station_id is not None:
        # Nothing left to choose: lock first (in the same statement), and read once.
        lock = (request.agent_id, request.station_id)
    head = await availability.load_head(
        session, site_id=request.site_id, motive_id=request.motive_id, lock=lock
    )
    day = request.start.astimezone(time_zone(head.timezone)).date()
    tried: set[int] = set()
    for _attempt in range(MAX_AGENT_ATTEMPTS):
        inputs = await availability.load_schedules(
            session, head, first_day=day, last_day=day, agent_id=request.agent_id
        )
        candidates = _candidates(inputs, request, day, now, exclude=tried)
        if not candidates:
            break
        slot = candidates[0]
        if locked_first:
            try:
                appointment = await _insert(
                    session, actor, request.site_id, head, slot, now, rescheduled_from, citizen_id
                )
            except (IntegrityError, OperationalError):
                # Only a writer that skipped the locks could have taken it meanwhile; the
                # database said no, so do we (nothing of this request stays).
                await session.rollback()
                break
            return _Booked(appointment, inputs)
        # Each attempt in its own savepoint: a failed one gives back the row locks it took
        # before the next attempt locks another agent, so two bookings never wait on each
        # other's locks in opposite orders.
        attempt = await session.begin_nested()
        try:
            await _lock(session, slot.agent_id, slot.station_id)
            # Fresh data now that no one else can book this agent or this station.
            checked, inputs = await availability.check_bookable(
                session, head, start=request.start, agent_id=slot.agent_id,
                station_id=slot.station_id, now=now,
            )  # fmt: skip
            if checked is None:
                raise _LostRace()
            slot = checked
            # The exclusion constraints have the last word on the insert.
            appointment = await _insert(
                session, actor, request.site_id, head, slot, now, rescheduled_from, citizen_id
            )
        except (_LostRace, IntegrityError, OperationalError):
            # Another booking took this agent or station first (an IntegrityError is the
            # exclusion constraint, an OperationalError a deadlock PostgreSQL broke): the
            # database said no, so do we, and try the next free agent.
            await attempt.rollback()
            tried.add(slot.agent_id)
            continue
        await attempt.commit()
        return _Booked(appointment, inputs)
    raise SlotUnavailable(
        extra={"next_slots": await _next_slots(session, request, day, now)},
    )


class _LostRace(Exception):
    """The slot was taken between the search and the locks."""


@functools.cache
def _insert_statement() -> Any:
    appointments = table(Appointment)
    return insert(appointments).returning(appointments.c.id)


async def _insert(
    session: AsyncSession,
    actor: Actor,
    site_id: int,
    head: availability.SiteAndMotive,
    slot: Slot,
    now: datetime,
    rescheduled_from: Appointment | None,
    citizen_id: int | None,
) -> Appointment:
    """The appointment, with its first history entry and its audit entry: plain INSERTs,
    a single statement on PostgreSQL. It comes back as a detached record."""
    timing = head.motive
    values: dict[str, Any] = {
        "citizen_id": citizen_id,
        "site_id": site_id,
        "station_id": slot.station_id,
        "partner_id": head.partner_id,
        "motive_id": timing.motive_id,
        "agent_id": slot.agent_id,
        "start_at": slot.start,
        "end_at": slot.end,
        "busy_from": slot.start - timing.buffer_before,
        "busy_until": slot.end + timing.buffer_after,
        "status": AppointmentStatus.BOOKED,
        "room": new_room_name(secrets.token_bytes),
        "booked_by_id": actor.user_id,
        "rescheduled_from_id": rescheduled_from.id if rescheduled_from else None,
        # A move is one more version of the same calendar event.
        "sequence": rescheduled_from.sequence if rescheduled_from else 0,
        "arrived_at": None,
        "agent_joined_at": None,
        "cancel_reason": "",
        "outcome_note": "",
        "created_at": now,
        "updated_at": now,
    }
    if rescheduled_from is None:
        action, note = "appointment.book", ""
        details: dict[str, Any] = {"site_id": site_id, "motive_id": timing.motive_id}
    else:
        action, note = "appointment.reschedule", f"rescheduled from {rescheduled_from.id}"
        details = {"from_appointment": rescheduled_from.id}
    details.update(agent_id=slot.agent_id, station_id=slot.station_id,
                   start=slot.start.isoformat())  # fmt: skip
    record = {"record_note": note, "record_action": action, "record_details": details}
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        appointment_id = await connection.scalar(_insert_recorded(), values | record)
    else:
        appointment_id = await connection.scalar(_insert_statement(), values)
        await _write_event(
            session, appointment_id, now, actor, None, AppointmentStatus.BOOKED, note
        )
        await audit.write(
            session, actor_id=actor.user_id, action=action, entity="appointment",
            entity_id=appointment_id, now=now, details=details,
        )  # fmt: skip
    return Appointment(id=appointment_id, **values)


@functools.cache
def _insert_recorded() -> Any:
    """PostgreSQL: the three INSERTs in one statement (data-modifying CTEs)."""
    appointments, events, entries = table(Appointment), table(AppointmentEvent), table(AuditEntry)
    columns = {
        column.name: bindparam(column.name, type_=column.type)
        for column in appointments.c
        if column.name != "id"
    }
    booked = insert(appointments).values(columns).returning(appointments.c.id).cte("booked")
    history = (
        insert(events)
        .from_select(
            ["appointment_id", "at", "by_user_id", "from_status", "to_status", "note"],
            select(
                booked.c.id,
                bindparam("created_at", type_=appointments.c.created_at.type),
                bindparam("booked_by_id", type_=Integer),
                null(),
                literal(AppointmentStatus.BOOKED, type_=events.c.to_status.type),
                bindparam("record_note", type_=Text),
            ),
        )
        .cte("history")
    )
    audited = (
        insert(entries)
        .from_select(
            ["at", "user_id", "action", "entity", "entity_id", "details"],
            select(
                bindparam("created_at", type_=appointments.c.created_at.type),
                bindparam("booked_by_id", type_=Integer),
                bindparam("record_action", type_=Text),
                literal("appointment"),
                booked.c.id,
                bindparam("record_details", type_=entries.c.details.type),
            ),
        )
        .cte("audited")
    )
    return select(booked.c.id).add_cte(history, audited)


def _candidates(
    inputs: availability.SearchInputs,
    request: BookingRequest,
    day: date,
    now: datetime,
    exclude: set[int],
) -> list[Slot]:
    """The slots at exactly the requested start, best first (the agent asked for, else
    each free agent by id), leaving out agents that already lost a race."""
    stations = inputs.stations
    if request.station_id is not None:
        stations = tuple(s for s in stations if s.station_id == request.station_id)
    slots = find_slots(inputs.site, stations, inputs.motive, inputs.agents, day, day, now)
    return [s for s in slots if s.start == request.start and s.agent_id not in exclude]


async def _lock(session: AsyncSession, agent_id: int, station_id: int) -> None:
    """PostgreSQL: row locks on the agent, then the station, in one statement (PostgreSQL
    locks a joined row's tables in the order they come in FROM): always this order, as
    in `availability.load_head`, so no two bookings wait on each other."""
    await (await session.connection()).execute(
        _lock_both(), {"agent_id": agent_id, "station_id": station_id}
    )


@functools.cache
def _lock_both() -> Any:
    return (
        select(Agent.id, Station.id)
        .join(Station, Station.id == bindparam("station_id"))
        .where(Agent.id == bindparam("agent_id"))
        .with_for_update()
    )


async def _next_slots(
    session: AsyncSession, request: BookingRequest, day: date, now: datetime
) -> list[dict[str, Any]]:
    """The next free slots from the requested day on, for the desk to offer instead."""
    inputs = await availability.load_inputs(
        session, site_id=request.site_id, motive_id=request.motive_id, first_day=day,
        last_day=day + timedelta(days=NEXT_SLOTS_DAYS - 1), agent_id=request.agent_id,
    )  # fmt: skip
    slots = find_slots(
        inputs.site, inputs.stations, inputs.motive, inputs.agents, day,
        day + timedelta(days=NEXT_SLOTS_DAYS - 1), now,
    )  # fmt: skip
    zone = time_zone(inputs.site.timezone)
    later = [slot for slot in slots if slot.start >= request.start] or slots
    return [
        {
            "start": slot.start.astimezone(zone).isoformat(),
            "end": slot.end.astimezone(zone).isoformat(),
            "agent_id": slot.agent_id,
            "station_id": slot.station_id,
        }
        for slot in later[:NEXT_SLOTS]
    ]


async def _write_event(
    session: AsyncSession,
    appointment_id: int,
    now: datetime,
    actor: Actor,
    from_status: AppointmentStatus | None,
    to_status: AppointmentStatus,
    note: str = "",
) -> None:
    await (await session.connection()).execute(
        _event_statement(),
        {"appointment_id": appointment_id, "at": now, "by_user_id": actor.user_id,
         "from_status": from_status, "to_status": to_status, "note": note},
    )  # fmt: skip


@functools.cache
def _event_statement() -> Any:
    return insert(table(AppointmentEvent))


# ---------------------------------------------------------------- changes


def _transition(
    session: AsyncSession,
    appointment: Appointment,
    to_status: AppointmentStatus,
    actor: Actor,
    now: datetime,
    note: str = "",
) -> None:
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


def _require_booked(appointment: Appointment) -> None:
    if appointment.status is not AppointmentStatus.BOOKED:
        raise InvalidTransition(
            _l("This appointment is %(status)s: it can no longer change.",
               status=status_label(appointment.status))
        )  # fmt: skip


async def cancel(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    reason: str,
    now: datetime,
    links: Links,
) -> Appointment:
    """Cancel a booked appointment (its desk, its agent, an admin); frees its time at once."""
    appointment = await get_appointment(session, actor, appointment_id, lock=True)
    _require_booked(appointment)
    if appointment.end_at <= now:
        raise InvalidTransition(_l("This appointment is over: record its outcome instead."))
    _transition(session, appointment, AppointmentStatus.CANCELLED, actor, now, reason)
    appointment.cancel_reason = reason
    appointment.sequence += 1
    await session.flush()
    citizen = await session.get(Citizen, appointment.citizen_id) if appointment.citizen_id else None
    await notifications.queue_cancelled(session, appointment, citizen, links=links, now=now)
    return appointment


async def reschedule(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    start: datetime,
    agent_id: int | None,
    station_id: int | None,
    now: datetime,
    links: Links,
) -> tuple[Appointment, Appointment]:
    """Move a booked appointment: cancel it and book the new time, linked, all at once.

    The old appointment's own time counts as free for the new one (moving by a quarter of
    an hour is allowed). When the new slot is not free nothing changes: `SlotUnavailable`.
    """
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    old = await get_appointment(session, actor, appointment_id, lock=True)
    _require_booked(old)
    if old.start_at <= now:
        raise InvalidTransition(_l("This appointment has started: it can no longer move."))
    _transition(session, old, AppointmentStatus.CANCELLED, actor, now, "rescheduled")
    old.cancel_reason = "rescheduled"
    # One more version of the same calendar event, whichever agent now holds it.
    old.sequence += 1
    await session.flush()
    request = BookingRequest(
        site_id=old.site_id,
        motive_id=old.motive_id,
        start=start,
        citizen=CitizenDetails(first_name="", last_name=""),
        agent_id=agent_id,
        station_id=station_id,
    )
    # The calendar invitation is the same event moved: it keeps counting its versions.
    booked = await _book_slot(
        session, actor, request, now=now, rescheduled_from=old, citizen_id=old.citizen_id
    )
    # Its history and audit entries came with it (see `_insert`).
    new = booked.appointment
    citizen = await session.get(Citizen, new.citizen_id) if new.citizen_id else None
    await notifications.queue_rescheduled(session, old, new, citizen, links=links, now=now)
    return old, new


async def record_outcome(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    status: AppointmentStatus,
    note: str,
    now: datetime,
) -> Appointment:
    """Held, citizen absent, or agent absent: once the appointment has started."""
    if status not in OUTCOMES:
        raise InvalidTransition()
    appointment = await get_appointment(session, actor, appointment_id, lock=True)
    _require_booked(appointment)
    if now < appointment.start_at:
        raise InvalidTransition(_l("This appointment has not started yet."))
    _transition(session, appointment, status, actor, now, note)
    appointment.outcome_note = note
    await session.flush()
    return appointment


async def mark_arrived(
    session: AsyncSession, actor: Actor, appointment_id: int, *, now: datetime
) -> Appointment:
    """The citizen is at the station: the agent's agenda shows it at once."""
    if actor.role not in (Role.DESK, Role.ADMIN):
        raise NotAllowed()
    appointment = await get_appointment(session, actor, appointment_id, lock=True)
    _require_booked(appointment)
    if appointment.arrived_at is None:
        appointment.arrived_at = now
        appointment.updated_at = now
        audit.record(
            session, actor_id=actor.user_id, action="appointment.arrived",
            entity="appointment", entity_id=appointment.id, now=now,
        )  # fmt: skip
    await session.flush()
    return appointment


async def mark_agent_joined(session: AsyncSession, appointment: Appointment, now: datetime) -> None:
    """The agent opened their link: the desk stops showing them as late."""
    if appointment.agent_joined_at is None:
        await session.execute(
            update(Appointment)
            .where(Appointment.id == appointment.id, Appointment.agent_joined_at.is_(None))
            .values(agent_joined_at=now)
        )
        appointment.agent_joined_at = now


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


# ---------------------------------------------------------------- meeting links


async def join(
    session: AsyncSession,
    actor: Actor,
    appointment_id: int,
    *,
    side: str,
    config: JitsiConfig,
    now: datetime,
) -> tuple[Appointment, JoinLink, str]:
    """The meeting link of one side, and whether joining is open now.

    The agent side is for the appointment's own agent (moderator) and admins; the station
    side for the booking site's desk and admins (a guest, named after the site). Anyone
    else gets `NotFound`, never a token.
    """
    appointment = await get_appointment(session, actor, appointment_id)
    if side == "agent":
        if not (actor.is_admin or actor.agent_id == appointment.agent_id):
            raise NotFound()
        agent = await session.get(Agent, appointment.agent_id)
        assert agent is not None
        participant = Participant.for_agent(agent.id, agent.name, agent.email)
    else:
        if actor.role not in (Role.DESK, Role.ADMIN):
            raise NotFound()
        site = await session.get(Site, appointment.site_id)
        assert site is not None
        participant = Participant.for_station(appointment.station_id, site.name)
    if appointment.status is not AppointmentStatus.BOOKED:
        raise InvalidTransition(
            _l("This appointment is %(status)s: there is no meeting to join.",
               status=status_label(appointment.status))
        )  # fmt: skip
    link = join_link(
        config, room=appointment.room, start=appointment.start_at, end=appointment.end_at,
        participant=participant, now=now,
    )  # fmt: skip
    state = join_state(now, appointment.start_at, appointment.end_at, config)
    if side == "agent" and actor.agent_id == appointment.agent_id and state == "open":
        await mark_agent_joined(session, appointment, now)
    return appointment, link, state
