"""Appointments: the booking's INSERTs and row locks, and the read of what pages show.

A new appointment is written with its first history entry, its audit entry and the
statistics' counter it adds to: three INSERTs and an upsert on SQLite, one statement of
four data-modifying CTEs on PostgreSQL (one round trip instead of four, on the hottest
path of visio).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import NamedTuple, TypedDict

from sqlalchemy import (
    ColumnElement,
    Insert,
    Integer,
    Select,
    Text,
    bindparam,
    false,
    func,
    insert,
    literal,
    null,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from visio.db.base import UTCDateTime, table
from visio.db.direct import direct
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentEvent,
    AuditEntry,
    Citizen,
    Motive,
    Partner,
    Site,
    Station,
)
from visio.db.statements import bound_insert, shaped, writers_take_turns
from visio.db.statements.audit import AuditRow, Details, write_entry
from visio.db.statements.statistics import (
    CountChange,
    add_counts,
    counted_with,
    counter_parameters,
)
from visio.domain import AppointmentScope, AppointmentStatus, RebookReason
from visio.logs import current_request_id


class NewAppointment(TypedDict):
    """Every column of a new appointment."""

    citizen_id: int | None
    site_id: int
    station_id: int
    partner_id: int
    motive_id: int
    agent_id: int
    start_at: datetime
    end_at: datetime
    busy_from: datetime
    busy_until: datetime
    status: AppointmentStatus
    room: str
    booked_by_id: int | None
    rescheduled_from_id: int | None
    sequence: int
    arrived_at: datetime | None
    agent_joined_at: datetime | None
    cancel_reason: str
    outcome_note: str
    to_rebook_since: datetime | None
    to_rebook_reason: RebookReason | None
    created_at: datetime
    updated_at: datetime


class Recorded(TypedDict):
    """How a new appointment is written in its history and the audit log."""

    record_note: str
    record_action: str
    record_details: Details


async def insert_appointment(
    connection: AsyncConnection,
    values: NewAppointment,
    record: Recorded,
    counted: CountChange | None,
) -> int:
    """Insert the appointment with its history and audit entries, and add `counted` to its
    statistics' counter (None: no counter, as a benchmark of the counter's cost wants it);
    its id.

    An overlapping appointment refused by PostgreSQL's exclusion constraints raises
    `IntegrityError` (an aborted deadlock, a `DBAPIError` of SQLSTATE 40P01: see
    `visio.db.races`), and nothing is written,
    the counter neither: the caller decides.
    """
    if not writers_take_turns(connection):
        parameters = {**values, **record, "record_request_id": current_request_id.get()}
        if counted is not None:
            parameters.update(counter_parameters(counted))
        found = await direct(_insert_recorded(counted is not None)).scalar(connection, parameters)
        assert found is not None
        return int(found)
    appointment_id = await direct(_insert_appointment()).scalar(connection, values)
    assert appointment_id is not None
    await insert_event(
        connection, appointment_id=appointment_id, at=values["created_at"],
        by_user_id=values["booked_by_id"], from_status=None, to_status=AppointmentStatus.BOOKED,
        note=record["record_note"],
    )  # fmt: skip
    await write_entry(
        connection,
        AuditRow(
            at=values["created_at"], user_id=values["booked_by_id"],
            action=record["record_action"], entity="appointment", entity_id=appointment_id,
            details=record["record_details"],
        ),
    )  # fmt: skip
    if counted is not None:
        await add_counts(connection, {counted.key: counted.measures})
    return int(appointment_id)


@functools.cache
def _insert_appointment() -> ReturningInsert[int]:
    appointments = table(Appointment)
    return bound_insert(appointments).returning(appointments.c.id)


@functools.cache
def _insert_recorded(counted: bool) -> Select[int]:
    """PostgreSQL: the three INSERTs in one statement (data-modifying CTEs), and the
    counter's upsert when `counted`."""
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
            ["at", "user_id", "action", "entity", "entity_id", "details", "request_id"],
            select(
                bindparam("created_at", type_=appointments.c.created_at.type),
                bindparam("booked_by_id", type_=Integer),
                bindparam("record_action", type_=Text),
                literal("appointment"),
                booked.c.id,
                bindparam("record_details", type_=entries.c.details.type),
                bindparam("record_request_id", type_=Text),
            ),
        )
        .cte("audited")
    )
    written = [history, audited]
    if counted:
        written.append(counted_with(booked))
    return select(booked.c.id).add_cte(*written)


async def insert_event(
    connection: AsyncConnection,
    *,
    appointment_id: int,
    at: datetime,
    by_user_id: int | None,
    from_status: AppointmentStatus | None,
    to_status: AppointmentStatus,
    note: str,
) -> None:
    """One step of an appointment's history."""
    await direct(_insert_event()).run(
        connection,
        {"appointment_id": appointment_id, "at": at, "by_user_id": by_user_id,
         "from_status": from_status, "to_status": to_status, "note": note},
    )  # fmt: skip


@functools.cache
def _insert_event() -> Insert:
    return bound_insert(
        table(AppointmentEvent),
        ("appointment_id", "at", "by_user_id", "from_status", "to_status", "note"),
    )


async def citizen_clash(
    connection: AsyncConnection,
    *,
    citizen_id: int,
    appointment_id: int,
    start_at: datetime,
    end_at: datetime,
) -> int | None:
    """Another booked appointment of the citizen overlapping [start_at, end_at), if any."""
    found = await direct(_citizen_clash()).scalar(
        connection,
        {"citizen_id": citizen_id, "appointment_id": appointment_id, "start_at": start_at,
         "end_at": end_at},
    )  # fmt: skip
    return None if found is None else int(found)


@functools.cache
def _citizen_clash() -> Select[int]:
    return (
        select(Appointment.id)
        .where(
            Appointment.citizen_id == bindparam("citizen_id", type_=Integer),
            Appointment.id != bindparam("appointment_id", type_=Integer),
            Appointment.status == AppointmentStatus.BOOKED,
            Appointment.start_at < bindparam("end_at", type_=UTCDateTime()),
            Appointment.end_at > bindparam("start_at", type_=UTCDateTime()),
        )
        .limit(1)
    )


async def lock_agent_and_station(
    connection: AsyncConnection, *, agent_id: int, station_id: int
) -> None:
    """Row locks on the agent, then the station, in one statement (PostgreSQL locks a
    joined row's tables in the order they come in FROM): always this order, as in
    `visio.db.statements.availability.head_locking`, so no two bookings wait on each
    other. Nothing to do where writers take turns."""
    if not writers_take_turns(connection):
        await connection.execute(_lock_both(), {"agent_id": agent_id, "station_id": station_id})


@functools.cache
def _lock_both() -> Select[int, int]:
    return (
        select(Agent.id, Station.id)
        .join(Station, Station.id == bindparam("station_id"))
        .where(Agent.id == bindparam("agent_id"))
        .with_for_update()
    )


def in_scope(scope: AppointmentScope) -> ColumnElement[bool]:
    """SQL condition: the appointment is in `scope`."""
    if scope.every:
        return true()
    if scope.agent_id is not None:
        return Appointment.agent_id == scope.agent_id
    if scope.site_ids:
        return Appointment.site_id.in_(sorted(scope.site_ids))
    return false()


class ViewRow(NamedTuple):
    """An appointment with the names its pages show and its citizen (None: no citizen)."""

    appointment: Appointment
    site_name: str
    timezone: str
    partner_name: str
    motive_name: str
    agent_name: str
    agent_timezone: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    birth_date: date | None
    citizen_locale: str | None
    erased_at: datetime | None


@functools.cache
def _views() -> Select[*ViewRow]:
    query = (
        select(
            Appointment,
            Site.name.label("site_name"),
            Site.timezone.label("timezone"),
            Partner.name.label("partner_name"),
            Motive.name.label("motive_name"),
            Agent.name.label("agent_name"),
            Agent.timezone.label("agent_timezone"),
            Citizen.first_name.label("first_name"),
            Citizen.last_name.label("last_name"),
            Citizen.email.label("email"),
            Citizen.phone.label("phone"),
            Citizen.birth_date.label("birth_date"),
            Citizen.locale.label("citizen_locale"),
            Citizen.erased_at.label("erased_at"),
        )
        .join(Site, Site.id == Appointment.site_id)
        .join(Partner, Partner.id == Appointment.partner_id)
        .join(Motive, Motive.id == Appointment.motive_id)
        .join(Agent, Agent.id == Appointment.agent_id)
        .outerjoin(Citizen, Citizen.id == Appointment.citizen_id)
        .order_by(Appointment.start_at, Appointment.id)
    )
    # The entity comes first, under its class's name; every other column by its label.
    return shaped(query, ("Appointment", *ViewRow._fields[1:]))


def views() -> Select[*ViewRow]:
    """Appointments with the names their pages show and their citizen, by start; add
    `.where(...)` for the ones wanted. Rows are read as `ViewRow._make(row)`."""
    return _views()


async def week_loads(
    connection: AsyncConnection, agent_ids: list[int], week_start: datetime, week_end: datetime
) -> dict[int, int]:
    """How many appointments, cancelled ones aside, each of these agents holds starting in
    [week_start, week_end): the fair choice of an agent at booking takes the least loaded."""
    rows = await connection.execute(
        _week_loads(),
        {"agent_ids": agent_ids, "week_start": week_start, "week_end": week_end},
    )
    return {agent_id: count for agent_id, count in rows}


@functools.cache
def _week_loads() -> Select[int, int]:
    instant = table(Appointment).c.start_at.type
    return (
        select(Appointment.agent_id, func.count())
        .where(
            Appointment.agent_id.in_(bindparam("agent_ids", expanding=True)),
            Appointment.status != AppointmentStatus.CANCELLED,
            Appointment.start_at >= bindparam("week_start", type_=instant),
            Appointment.start_at < bindparam("week_end", type_=instant),
        )
        .group_by(Appointment.agent_id)
    )
