"""Booking and moving an appointment.

No double booking, ever. Where writers run side by side (PostgreSQL), a booking takes, in
this fixed order, a row lock on its agent and then on its station, re-checks the slot
with the engine on what it reads under those locks, and inserts; two requests for the
same agent or station therefore run one after the other, and the second sees the first's
appointment. Where writers take turns (SQLite: every write transaction holds the
database's write lock from its start), what the booking reads stays true until it
commits. Behind that, PostgreSQL's exclusion constraints refuse overlapping busy time
outright; a violation becomes `SlotUnavailable`, never a 500.

One booking walks one way: the citizen (`citizens`), the site, motive and schedules in
one loader call (`availability.load_inputs`, under the locks when there is nothing to
choose), the engine, the appointment's statements, the outbox.

When the request names no agent and several are free at that time, the booking is fair:
the agent with the fewest appointments (cancelled ones aside) in the house's calendar week
of the start, then the smallest id. Where writers run side by side, an agent who became
busy meanwhile is passed over for the next fairest; none left is `SlotUnavailable`, with
the next free times.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from visio.db.models import Appointment, Citizen
from visio.db.races import lost_race
from visio.db.statements import appointments as statements
from visio.db.statements import writers_take_turns
from visio.db.statements.appointments import NewAppointment, Recorded
from visio.db.statements.audit import Details
from visio.db.statements.statistics import CountChange
from visio.domain import AppointmentStatus
from visio.i18n import lazy_gettext as _l
from visio.meetings.rooms import new_room_name
from visio.notify.facts import MotiveFacts, Parties, PartnerFacts, SiteFacts
from visio.scheduling import Slot, find_slots, is_bookable
from visio.scheduling.calendars import time_zone
from visio.services import (
    appointments,
    availability,
    counters,
    notifications,
    setup,
    transitions,
)
from visio.services.availability import SearchInputs
from visio.services.citizens import CitizenDetails, find_or_create_citizen, name_key
from visio.services.errors import Conflict, InvalidTransition, SlotUnavailable
from visio.services.notifications import Links, Moment
from visio.services.permissions import Action, Actor, require, require_site
from visio.services.records import (
    AppointmentView,
    CitizenView,
    PartnerView,
    SiteSummary,
    reference_of,
)

# How many free slots a refused booking proposes instead, and how far it looks for them.
NEXT_SLOTS = 5
NEXT_SLOTS_DAYS = 14
# A booking whose chosen agent lost the race tries the next free agent at the same time.
MAX_AGENT_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class BookingRequest:
    site_id: int
    motive_id: int
    start: datetime
    citizen: CitizenDetails
    agent_id: int | None = None
    station_id: int | None = None


@dataclass(frozen=True, slots=True)
class _Booked:
    """A new appointment, as inserted, with what it was judged on."""

    id: int
    values: NewAppointment
    inputs: SearchInputs

    @property
    def moment(self) -> Moment:
        values = self.values
        return Moment(
            self.id, values["agent_id"], values["start_at"], values["end_at"],
            values["sequence"], values["cancel_reason"], values["rescheduled_from_id"],
        )  # fmt: skip

    @property
    def parties(self) -> Parties:
        """What the messages of the booking say of its house, partner, motive and agent:
        all read already by the booking itself."""
        head = self.inputs.head
        return Parties(
            site=SiteFacts(name=head.site_name, address=head.site_address,
                           timezone=head.timezone, email=head.site_email),
            partner=PartnerFacts(name=head.partner_name),
            motive=MotiveFacts(name=head.motive_name, documents=head.documents,
                               instructions=head.instructions),
            agent=self.inputs.agent_details[self.values["agent_id"]].facts(),
        )  # fmt: skip

    def view(self, citizen: CitizenView | None, now: datetime) -> AppointmentView:
        """The record of the new appointment, from what the booking knows: no read."""
        values, head = self.values, self.inputs.head
        zone = time_zone(head.timezone)
        agent = self.inputs.agent_details[values["agent_id"]]
        return AppointmentView(
            id=self.id, reference=reference_of(self.id), status=values["status"],
            start=values["start_at"].astimezone(zone), end=values["end_at"].astimezone(zone),
            timezone=head.timezone, site_id=values["site_id"], site_name=head.site_name,
            station_id=values["station_id"], partner_id=values["partner_id"],
            partner_name=head.partner_name, motive_id=values["motive_id"],
            motive_name=head.motive_name, agent_id=values["agent_id"], agent_name=agent.name,
            agent_timezone=agent.timezone, citizen=citizen, room=values["room"],
            rescheduled_from_id=values["rescheduled_from_id"], arrived_at=None,
            agent_joined_at=None, cancel_reason="", outcome_note="",
            agent_presence=appointments.agent_presence(
                values["status"], values["start_at"], values["end_at"], None, now
            ),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BookingOptions:
    """What the desk chooses among to book: its houses, and the partners with their motives."""

    sites: list[SiteSummary]
    partners: list[PartnerView]


async def options(session: AsyncSession, actor: Actor) -> BookingOptions:
    """The houses the actor books for and every partner's active motives."""
    require(actor, Action.BOOK)
    return BookingOptions(
        sites=await setup.list_sites(session, actor),
        partners=[p for p in await setup.list_partners(session, actor) if p.motives],
    )


async def book(
    session: AsyncSession, actor: Actor, request: BookingRequest, *, now: datetime, links: Links
) -> AppointmentView:
    """Book a visio appointment for the citizen at the desk, or raise `SlotUnavailable`
    (with the next free slots) when the slot is not, or no longer, free.

    The hot path of visio: a dozen plain statements (the caller's token and the commit
    included), no ORM unit of work. Its emails are queued as facts, worded when sent.
    """
    require_site(actor, Action.BOOK, request.site_id)
    found = await find_or_create_citizen(session, actor, request.citizen, now=now)
    citizen = found.citizen
    booked = await _book_slot(session, actor, request, now=now, citizen_id=citizen.id)
    if found.known:
        await _refuse_citizen_elsewhere(session, citizen.id, booked)
    await notifications.queue_booked(
        session, booked.moment, citizen, links=links, now=now, parties=booked.parties,
        reminder_offsets=booked.inputs.head.reminder_offsets,
    )  # fmt: skip
    return booked.view(citizen, now)


# How long a form sent twice is recognised as the same booking.
SAME_BOOKING_WINDOW = timedelta(minutes=10)


async def booked_just_now(
    session: AsyncSession, actor: Actor, request: BookingRequest, *, now: datetime
) -> int | None:
    """The appointment this very request booked moments ago, if any: a confirmation sent
    twice (a double click, a reload) shows the first booking instead of a refusal.

    The same actor, house, motive, start, agent and station, for the same citizen (the
    same record, or the same name), booked within `SAME_BOOKING_WINDOW`."""
    require_site(actor, Action.BOOK, request.site_id)
    person = request.citizen
    same_person = (
        Citizen.id == person.id
        if person.id is not None
        else (Citizen.first_name_key == name_key(person.first_name))
        & (Citizen.last_name_key == name_key(person.last_name))
    )
    query = (
        select(Appointment.id)
        .join(Citizen, Citizen.id == Appointment.citizen_id)
        .where(
            Appointment.site_id == request.site_id,
            Appointment.motive_id == request.motive_id,
            Appointment.start_at == request.start,
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.booked_by_id == actor.user_id,
            Appointment.created_at >= now - SAME_BOOKING_WINDOW,
            same_person,
        )
    )
    if request.agent_id is not None:
        query = query.where(Appointment.agent_id == request.agent_id)
    if request.station_id is not None:
        query = query.where(Appointment.station_id == request.station_id)
    return await session.scalar(query.order_by(Appointment.id.desc()).limit(1))


async def _refuse_citizen_elsewhere(
    session: AsyncSession, citizen_id: int, booked: _Booked
) -> None:
    """One person, one place at a time: a second appointment of the citizen at the same
    time, booked or moved there, is the desk's mistake (`Conflict`; the middleware rolls
    the transaction back, nothing is written)."""
    clash = await statements.citizen_clash(
        await session.connection(), citizen_id=citizen_id, appointment_id=booked.id,
        start_at=booked.values["start_at"], end_at=booked.values["end_at"],
    )  # fmt: skip
    if clash is not None:
        raise Conflict(
            _l("This citizen already has an appointment at that time (%(reference)s).",
               reference=reference_of(clash)),
            fields={"start": _l("The citizen is already booked then.")},
        )  # fmt: skip


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
) -> AppointmentView:
    """Move a booked appointment: cancel it and book the new time, linked, all at once;
    the new appointment's record.

    The old appointment's own time counts as free for the new one (moving by a quarter of
    an hour is allowed). When the new slot is not free nothing changes: `SlotUnavailable`.
    """
    require(actor, Action.RESCHEDULE)
    old = await appointments.locked(session, actor, appointment_id)
    transitions.require_booked(old)
    if old.start_at <= now:
        raise InvalidTransition(_l("This appointment has started: it can no longer move."))
    await transitions.change_status(
        session, old, AppointmentStatus.CANCELLED, actor, now, "rescheduled"
    )
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
    booked = await _book_slot(
        session, actor, request, now=now, rescheduled_from=old, citizen_id=old.citizen_id
    )
    # Its history and audit entries came with it (see `statements.insert_appointment`).
    if old.citizen_id is not None:
        await _refuse_citizen_elsewhere(session, old.citizen_id, booked)
    citizen = await transitions.citizen_of(session, old.citizen_id)
    await notifications.queue_rescheduled(
        session, old, booked.moment, citizen, new_parties=booked.parties,
        reminder_offsets=booked.inputs.head.reminder_offsets, links=links, now=now,
    )  # fmt: skip
    return booked.view(citizen, now)


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
    connection = await session.connection()
    # When nothing is left to choose, or writers take turns anyway, lock first (in the same
    # statement) and read once: what is read then stays true until the commit.
    lock = None
    if request.agent_id is not None and request.station_id is not None:
        lock = (request.agent_id, request.station_id)
    locked_first = lock is not None or writers_take_turns(connection)
    inputs = await availability.load_day_of(
        session, site_id=request.site_id, motive_id=request.motive_id, start=request.start,
        agent_id=request.agent_id, lock=lock,
    )  # fmt: skip
    day = inputs.first_day
    loads: dict[int, int] = {}
    if locked_first:
        candidates = _candidates(inputs, request, day, now)
        if len(candidates) > 1:
            loads = await _week_loads(connection, inputs, candidates, request.start)
            candidates.sort(key=lambda slot: (loads.get(slot.agent_id, 0), slot.agent_id))
        if not candidates:
            raise SlotUnavailable(
                extra={"next_slots": await _next_slots(session, request, day, now)}
            )
        values, record = _new_appointment(actor, inputs, candidates[0], now, rescheduled_from,
                                          citizen_id)  # fmt: skip
        try:
            appointment_id = await statements.insert_appointment(
                connection, values, record, _counted(values, inputs)
            )
        except DBAPIError as refused:
            if not lost_race(refused):
                raise
            # Only a writer that skipped the locks could have taken it meanwhile: the
            # database said no, so do we. The transaction is aborted: the middleware rolls
            # it back, nothing of this request stays.
            raise SlotUnavailable() from None
        return _Booked(appointment_id, values, inputs)
    for attempt_number in range(MAX_AGENT_ATTEMPTS):
        candidates = _candidates(inputs, request, day, now)
        if not candidates:
            break
        if attempt_number == 0 and len(candidates) > 1:
            loads = await _week_loads(connection, inputs, candidates, request.start)
        # The least loaded agent that week first, then by id; a lost race tries the next.
        slot = min(candidates, key=lambda slot: (loads.get(slot.agent_id, 0), slot.agent_id))
        # Each attempt in its own savepoint: a failed one gives back the row locks it took
        # before the next attempt locks another agent, so two bookings never wait on each
        # other's locks in opposite orders.
        attempt = await session.begin_nested()
        try:
            await statements.lock_agent_and_station(
                connection, agent_id=slot.agent_id, station_id=slot.station_id
            )
            # What this agent and station hold now that no one else can book them.
            fresh = await availability.load_schedules(
                session, inputs.head, first_day=day, last_day=day, agent_id=slot.agent_id
            )
            checked = is_bookable(
                request.start, slot.agent_id, slot.station_id, fresh.site, fresh.stations,
                fresh.motive, fresh.agents, now,
            )  # fmt: skip
            if checked is None:
                raise _LostRace()
            values, record = _new_appointment(actor, fresh, checked, now, rescheduled_from,
                                              citizen_id)  # fmt: skip
            # The exclusion constraints have the last word on the insert.
            appointment_id = await statements.insert_appointment(
                connection, values, record, _counted(values, fresh)
            )
        except (_LostRace, DBAPIError) as refused:
            if isinstance(refused, DBAPIError) and not lost_race(refused):
                raise
            # Another booking took this agent or station first (the exclusion constraint,
            # or a deadlock PostgreSQL broke: `lost_race`): the database said no, so do we.
            # What is free is read again (the winner has committed): an agent taken is
            # passed over for the next fairest, an agent whose station was taken gets
            # another free station (every booking picks the smallest free one first).
            await attempt.rollback()
            inputs = await availability.load_schedules(
                session, inputs.head, first_day=day, last_day=day, agent_id=request.agent_id
            )
            continue
        await attempt.commit()
        return _Booked(appointment_id, values, fresh)
    raise SlotUnavailable(extra={"next_slots": await _next_slots(session, request, day, now)})


async def _week_loads(
    connection: AsyncConnection, inputs: SearchInputs, candidates: list[Slot], start: datetime
) -> dict[int, int]:
    """The appointments each candidate agent holds in the house's calendar week of `start`
    (Monday to Sunday): an agent is chosen fairly, the least loaded that week first."""
    zone = time_zone(inputs.site.timezone)
    day = start.astimezone(zone).date()
    monday = day - timedelta(days=day.weekday())
    week_start = datetime.combine(monday, time(), zone)
    week_end = datetime.combine(monday + timedelta(days=7), time(), zone)
    return await statements.week_loads(
        connection, sorted({slot.agent_id for slot in candidates}), week_start, week_end
    )


def _counted(values: NewAppointment, inputs: SearchInputs) -> CountChange:
    """The statistics' counters: one more appointment booked (a refused insert counts
    nothing: the counter is written with the appointment)."""
    return counters.booked(
        site_id=values["site_id"], partner_id=values["partner_id"],
        motive_id=values["motive_id"], agent_id=values["agent_id"], start=values["start_at"],
        end=values["end_at"], timezone=inputs.site.timezone,
    )  # fmt: skip


class _LostRace(Exception):
    """The slot was taken between the search and the locks."""


def _new_appointment(
    actor: Actor,
    inputs: SearchInputs,
    slot: Slot,
    now: datetime,
    rescheduled_from: Appointment | None,
    citizen_id: int | None,
) -> tuple[NewAppointment, Recorded]:
    """The new appointment's columns, and how its history and the audit log record it."""
    head, timing = inputs.head, inputs.motive
    values = NewAppointment(
        citizen_id=citizen_id, site_id=head.site_id, station_id=slot.station_id,
        partner_id=head.partner_id, motive_id=timing.motive_id, agent_id=slot.agent_id,
        start_at=slot.start, end_at=slot.end, busy_from=slot.start - timing.buffer_before,
        busy_until=slot.end + timing.buffer_after, status=AppointmentStatus.BOOKED,
        room=new_room_name(secrets.token_bytes), booked_by_id=actor.user_id,
        rescheduled_from_id=rescheduled_from.id if rescheduled_from else None,
        # A move is one more version of the same calendar event.
        sequence=rescheduled_from.sequence if rescheduled_from else 0,
        arrived_at=None, agent_joined_at=None, cancel_reason="", outcome_note="",
        to_rebook_since=None, to_rebook_reason=None, created_at=now, updated_at=now,
    )  # fmt: skip
    placed: Details = {"agent_id": slot.agent_id, "station_id": slot.station_id,
              "start": slot.start.isoformat()}  # fmt: skip
    if rescheduled_from is None:
        record = Recorded(
            record_action="appointment.book", record_note="",
            record_details={"site_id": head.site_id, "motive_id": timing.motive_id, **placed},
        )  # fmt: skip
    else:
        record = Recorded(
            record_action="appointment.reschedule",
            record_note=f"rescheduled from {rescheduled_from.id}",
            record_details={"from_appointment": rescheduled_from.id, **placed},
        )
    return values, record


def _candidates(
    inputs: SearchInputs, request: BookingRequest, day: date, now: datetime
) -> list[Slot]:
    """The slots at exactly the requested start, best first (the agent asked for, else
    each free agent by id)."""
    stations = inputs.stations
    if request.station_id is not None:
        stations = tuple(s for s in stations if s.station_id == request.station_id)
    slots = find_slots(inputs.site, stations, inputs.motive, inputs.agents, day, day, now)
    return [s for s in slots if s.start == request.start]


async def _next_slots(
    session: AsyncSession, request: BookingRequest, day: date, now: datetime
) -> list[dict[str, str | int]]:
    """The next free slots from the requested day on, for the desk to offer instead."""
    last_day = day + timedelta(days=NEXT_SLOTS_DAYS - 1)
    inputs = await availability.load_inputs(
        session, site_id=request.site_id, motive_id=request.motive_id, first_day=day,
        last_day=last_day, agent_id=request.agent_id,
    )  # fmt: skip
    slots = find_slots(
        inputs.site, inputs.stations, inputs.motive, inputs.agents, day, last_day, now
    )
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
