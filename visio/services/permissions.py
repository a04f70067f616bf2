"""Who may see or do what: every rule of visio's roles and scopes, written once.

A desk agent works for the citizens of their own houses, a partner agent on their own
appointments, a coordinator reads the counts of their houses, an administrator sets
everything up and reaches everything. Services ask here before they act; handlers ask
here which roles an endpoint admits (`roles`), so the answer of the route and of the
service cannot differ. Anything outside a person's scope is `NotFound`, never a hint that
it exists; a person whose role never does a thing gets `NotAllowed`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from visio.domain import OUTCOMES, AppointmentScope, AppointmentStatus, Role
from visio.services.errors import NotAllowed, NotFound


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in person a service acts for: what they are and what they may reach."""

    user_id: int
    email: str
    name: str
    role: Role
    locale: str
    site_ids: frozenset[int] = frozenset()
    agent_id: int | None = None
    # The names of their houses, for the pages' header (signed in on a page); shown, not a
    # right: two actors with the same rights are the same actor whether it is known or not.
    houses: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see_site(self, site_id: int) -> bool:
        """Admins see every site; desk agents and coordinators only their own."""
        return self.is_admin or site_id in self.site_ids


class Action(enum.StrEnum):
    """What a person can ask visio to do."""

    SEARCH_SLOTS = "search_slots"
    BOOK = "book"
    READ_APPOINTMENTS = "read_appointments"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"
    RECORD_OUTCOME = "record_outcome"
    MARK_ARRIVED = "mark_arrived"
    JOIN_AS_STATION = "join_as_station"
    JOIN_AS_AGENT = "join_as_agent"
    PRINT_CONFIRMATION = "print_confirmation"
    SEE_DESK_DAY = "see_desk_day"
    SEE_OWN_AGENDA = "see_own_agenda"
    SEARCH_CITIZENS = "search_citizens"
    READ_SET_UP = "read_set_up"
    SET_UP = "set_up"
    MANAGE_USERS = "manage_users"
    READ_OUTBOX = "read_outbox"
    RESEND_MESSAGE = "resend_message"
    READ_AUDIT = "read_audit"
    OWN_CALENDAR_FEED = "own_calendar_feed"
    OWN_ABSENCES = "own_absences"
    READ_STATISTICS = "read_statistics"
    RECORD_DESK_REQUEST = "record_desk_request"


@dataclass(frozen=True, slots=True)
class Rule:
    """The roles that may do an action; `hidden`: others are told it does not exist
    (the thing concerns one appointment they cannot see) rather than refused."""

    roles: frozenset[Role]
    hidden: bool = False


def _rule(*roles: Role, hidden: bool = False) -> Rule:
    return Rule(frozenset(roles), hidden)


DESK, AGENT, COORDINATOR, ADMIN = Role.DESK, Role.AGENT, Role.COORDINATOR, Role.ADMIN

# The matrix: role × action. Scopes (which houses, which appointments) come on top of it,
# in the functions below.
RULES: Mapping[Action, Rule] = {
    Action.SEARCH_SLOTS: _rule(DESK, ADMIN),
    Action.BOOK: _rule(DESK, ADMIN),
    Action.READ_APPOINTMENTS: _rule(DESK, AGENT, ADMIN),
    Action.CANCEL: _rule(DESK, AGENT, ADMIN),
    Action.RESCHEDULE: _rule(DESK, ADMIN),
    Action.RECORD_OUTCOME: _rule(DESK, AGENT, ADMIN),
    Action.MARK_ARRIVED: _rule(DESK, ADMIN),
    # The station joins as a guest named after the house: its desk only.
    Action.JOIN_AS_STATION: _rule(DESK, ADMIN, hidden=True),
    # The partner agent joins as moderator: the appointment's own agent only (see
    # `may_join_as_agent`).
    Action.JOIN_AS_AGENT: _rule(AGENT, ADMIN, hidden=True),
    Action.PRINT_CONFIRMATION: _rule(DESK, ADMIN, hidden=True),
    Action.SEE_DESK_DAY: _rule(DESK, ADMIN),
    Action.SEE_OWN_AGENDA: _rule(AGENT),
    Action.SEARCH_CITIZENS: _rule(DESK, ADMIN),
    Action.READ_SET_UP: _rule(DESK, AGENT, COORDINATOR, ADMIN),
    Action.SET_UP: _rule(ADMIN),
    Action.MANAGE_USERS: _rule(ADMIN),
    Action.READ_OUTBOX: _rule(ADMIN),
    # A message refused or given up on goes back to the queue: an administrator's call.
    Action.RESEND_MESSAGE: _rule(ADMIN),
    # Who changed what: the log names people and what they did, for administrators.
    Action.READ_AUDIT: _rule(ADMIN),
    Action.OWN_CALENDAR_FEED: _rule(AGENT),
    # A partner agent enters their own leave; an administrator anyone's (set-up).
    Action.OWN_ABSENCES: _rule(AGENT),
    # The counts of their houses: the desk and the coordinators; every house: admins.
    Action.READ_STATISTICS: _rule(DESK, COORDINATOR, ADMIN),
    # The tally of requests at a desk: its desk agents (an admin for any house).
    Action.RECORD_DESK_REQUEST: _rule(DESK, ADMIN),
}


def roles(action: Action) -> frozenset[Role]:
    """The roles that may do `action` (what an endpoint admits before anything else)."""
    return RULES[action].roles


def may(actor: Actor, action: Action) -> bool:
    """Whether the actor's role may do `action` at all."""
    return actor.role in RULES[action].roles


def require(actor: Actor, action: Action) -> None:
    """`NotAllowed` (or `NotFound`, for hidden actions) unless the actor's role may."""
    if not may(actor, action):
        raise NotFound() if RULES[action].hidden else NotAllowed()


def require_site(actor: Actor, action: Action, site_id: int) -> None:
    """The action at one house: the role may, and the house is the actor's (admins: any).
    A house of someone else is `NotFound`."""
    require(actor, action)
    if not actor.may_see_site(site_id):
        raise NotFound()


# Accounts scoped to houses, and accounts that are a partner agent's.
SCOPED_TO_SITES = frozenset({DESK, COORDINATOR})
LINKED_TO_AGENT = frozenset({AGENT})


@dataclass(frozen=True, slots=True)
class SiteScope:
    """The houses a person sees: every one, some, or those an agent's permanences serve
    (known from the data: `visio.services.setup.sites`)."""

    every: bool = False
    site_ids: frozenset[int] = frozenset()
    served_by_agent: int | None = None


def site_scope(actor: Actor) -> SiteScope:
    """Admins see every house; desk agents and coordinators their own; partner agents the
    houses they serve."""
    if actor.is_admin:
        return SiteScope(every=True)
    if actor.role is Role.AGENT:
        return SiteScope(served_by_agent=actor.agent_id if actor.agent_id is not None else 0)
    return SiteScope(site_ids=actor.site_ids)


def appointment_scope(actor: Actor) -> AppointmentScope:
    """Desk agents see their houses' appointments, partner agents their own, admins all;
    nobody else sees any (`NotAllowed`)."""
    require(actor, Action.READ_APPOINTMENTS)
    if actor.is_admin:
        return AppointmentScope(every=True)
    if actor.role is Role.AGENT:
        # An agent account without its agent sees nothing, rather than everything.
        return AppointmentScope(agent_id=actor.agent_id if actor.agent_id is not None else 0)
    return AppointmentScope(site_ids=actor.site_ids)


def require_on_appointment(actor: Actor, action: Action, *, site_id: int, agent_id: int) -> None:
    """An action on one appointment the actor already sees (its house's desk, its agent,
    admins): `NotAllowed` when their role never does it, `NotFound` for a hidden one."""
    require(actor, action)
    if action is Action.JOIN_AS_AGENT and not (actor.is_admin or actor.agent_id == agent_id):
        # Another agent of the same partner never gets this appointment's moderator token.
        raise NotFound()
    if action is Action.JOIN_AS_STATION and not actor.may_see_site(site_id):
        raise NotFound()


# What each role records of how an appointment went: the partner agent says whether it was
# held or the citizen missed it; that the agent never came is for the desk (or an admin).
OUTCOMES_BY_ROLE: Mapping[Role, frozenset[AppointmentStatus]] = {
    DESK: OUTCOMES,
    ADMIN: OUTCOMES,
    AGENT: OUTCOMES - {AppointmentStatus.AGENT_ABSENT},
}


def outcomes_for(actor: Actor) -> frozenset[AppointmentStatus]:
    """The outcomes the actor may record (none for a role that records none)."""
    return OUTCOMES_BY_ROLE.get(actor.role, frozenset())


def citizen_sites(actor: Actor) -> frozenset[int] | None:
    """The houses whose citizens the actor may look up (None: every house, for admins).

    Citizen data stays where it is needed: a house neither reads nor changes the records
    of people only another house has seen."""
    require(actor, Action.SEARCH_CITIZENS)
    return None if actor.is_admin else actor.site_ids


def require_self_or_admin(actor: Actor, user_id: int) -> None:
    """An account's own details and tokens: the person themselves, or an admin.
    Anyone else: `NotFound`, no hint that the account exists."""
    if not actor.is_admin and actor.user_id != user_id:
        raise NotFound()


def require_agent_self(actor: Actor, action: Action) -> int:
    """Something a partner agent does for themselves only: their agent's id."""
    require(actor, action)
    if actor.agent_id is None:
        raise NotAllowed()
    return actor.agent_id
