"""Who may do what: `visio.services.permissions`, checked against the matrix written out
here once more, by hand, from DESIGN.md's table of roles.

Promised: every action has its rule; a role that never does a thing is refused
(`NotAllowed`), except where the thing concerns one appointment they cannot see, where
they are told it does not exist (`NotFound`); scopes come on top: a desk's and a
coordinator's houses, an agent's own appointments, everything for an admin.
"""

from __future__ import annotations

import pytest

from visio.domain import AppointmentScope, Role
from visio.services.errors import NotAllowed, NotFound
from visio.services.permissions import (
    RULES,
    Action,
    Actor,
    appointment_scope,
    citizen_sites,
    may,
    require,
    require_agent_self,
    require_on_appointment,
    require_self_or_admin,
    require_site,
    roles,
)

MURAT, MASSIAC = 1, 2
ISABELLE, THOMAS = 10, 11

OK = None
NO = NotAllowed  # the role never does it
HIDDEN = NotFound  # it concerns an appointment they cannot see: it does not exist for them

# action                           desk    agent   coordinator  admin
MATRIX: dict[Action, tuple[type[Exception] | None, ...]] = {
    Action.SEARCH_SLOTS:         (OK,     NO,     NO,          OK),
    Action.BOOK:                 (OK,     NO,     NO,          OK),
    Action.READ_APPOINTMENTS:    (OK,     OK,     NO,          OK),
    Action.CANCEL:               (OK,     OK,     NO,          OK),
    Action.RESCHEDULE:           (OK,     NO,     NO,          OK),
    Action.RECORD_OUTCOME:       (OK,     OK,     NO,          OK),
    Action.MARK_ARRIVED:         (OK,     NO,     NO,          OK),
    Action.JOIN_AS_STATION:      (OK,     HIDDEN, HIDDEN,      OK),
    Action.JOIN_AS_AGENT:        (HIDDEN, OK,     HIDDEN,      OK),
    Action.PRINT_CONFIRMATION:   (OK,     HIDDEN, HIDDEN,      OK),
    Action.SEE_DESK_DAY:         (OK,     NO,     NO,          OK),
    Action.SEE_OWN_AGENDA:       (NO,     OK,     NO,          NO),
    Action.SEARCH_CITIZENS:      (OK,     NO,     NO,          OK),
    Action.READ_SET_UP:          (OK,     OK,     OK,          OK),
    Action.SET_UP:               (NO,     NO,     NO,          OK),
    Action.MANAGE_USERS:         (NO,     NO,     NO,          OK),
    Action.READ_OUTBOX:          (NO,     NO,     NO,          OK),
    Action.RESEND_MESSAGE:       (NO,     NO,     NO,          OK),
    Action.READ_AUDIT:           (NO,     NO,     NO,          OK),
    Action.OWN_CALENDAR_FEED:    (NO,     OK,     NO,          NO),
    Action.OWN_ABSENCES:         (NO,     OK,     NO,          NO),
    Action.READ_STATISTICS:      (OK,     NO,     OK,          OK),
    Action.RECORD_DESK_REQUEST:  (OK,     NO,     NO,          OK),
}  # fmt: skip
ROLES = (Role.DESK, Role.AGENT, Role.COORDINATOR, Role.ADMIN)


def person(role: Role, *, sites: frozenset[int] = frozenset(), agent: int | None = None) -> Actor:
    return Actor(
        user_id=100, email=f"{role.value}@visio.example", name=role.value, role=role,
        locale="fr", site_ids=sites, agent_id=agent,
    )  # fmt: skip


DESK = person(Role.DESK, sites=frozenset({MURAT}))
AGENT = person(Role.AGENT, agent=ISABELLE)
COORDINATOR = person(Role.COORDINATOR, sites=frozenset({MURAT}))
ADMIN = person(Role.ADMIN)
BY_ROLE = {Role.DESK: DESK, Role.AGENT: AGENT, Role.COORDINATOR: COORDINATOR, Role.ADMIN: ADMIN}


def test_every_action_has_its_rule() -> None:
    assert set(RULES) == set(Action) == set(MATRIX)


@pytest.mark.parametrize(
    ("action", "role", "refusal"),
    [
        (action, role, refusal)
        for action, refusals in MATRIX.items()
        for role, refusal in zip(ROLES, refusals, strict=True)
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value or "ok"),
)
def test_require_follows_the_matrix(
    action: Action, role: Role, refusal: type[Exception] | None
) -> None:
    actor = BY_ROLE[role]
    assert may(actor, action) is (refusal is None)
    assert (role in roles(action)) is (refusal is None)
    if refusal is None:
        require(actor, action)
    else:
        with pytest.raises(refusal) as refused:
            require(actor, action)
        assert type(refused.value) is refusal


def test_a_desk_acts_at_its_own_houses_only() -> None:
    require_site(DESK, Action.BOOK, MURAT)
    with pytest.raises(NotFound):
        require_site(DESK, Action.BOOK, MASSIAC)
    # Its role comes first: a coordinator's own house does not make them book.
    with pytest.raises(NotAllowed):
        require_site(COORDINATOR, Action.BOOK, MURAT)
    require_site(ADMIN, Action.BOOK, MASSIAC)


def test_appointment_scopes() -> None:
    assert appointment_scope(DESK) == AppointmentScope(site_ids=frozenset({MURAT}))
    assert appointment_scope(AGENT) == AppointmentScope(agent_id=ISABELLE)
    assert appointment_scope(ADMIN) == AppointmentScope(every=True)
    # An agent account without its agent sees nothing rather than everything.
    assert appointment_scope(person(Role.AGENT)) == AppointmentScope(agent_id=0)
    with pytest.raises(NotAllowed):
        appointment_scope(COORDINATOR)


@pytest.mark.parametrize(
    ("actor", "action", "site_id", "agent_id", "refusal"),
    [
        (AGENT, Action.JOIN_AS_AGENT, MURAT, ISABELLE, OK),
        (AGENT, Action.JOIN_AS_AGENT, MURAT, THOMAS, HIDDEN),  # a colleague's appointment
        (ADMIN, Action.JOIN_AS_AGENT, MURAT, THOMAS, OK),
        (DESK, Action.JOIN_AS_AGENT, MURAT, ISABELLE, HIDDEN),
        (DESK, Action.JOIN_AS_STATION, MURAT, ISABELLE, OK),
        (DESK, Action.JOIN_AS_STATION, MASSIAC, ISABELLE, HIDDEN),
        (AGENT, Action.JOIN_AS_STATION, MURAT, ISABELLE, HIDDEN),
        (ADMIN, Action.JOIN_AS_STATION, MASSIAC, ISABELLE, OK),
        (AGENT, Action.CANCEL, MURAT, ISABELLE, OK),
        (AGENT, Action.MARK_ARRIVED, MURAT, ISABELLE, NO),
        (COORDINATOR, Action.CANCEL, MURAT, ISABELLE, NO),
    ],
)
def test_actions_on_one_appointment(
    actor: Actor, action: Action, site_id: int, agent_id: int, refusal: type[Exception] | None
) -> None:
    if refusal is None:
        require_on_appointment(actor, action, site_id=site_id, agent_id=agent_id)
    else:
        with pytest.raises(refusal):
            require_on_appointment(actor, action, site_id=site_id, agent_id=agent_id)


def test_citizens_are_looked_up_at_ones_own_houses() -> None:
    assert citizen_sites(DESK) == frozenset({MURAT})
    assert citizen_sites(ADMIN) is None
    for actor in (AGENT, COORDINATOR):
        with pytest.raises(NotAllowed):
            citizen_sites(actor)


def test_an_account_is_its_owner_or_an_admin() -> None:
    require_self_or_admin(DESK, DESK.user_id)
    require_self_or_admin(ADMIN, 12345)
    with pytest.raises(NotFound):
        require_self_or_admin(DESK, 12345)


def test_what_an_agent_does_for_themselves() -> None:
    assert require_agent_self(AGENT, Action.SEE_OWN_AGENDA) == ISABELLE
    with pytest.raises(NotAllowed):
        require_agent_self(person(Role.AGENT), Action.SEE_OWN_AGENDA)
    with pytest.raises(NotAllowed):
        require_agent_self(ADMIN, Action.OWN_CALENDAR_FEED)
