"""The three statements of a slot search, and the booking's locking variant of the first.

Whatever the number of agents, days or bookings, one search runs the same three
statements: the site with its hours and the motive; the permanences with their sites and
motives; the stations with every interval that blocks time. They are built once with
bound parameters (building a select costs more than running it on a warm database) and
select plain rows (Core), not ORM objects: this is the hot read path.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, time
from typing import NamedTuple

from sqlalchemy import (
    ColumnExpressionArgument,
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    literal,
    null,
    or_,
    union_all,
)
from sqlalchemy import select as select_

from visio.db.base import UTCDateTime
from visio.db.models import (
    Absence,
    Agent,
    Appointment,
    AvailabilityRule,
    Closure,
    Motive,
    OpeningHour,
    Partner,
    Site,
    Station,
)
from visio.db.models.agents import rule_motives, rule_sites
from visio.db.statements import shaped
from visio.domain import AppointmentStatus

# The kinds of row of `blocking()`.
CLOSURE, ABSENCE, BUSY, STATION = "c", "a", "b", "s"


class HeadRow(NamedTuple):
    """The site with one of its opening-hours rows, and the motive with its partner."""

    site_name: str
    timezone: str
    holiday_calendar: str | None
    site_address: str
    site_email: str | None
    partner_id: int
    duration_minutes: int
    slot_step_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    partner_name: str
    motive_name: str
    documents: list[str]
    instructions: str
    reminder_offsets: list[int]
    weekday: int | None
    opens: time | None
    closes: time | None


class RuleRow(NamedTuple):
    """One permanence, once per site and motive it is limited to (None: every one)."""

    rule_id: int
    agent_id: int
    timezone: str
    weekdays: list[int]
    start: time
    end: time
    every_weeks: int
    anchor_date: date | None
    valid_from: date | None
    valid_until: date | None
    site_id: int | None
    motive_id: int | None
    agent_name: str
    agent_email: str
    agent_locale: str


# Thousands of these per search: unpacked as they come (kind, agent_id, station_id,
# start_at, end_at), never converted.
BlockingRow = tuple[str, int | None, int | None, datetime | None, datetime | None]

_site_id = bindparam("site_id", type_=Integer)
_partner_id = bindparam("partner_id", type_=Integer)
_agent_id = bindparam("agent_id", type_=Integer)
_range_start = bindparam("range_start", type_=UTCDateTime())
_range_end = bindparam("range_end", type_=UTCDateTime())


def _agent_filter() -> tuple[ColumnExpressionArgument[bool], ...]:
    """The partner's active agents, or the one asked for (`agent_id`; None: every one)."""
    return (
        Agent.partner_id == _partner_id,
        Agent.active,
        or_(_agent_id.is_(None), Agent.id == _agent_id),
    )


@functools.cache
def head() -> Select[*HeadRow]:
    """The site, once per opening-hours row, each with the (active) motive and its partner;
    nothing for a house closed for good or a partner gone.

    Parameters: `site_id`, `motive_id`. Columns are read by their labels.
    """
    return shaped(
        select_(
            Site.name.label("site_name"),
            Site.timezone.label("timezone"),
            Site.holiday_calendar.label("holiday_calendar"),
            Site.address.label("site_address"),
            Site.email.label("site_email"),
            Motive.partner_id.label("partner_id"),
            Motive.duration_minutes.label("duration_minutes"),
            Motive.slot_step_minutes.label("slot_step_minutes"),
            Motive.buffer_before_minutes.label("buffer_before_minutes"),
            Motive.buffer_after_minutes.label("buffer_after_minutes"),
            Motive.min_notice_minutes.label("min_notice_minutes"),
            Motive.horizon_days.label("horizon_days"),
            Partner.name.label("partner_name"),
            Motive.name.label("motive_name"),
            Motive.documents.label("documents"),
            Motive.instructions.label("instructions"),
            Motive.reminder_offsets.label("reminder_offsets"),
            OpeningHour.weekday.label("weekday"),
            OpeningHour.start.label("opens"),
            OpeningHour.end.label("closes"),
        )
        .select_from(Site)
        .join(Motive, (Motive.id == bindparam("motive_id", type_=Integer)) & Motive.active)
        .join(Partner, (Partner.id == Motive.partner_id) & Partner.active)
        .outerjoin(OpeningHour, OpeningHour.site_id == Site.id)
        .where(Site.id == _site_id, Site.active),
        HeadRow._fields,
    )


@functools.cache
def head_locking() -> Select[*HeadRow]:
    """PostgreSQL: `head()` also taking the row locks of an agent (`lock_agent_id`) and a
    station (`lock_station_id`), the agent's first: PostgreSQL locks the rows of a joined
    tuple in the order their tables come in FROM. No row: no such agent or station, or no
    such site or motive (`head()` tells which)."""
    return (
        head()
        .join(Agent, Agent.id == bindparam("lock_agent_id", type_=Integer))
        .join(Station, Station.id == bindparam("lock_station_id", type_=Integer))
        .with_for_update(of=[Agent, Station])
    )


@functools.cache
def rules() -> Select[*RuleRow]:
    """The permanences of the partner's active agents (or of the one asked for), one row
    per (rule, site it is limited to, motive it is limited to); none: every one.

    Parameters: `partner_id`, `agent_id`, `first_day`, `last_day`.
    """
    return shaped(
        select_(
            AvailabilityRule.id.label("rule_id"),
            AvailabilityRule.agent_id.label("agent_id"),
            Agent.timezone.label("timezone"),
            AvailabilityRule.weekdays.label("weekdays"),
            AvailabilityRule.start.label("start"),
            AvailabilityRule.end.label("end"),
            AvailabilityRule.every_weeks.label("every_weeks"),
            AvailabilityRule.anchor_date.label("anchor_date"),
            AvailabilityRule.valid_from.label("valid_from"),
            AvailabilityRule.valid_until.label("valid_until"),
            rule_sites.c.site_id.label("site_id"),
            rule_motives.c.motive_id.label("motive_id"),
            Agent.name.label("agent_name"),
            Agent.email.label("agent_email"),
            Agent.locale.label("agent_locale"),
        )
        .join(Agent, Agent.id == AvailabilityRule.agent_id)
        .outerjoin(rule_sites, rule_sites.c.rule_id == AvailabilityRule.id)
        .outerjoin(rule_motives, rule_motives.c.rule_id == AvailabilityRule.id)
        .where(
            *_agent_filter(),
            or_(
                AvailabilityRule.valid_until.is_(None),
                AvailabilityRule.valid_until >= bindparam("first_day"),
            ),
            or_(
                AvailabilityRule.valid_from.is_(None),
                AvailabilityRule.valid_from <= bindparam("last_day"),
            ),
        ),
        RuleRow._fields,
    )


@functools.cache
def blocking() -> CompoundSelect[*BlockingRow]:
    """Everything that blocks time in the range, in one statement (rows `BlockingRow`:
    kind, agent_id, station_id, start_at, end_at): closures of the site (or of one of its
    stations), absences of the agents, the busy time of appointments; and, last, the
    site's active stations themselves (kind `STATION`, no times).

    Parameters: `site_id`, `partner_id`, `agent_id`, `range_start`, `range_end`.
    """
    agent_ids = select_(Agent.id).where(*_agent_filter()).scalar_subquery()
    no_id = null().cast(Integer)
    no_time = null().cast(UTCDateTime())
    # "Not cancelled" rather than "status IN (the active ones)": the same rows (see
    # ACTIVE_STATUSES), but a filter planners do not mistake for the best index to use.
    occupies = Appointment.status != AppointmentStatus.CANCELLED
    busy_columns = (
        literal(BUSY),
        Appointment.agent_id,
        Appointment.station_id,
        Appointment.busy_from,
        Appointment.busy_until,
    )
    in_range = (Appointment.busy_until > _range_start, Appointment.busy_from < _range_end)
    return union_all(
        select_(
            literal(CLOSURE).label("kind"),
            no_id.label("agent_id"),
            Closure.station_id.label("station_id"),
            Closure.start_at.label("start_at"),
            Closure.end_at.label("end_at"),
        ).where(
            Closure.site_id == _site_id,
            Closure.end_at > _range_start,
            Closure.start_at < _range_end,
        ),
        select_(literal(ABSENCE), Absence.agent_id, no_id, Absence.start_at, Absence.end_at).where(
            Absence.agent_id.in_(agent_ids),
            Absence.end_at > _range_start,
            Absence.start_at < _range_end,
        ),
        # Busy time of these agents anywhere, then of this site's stations with anyone else;
        # each branch searches its own (…, busy_until) index.
        select_(*busy_columns).where(Appointment.agent_id.in_(agent_ids), *in_range, occupies),
        select_(*busy_columns).where(
            Appointment.site_id == _site_id,
            Appointment.agent_id.not_in(agent_ids),
            *in_range,
            occupies,
        ),
        select_(literal(STATION), no_id, Station.id, no_time, no_time).where(
            Station.site_id == _site_id, Station.active
        ),
    )
