"""Every route × every role × a house's objects inside and outside the caller's scope.

The expected statuses are written here once, as data (`ROUTES`), never asked of
`visio.services.permissions`: the test is the second, independent writing of who may do
what. A route of the table without its entry fails the test, and so does an entry for a
route that is gone.

One world is built for the whole module: two houses, A (Murat) and B (Massiac), each with
a station, a closure, a desk account, an appointment, a desk request; agents X (serving A)
and Y (serving B) with their permanence, absence and calendar link; a coordinator of A; an
administrator. Every case runs in a savepoint rolled back afterwards, so a write that is
allowed really happens (201, 204, 303…) and leaves nothing for the next case.

Roles: `anonymous`, `desk_a`, `desk_b`, `agent_x`, `agent_y`, `coordinator_a`, `admin`.
Scopes: `A` (the objects of house A, or agent X's), `B` (house B's, agent Y's), `-` for a
route that names no house's object. The API is called with each role's bearer token, the
pages with the session cookie of a sign-in through the login form, and their forms carry
the form token, so the permission check is what answers. Whatever the status, no
response shows a desk or an agent a citizen of the other house, nor a coordinator or
nobody signed in any citizen (`NOT_THEIRS`). How many cases: `count_cases()`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from tests.conftest import SECRET, Clock
from visio.app import create_app
from visio.db.engine import make_engine
from visio.db.models import OutboxMessage, Role
from visio.services import accounts, password_resets
from visio.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Monday 16 March 2026, 08:00 in Paris; the appointments are today at 10:00, so that the
# desk's day, the agenda and the station's screen show them.
NOW = datetime(2026, 3, 16, 7, 0, tzinfo=UTC)
MONDAY_10 = "2026-03-16T10:00:00+01:00"
MONDAY_11 = "2026-03-16T11:00:00+01:00"
PASSWORD = "correct horse battery staple"

ROLES = ("anonymous", "desk_a", "desk_b", "agent_x", "agent_y", "coordinator_a", "admin")
# What each signed-in role is, and the house whose objects are its own.
GROUP = {
    "desk_a": "desk",
    "desk_b": "desk",
    "agent_x": "agent",
    "agent_y": "agent",
    "coordinator_a": "coordinator",
    "admin": "admin",
}
HOME = {"desk_a": "A", "desk_b": "B", "agent_x": "A", "agent_y": "B", "coordinator_a": "A"}
# The citizens booked at A (with agent X) and at B (with agent Y): whose names each role
# must never be shown, on any route, whatever the status (a coordinator reads counts only).
CITIZEN_A, CITIZEN_B = "Chassang", "Pouderoux"
NOT_THEIRS = {
    "anonymous": (CITIZEN_A, CITIZEN_B),
    "desk_a": (CITIZEN_B,),
    "desk_b": (CITIZEN_A,),
    "agent_x": (CITIZEN_B,),
    "agent_y": (CITIZEN_A,),
    "coordinator_a": (CITIZEN_A, CITIZEN_B),
    "admin": (),
}


# ---------------------------------------------------------------- the data's vocabulary


@dataclass(frozen=True)
class Access:
    """Who gets what on one route.

    `ok`: the status of a caller allowed (what a success answers; for a write whose sample
    body the service refuses for its content, that refusal, e.g. 409: the caller got past
    every permission check). `roles`: the groups allowed (desk, agent, coordinator, admin);
    the others get `refused`. An allowed non-admin reaches the objects of their own house
    only; the other house's objects are `outside` (404: never a hint that they exist).
    `anonymous`: None for the usual answer (pages: 303 to the sign-in page, API: 401).
    `overrides`: (role, scope) → status, scope "*" for both houses.
    """

    ok: int
    roles: frozenset[str]
    refused: int = 403
    outside: int = 404
    anonymous: int | None = None
    overrides: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def but(self, **overrides: int) -> Access:
        """The same, some (role, scope) answering otherwise: `desk_a__B=409`, `agent_x=200`
        (both houses)."""
        more = dict(self.overrides)
        for key, status in overrides.items():
            role, _sep, scope = key.partition("__")
            more[(role, scope or "*")] = status
        return Access(self.ok, self.roles, self.refused, self.outside, self.anonymous, more)


EVERY_GROUP = frozenset({"desk", "agent", "coordinator", "admin"})


def allowed(ok: int, *groups: str) -> Access:
    return Access(ok, frozenset(groups))


def admins(ok: int) -> Access:
    return allowed(ok, "admin")


def signed_in(ok: int) -> Access:
    return Access(ok, EVERY_GROUP)


def anyone(ok: int) -> Access:
    """No sign-in needed: everyone, anonymous included, gets `ok`, whatever the house."""
    return Access(ok, EVERY_GROUP, outside=ok, anonymous=ok)


@dataclass(frozen=True)
class Call:
    """How a route is called for one house's objects. Path parameters, query values and
    body values may name the world's objects as "{site}", "{appointment}"…: each is the
    object of the house of the case (a house's object makes the route run for A and B)."""

    params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    path: str | None = None  # the path to call, if not the route's own (static files)


@dataclass(frozen=True)
class Case:
    access: Access
    call: Call = Call()


def case(
    access: Access,
    params: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    body: Any = None,
) -> list[Case]:
    return [Case(access, Call(params or {}, query or {}, body))]


# Objects each house has, by name (the others are shared by both houses).
HOUSE_OBJECTS = frozenset(
    {
        "site",
        "station",
        "closure",
        "agent",
        "rule",
        "absence",
        "appointment",
        "user",
        "token",
        "desk_request",
        "feed",
        "other_site",
        "other_station",
        "other_agent",
    }
)

# ---------------------------------------------------------------- the expected statuses

SITE_BODY = {
    "name": "France Services Allanche",
    "commune": "Allanche",
    "timezone": "Europe/Paris",
    "opening_hours": [{"weekday": 2, "start": "09:00", "end": "12:00"}],
}
AUGUST = {"start": "2026-08-10T00:00:00+02:00", "end": "2026-08-15T00:00:00+02:00"}
CITIZEN = {"first_name": "Lucette", "last_name": "Boudou", "email": "lucette@courriel.example"}
READ_APPOINTMENT = allowed(200, "desk", "agent", "admin")
BOOKING = {"site_id": "{site}", "motive_id": "{motive}", "start": MONDAY_11, "citizen": CITIZEN}
BOOKING_FORM = {
    "site_id": "{site}",
    "motive_id": "{motive}",
    "slot": MONDAY_11 + "||",
    "first_name": "Lucette",
    "last_name": "Boudou",
}
SET_UP = admins
STATS = allowed(200, "desk", "coordinator", "admin")

ROUTES: dict[str, list[Case]] = {
    # -------- signing in and out, languages, static files, monitoring
    "GET /": case(signed_in(200)),
    "GET /login": case(anyone(200)),
    "POST /login": case(anyone(303), body={"email": "admin@visio.example", "password": PASSWORD}),
    "POST /logout": case(anyone(303)),
    "GET /password/reset/{token}": case(anyone(200), {"token": "{reset}"}),
    "POST /password/reset/{token}": case(
        anyone(303), {"token": "{reset}"}, body={"password": PASSWORD, "password_again": PASSWORD}
    ),
    "GET /password/changed": case(anyone(200)),
    "POST /language": case(anyone(303), body={"locale": "en"}),
    "GET /privacy": case(anyone(200)),
    "GET /static": [Case(anyone(200), Call(path="/static/visio.css"))],
    "HEAD /static": [Case(anyone(200), Call(path="/static/visio.css"))],
    "GET /healthz": case(anyone(200)),
    "GET /readyz": case(anyone(200)),
    # Prometheus's, from this machine (the test client's loopback) with no account's token:
    # an account's API token is no metrics token (403).
    "GET /metrics": case(Access(200, frozenset(), outside=403, anonymous=200)),
    "GET /api/v1/openapi.json": case(anyone(200)),
    # -------- accounts: the person themselves or an administrator
    "GET /api/v1/me": case(signed_in(200)),
    "GET /api/v1/users": case(admins(200)),
    "POST /api/v1/users": case(
        admins(201), body={"email": "new@visio.example", "name": "Nouveau", "role": "admin"}
    ),
    "GET /api/v1/users/{id}": case(
        signed_in(200).but(agent_x=404, agent_y=404, coordinator_a=404), {"id": "{user}"}
    ),
    "PATCH /api/v1/users/{id}": case(admins(200), {"id": "{user}"}, body={"name": "Renommée"}),
    "GET /api/v1/users/{id}/tokens": case(
        signed_in(200).but(agent_x=404, agent_y=404, coordinator_a=404), {"id": "{user}"}
    ),
    "POST /api/v1/users/{id}/tokens": case(
        signed_in(201).but(agent_x=404, agent_y=404, coordinator_a=404),
        {"id": "{user}"},
        body={"label": "script"},
    ),
    "DELETE /api/v1/users/{id}/tokens/{token_id}": case(
        signed_in(204).but(agent_x=404, agent_y=404, coordinator_a=404),
        {"id": "{user}", "token_id": "{token}"},
    ),
    # -------- set-up: administrators change, the others read within their scope
    "GET /api/v1/sites": case(signed_in(200)),
    "POST /api/v1/sites": case(SET_UP(201), body=SITE_BODY),
    "GET /api/v1/sites/{id}": case(signed_in(200), {"id": "{site}"}),
    "PATCH /api/v1/sites/{id}": case(
        SET_UP(200), {"id": "{site}"}, body={"phone": "04 71 20 00 00"}
    ),
    "DELETE /api/v1/sites/{id}": case(SET_UP(409), {"id": "{site}"}),
    "POST /api/v1/sites/{id}/stations": case(
        SET_UP(201), {"id": "{site}"}, body={"name": "Cabine 2"}
    ),
    "PATCH /api/v1/sites/{id}/stations/{station_id}": case(
        SET_UP(200), {"id": "{site}", "station_id": "{station}"}, body={"name": "Cabine A"}
    ),
    "DELETE /api/v1/sites/{id}/stations/{station_id}": case(
        SET_UP(409), {"id": "{site}", "station_id": "{station}"}
    ),
    "GET /api/v1/sites/{id}/closures": case(signed_in(200), {"id": "{site}"}),
    "POST /api/v1/sites/{id}/closures": case(
        SET_UP(201),
        {"id": "{site}"},
        body={"start": "2026-09-01T00:00:00+02:00", "end": "2026-09-02T00:00:00+02:00"},
    ),
    "DELETE /api/v1/sites/{id}/closures/{closure_id}": case(
        SET_UP(204), {"id": "{site}", "closure_id": "{closure}"}
    ),
    "GET /api/v1/partners": case(signed_in(200)),
    "POST /api/v1/partners": case(SET_UP(201), body={"code": "MSA", "name": "MSA Auvergne"}),
    "GET /api/v1/partners/{id}": case(signed_in(200), {"id": "{partner}"}),
    "PATCH /api/v1/partners/{id}": case(
        SET_UP(200), {"id": "{partner}"}, body={"name": "CAF du Cantal"}
    ),
    "DELETE /api/v1/partners/{id}": case(SET_UP(409), {"id": "{partner}"}),
    "POST /api/v1/partners/{id}/motives": case(
        SET_UP(201), {"id": "{partner}"}, body={"name": "RSA", "duration_minutes": 30}
    ),
    "GET /api/v1/motives/{id}": case(signed_in(200), {"id": "{motive}"}),
    "PATCH /api/v1/motives/{id}": case(
        SET_UP(200), {"id": "{motive}"}, body={"duration_minutes": 45}
    ),
    "DELETE /api/v1/motives/{id}": case(SET_UP(409), {"id": "{motive}"}),
    "GET /api/v1/agents": [
        *case(signed_in(200)),
        *case(Access(200, EVERY_GROUP, outside=200), query={"site_id": "{site}"}),
    ],
    "POST /api/v1/agents": case(
        SET_UP(201),
        body={
            "partner_id": "{partner}",
            "name": "Jean Rouffiac",
            "email": "jean.rouffiac@caf.example",
            "timezone": "Europe/Paris",
        },
    ),
    "GET /api/v1/agents/{id}": case(signed_in(200), {"id": "{agent}"}),
    "PATCH /api/v1/agents/{id}": case(SET_UP(200), {"id": "{agent}"}, body={"locale": "en"}),
    "DELETE /api/v1/agents/{id}": case(SET_UP(409), {"id": "{agent}"}),
    "GET /api/v1/agents/{id}/rules": case(signed_in(200), {"id": "{agent}"}),
    "POST /api/v1/agents/{id}/rules": case(
        SET_UP(201),
        {"id": "{agent}"},
        body={"weekdays": [4], "start": "14:00", "end": "16:00", "site_ids": ["{site}"]},
    ),
    "PATCH /api/v1/agents/{id}/rules/{rule_id}": case(
        SET_UP(200), {"id": "{agent}", "rule_id": "{rule}"}, body={"end": "12:30"}
    ),
    "DELETE /api/v1/agents/{id}/rules/{rule_id}": case(
        SET_UP(409), {"id": "{agent}", "rule_id": "{rule}"}
    ),
    "GET /api/v1/agents/{id}/absences": case(signed_in(200), {"id": "{agent}"}),
    "POST /api/v1/agents/{id}/absences": case(
        SET_UP(201),
        {"id": "{agent}"},
        body={"start": "2026-05-04T07:00:00Z", "end": "2026-05-05T16:00:00Z"},
    ),
    "DELETE /api/v1/agents/{id}/absences/{absence_id}": case(
        SET_UP(204), {"id": "{agent}", "absence_id": "{absence}"}
    ),
    # -------- booking: the desk and administrators, within their houses
    "GET /api/v1/slots": case(
        allowed(200, "desk", "admin"),
        query={
            "site_id": "{site}",
            "motive_id": "{motive}",
            "from": "2026-03-16",
            "to": "2026-03-20",
        },
    ),
    "GET /api/v1/slots/first": case(
        allowed(200, "desk", "admin"), query={"motive_id": "{motive}", "site_id": "{site}"}
    ),
    "GET /api/v1/citizens": case(allowed(200, "desk", "admin"), query={"q": "Monique"}),
    # At one's own house with the other house's station or agent: no such slot (409).
    "POST /api/v1/appointments": [
        *case(allowed(201, "desk", "admin"), body=BOOKING),
        *case(allowed(409, "desk", "admin"), body={**BOOKING, "station_id": "{other_station}"}),
        *case(allowed(409, "desk", "admin"), body={**BOOKING, "agent_id": "{other_agent}"}),
    ],
    # A list asked for another house or agent is the caller's list narrowed to it: empty.
    "GET /api/v1/appointments": [
        *case(READ_APPOINTMENT),
        *case(replace(READ_APPOINTMENT, outside=200), query={"site_id": "{site}"}),
        *case(replace(READ_APPOINTMENT, outside=200), query={"agent_id": "{agent}"}),
    ],
    "GET /api/v1/appointments/{id}": case(READ_APPOINTMENT, {"id": "{appointment}"}),
    "POST /api/v1/appointments/{id}/cancel": case(
        allowed(200, "desk", "agent", "admin"), {"id": "{appointment}"}, body={"reason": "Malade"}
    ),
    "POST /api/v1/appointments/{id}/reschedule": [
        *case(allowed(201, "desk", "admin"), {"id": "{appointment}"}, body={"start": MONDAY_11}),
        *case(
            allowed(409, "desk", "admin"),
            {"id": "{appointment}"},
            body={"start": MONDAY_11, "station_id": "{other_station}"},
        ),
        *case(
            allowed(409, "desk", "admin"),
            {"id": "{appointment}"},
            body={"start": MONDAY_11, "agent_id": "{other_agent}"},
        ),
    ],
    "POST /api/v1/appointments/{id}/outcome": case(
        allowed(409, "desk", "agent", "admin"), {"id": "{appointment}"}, body={"status": "held"}
    ),
    "POST /api/v1/appointments/{id}/arrived": case(
        allowed(409, "desk", "admin"), {"id": "{appointment}"}
    ),
    "GET /api/v1/appointments/{id}/join": [
        *case(
            allowed(200, "desk", "admin").but(agent_x=404, agent_y=404),
            {"id": "{appointment}"},
            {"as": "station"},
        ),
        *case(
            allowed(200, "agent", "admin").but(desk_a=404, desk_b=404),
            {"id": "{appointment}"},
            {"as": "agent"},
        ),
    ],
    # -------- the desk's pages
    "GET /desk": case(allowed(200, "desk", "admin")),
    "GET /desk/status": case(allowed(200, "desk", "admin")),
    "GET /desk/week": case(allowed(200, "desk", "admin")),
    "GET /desk/book": case(allowed(200, "desk", "admin")),
    "GET /desk/book/slots": case(
        allowed(200, "desk", "admin"), query={"site_id": "{site}", "motive_id": "{motive}"}
    ),
    # The citizen screen only carries the house chosen on screen 1 and looks citizens up at
    # the desk's own houses; the summary and the booking refuse a house not the desk's.
    "GET /desk/book/citizen": case(
        allowed(200, "desk", "admin").but(desk_a__B=200, desk_b__A=200),
        query={"site_id": "{site}", "motive_id": "{motive}", "slot": MONDAY_11 + "||", "q": "Ch"},
    ),
    "GET /desk/book/summary": case(
        allowed(200, "desk", "admin"),
        query={
            "site_id": "{site}",
            "motive_id": "{motive}",
            "slot": MONDAY_11 + "||",
            "first_name": "Lucette",
            "last_name": "Boudou",
        },
    ),
    # At one's own house with the other house's agent and station: no such slot (409).
    "POST /desk/book": [
        *case(allowed(303, "desk", "admin"), body=BOOKING_FORM),
        # Who asks is checked before the form is read: an empty form is refused for its
        # content (400) to those who may book only.
        *case(allowed(400, "desk", "admin"), body={}),
        *case(
            allowed(409, "desk", "admin"),
            body={**BOOKING_FORM, "slot": MONDAY_11 + "|{other_agent}|{other_station}"},
        ),
    ],
    "POST /desk/appointments/{id}/arrived": case(
        allowed(409, "desk", "admin"), {"id": "{appointment}"}
    ),
    "POST /desk/tally": case(
        allowed(303, "desk", "admin"),
        body={"site_id": "{site}", "theme_id": "{theme}", "channel": "in_person"},
    ),
    # The address a refused tally form leaves: back to the desk's page, for anyone.
    "GET /desk/tally": case(Access(303, EVERY_GROUP, anonymous=303)),
    "POST /desk/tally/{id}/take-back": case(
        allowed(303, "desk", "admin"), {"id": "{desk_request}"}, body={"site_id": "{site}"}
    ),
    # -------- the partner agent's pages
    "GET /agenda": case(allowed(200, "agent")),
    "GET /agenda/status": case(allowed(200, "agent")),
    "GET /agenda/absences": case(allowed(200, "agent")),
    "POST /agenda/absences": case(
        allowed(303, "agent"), body={"start_date": "2026-05-04", "end_date": "2026-05-05"}
    ),
    "POST /agenda/absences/{id}/remove": case(allowed(303, "agent"), {"id": "{absence}"}),
    "GET /agenda/calendar": case(allowed(200, "agent")),
    "POST /agenda/calendar": case(allowed(200, "agent")),
    "POST /agenda/calendar/stop": case(allowed(303, "agent")),
    "GET /calendar/{token}.ics": case(anyone(200), {"token": "{feed}"}),
    "POST /api/v1/me/calendar-feed": case(allowed(201, "agent")),
    "DELETE /api/v1/me/calendar-feed": case(allowed(204, "agent")),
    # -------- an appointment's pages
    # Joining is hidden (404) from the other side's people; a coordinator never reads an
    # appointment (403), as on its page.
    "GET /appointments/{id}/join/agent": case(
        allowed(200, "agent", "admin").but(desk_a=404, desk_b=404),
        {"id": "{appointment}"},
    ),
    "GET /appointments/{id}/join/station": case(
        allowed(200, "desk", "admin").but(agent_x=404, agent_y=404),
        {"id": "{appointment}"},
    ),
    # The station's screen is its join page: hidden (404) from anyone but its house's desk.
    "GET /station/{id}": case(
        Access(200, frozenset({"desk", "admin"}), refused=404), {"id": "{station}"}
    ),
    "GET /appointments/{id}/confirmation": case(
        allowed(200, "desk", "admin").but(agent_x=404, agent_y=404, coordinator_a=404),
        {"id": "{appointment}"},
    ),
    "GET /appointments/{id}": case(READ_APPOINTMENT, {"id": "{appointment}"}),
    "POST /appointments/{id}/cancel": case(
        allowed(303, "desk", "agent", "admin"), {"id": "{appointment}"}, body={"reason": "Malade"}
    ),
    "POST /appointments/{id}/arrival": case(allowed(409, "desk", "admin"), {"id": "{appointment}"}),
    "POST /appointments/{id}/outcome": case(
        allowed(409, "desk", "agent", "admin"), {"id": "{appointment}"}, body={"status": "held"}
    ),
    "POST /appointments/{id}/move": [
        *case(allowed(400, "desk", "admin"), {"id": "{appointment}"}, body={}),
        *case(
            allowed(303, "desk", "admin"), {"id": "{appointment}"}, body={"slot": MONDAY_11 + "||"}
        ),
        *case(
            allowed(409, "desk", "admin"),
            {"id": "{appointment}"},
            body={"slot": MONDAY_11 + "|{other_agent}|{other_station}"},
        ),
    ],
    "POST /appointments/{id}/confirmation/send": case(
        allowed(303, "desk", "admin").but(agent_x=404, agent_y=404, coordinator_a=404),
        {"id": "{appointment}"},
    ),
    # -------- administration: accounts
    "GET /admin/users": case(admins(200)),
    "GET /admin/users/new": case(admins(200)),
    "POST /admin/users/new": case(admins(422)),
    "GET /admin/users/{id}": case(admins(200), {"id": "{user}"}),
    "POST /admin/users/{id}": case(admins(422), {"id": "{user}"}),
    "POST /admin/users/{id}/tokens/{token_id}/revoke": case(
        admins(303), {"id": "{user}", "token_id": "{token}"}
    ),
    "POST /admin/users/{id}/password-reset": case(admins(200), {"id": "{user}"}),
    "POST /admin/users/{id}/sessions/end": case(admins(303), {"id": "{user}"}),
    # -------- administration: houses
    "GET /admin/": case(signed_in(200)),
    "GET /admin/to-rebook": case(READ_APPOINTMENT),
    "GET /admin/sites": case(signed_in(200)),
    "GET /admin/sites/new": case(SET_UP(200)),
    "POST /admin/sites/new": case(SET_UP(422)),
    "GET /admin/sites/{id}": case(signed_in(200), {"id": "{site}"}),
    "POST /admin/sites/{id}": case(SET_UP(422), {"id": "{site}"}),
    "POST /admin/sites/{id}/state": case(SET_UP(409), {"id": "{site}"}, body={"active": "0"}),
    "POST /admin/sites/{id}/delete": case(SET_UP(409), {"id": "{site}"}),
    "POST /admin/sites/{id}/stations": case(
        SET_UP(303), {"id": "{site}"}, body={"station_name": "Cabine 2"}
    ),
    "POST /admin/sites/{id}/stations/{station_id}": case(
        SET_UP(303), {"id": "{site}", "station_id": "{station}"}, body={"active": "1"}
    ),
    "POST /admin/sites/{id}/closures": case(SET_UP(422), {"id": "{site}"}),
    "POST /admin/sites/{id}/closures/{closure_id}/delete": case(
        SET_UP(303), {"id": "{site}", "closure_id": "{closure}"}
    ),
    # -------- administration: partners and motives
    "GET /admin/partners": case(signed_in(200)),
    "GET /admin/partners/new": case(SET_UP(200)),
    "POST /admin/partners/new": case(SET_UP(422)),
    "GET /admin/partners/{id}": case(signed_in(200), {"id": "{partner}"}),
    "POST /admin/partners/{id}": case(SET_UP(422), {"id": "{partner}"}),
    "POST /admin/partners/{id}/delete": case(SET_UP(409), {"id": "{partner}"}),
    "GET /admin/partners/{id}/motives/new": case(SET_UP(200), {"id": "{partner}"}),
    "POST /admin/partners/{id}/motives/new": case(SET_UP(422), {"id": "{partner}"}),
    "GET /admin/motives/{id}": case(signed_in(200), {"id": "{motive}"}),
    "POST /admin/motives/{id}": case(SET_UP(422), {"id": "{motive}"}),
    "POST /admin/motives/{id}/delete": case(SET_UP(409), {"id": "{motive}"}),
    # -------- administration: agents, permanences, absences
    "GET /admin/agents": case(signed_in(200)),
    "GET /admin/agents/new": case(SET_UP(200)),
    "POST /admin/agents/new": case(SET_UP(422)),
    "GET /admin/agents/{id}": case(signed_in(200), {"id": "{agent}"}),
    "POST /admin/agents/{id}": case(SET_UP(422), {"id": "{agent}"}),
    "POST /admin/agents/{id}/delete": case(SET_UP(409), {"id": "{agent}"}),
    "GET /admin/agents/{id}/rules/new": case(SET_UP(200), {"id": "{agent}"}),
    "POST /admin/agents/{id}/rules/new": case(SET_UP(422), {"id": "{agent}"}),
    # A permanence's own page is its form: administrators (the others read the permanences
    # on the agent's page).
    "GET /admin/agents/{id}/rules/{rule_id}": case(
        SET_UP(200), {"id": "{agent}", "rule_id": "{rule}"}
    ),
    "POST /admin/agents/{id}/rules/{rule_id}": case(
        SET_UP(422), {"id": "{agent}", "rule_id": "{rule}"}
    ),
    "POST /admin/agents/{id}/rules/{rule_id}/delete": case(
        SET_UP(409), {"id": "{agent}", "rule_id": "{rule}"}
    ),
    "POST /admin/agents/{id}/absences": case(SET_UP(422), {"id": "{agent}"}),
    "POST /admin/agents/{id}/absences/{absence_id}/delete": case(
        SET_UP(303), {"id": "{agent}", "absence_id": "{absence}"}
    ),
    # -------- administration: outbox, audit, import
    "GET /admin/outbox": case(admins(200)),
    "GET /admin/outbox/{id}": case(admins(200), {"id": "{outbox}"}),
    "POST /admin/outbox/{id}/resend": case(admins(409), {"id": "{outbox}"}),
    "GET /admin/audit": case(admins(200)),
    "GET /api/v1/audit": case(admins(200)),
    "GET /admin/import": case(SET_UP(200)),
    # An administrator's form that is not a file upload: 400 (the role is checked first).
    "POST /admin/import": case(SET_UP(400)),
    # -------- statistics and the desk's tally
    "GET /stats": [*case(STATS), *case(STATS, query={"site_id": "{site}"})],
    "GET /stats/export": [
        *case(STATS, query={"table": "months"}),
        *case(STATS, query={"table": "months", "site_id": "{site}"}),
    ],
    "GET /stats/report": [*case(STATS), *case(STATS, query={"site_id": "{site}"})],
    "GET /api/v1/stats/sessions": case(
        allowed(200, "desk", "coordinator", "admin"), query={"site_id": "{site}"}
    ),
    "GET /api/v1/stats/sessions/crosstab": case(
        allowed(200, "desk", "coordinator", "admin"), query={"year": "2026"}
    ),
    "GET /api/v1/stats/desk-requests": case(
        allowed(200, "desk", "coordinator", "admin"), query={"site_id": "{site}"}
    ),
    "POST /api/v1/desk-requests": case(
        allowed(201, "desk", "admin"),
        body={"site_id": "{site}", "theme_id": "{theme}", "channel": "phone"},
    ),
    "DELETE /api/v1/desk-requests/{id}": case(
        allowed(204, "desk", "admin"), {"id": "{desk_request}"}
    ),
    "GET /api/v1/request-themes": case(signed_in(200)),
    "POST /api/v1/request-themes": case(
        SET_UP(201), body={"code": "sante", "name": "Santé", "name_en": "Health"}
    ),
    "PATCH /api/v1/request-themes/{id}": case(SET_UP(200), {"id": "{theme}"}, body={"position": 3}),
}


# ---------------------------------------------------------------- the world


def is_api(path: str) -> bool:
    return path.startswith("/api/") or path in ("/healthz", "/readyz", "/metrics")


def route_key(route: web.AbstractRoute) -> str:
    return f"{route.method} {route.resource.canonical if route.resource else ''}"


@dataclass
class Caller:
    """How one role calls: its bearer token (API), its cookies and form token (pages)."""

    bearer: str | None = None
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""


@dataclass
class World:
    client: TestClient[Any, Any]
    connection: AsyncConnection
    objects: dict[str, dict[str, str]]  # scope ("A", "B", "-") → name → value
    callers: dict[str, Caller]


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(value: Any, objects: Mapping[str, str]) -> Any:
    """`value` with its "{name}" placeholders replaced by the objects' values (a whole
    "{name}" in a JSON body becomes the integer id)."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole and objects[whole[1]].isdigit():
            return int(objects[whole[1]])
        return PLACEHOLDER.sub(lambda match: objects[match[1]], value)
    if isinstance(value, list):
        return [fill(item, objects) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, objects) for key, item in value.items()}
    return value


def names_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, list):
        return set().union(*(names_in(item) for item in value)) if value else set()
    if isinstance(value, dict):
        return names_in(list(value.values()))
    return set()


def scopes_of(call: Call) -> tuple[str, ...]:
    """A and B when the call names a house's object, else once."""
    named = names_in([*call.params.values(), *call.query.values(), call.body])
    return ("A", "B") if named & HOUSE_OBJECTS else ("-",)


async def api(client: TestClient[Any, Any], method: str, path: str, bearer: str, **kw: Any) -> Any:
    response = await client.request(
        method, path, headers={"Authorization": f"Bearer {bearer}"}, **kw
    )
    assert response.status < 300, (method, path, response.status, await response.text())
    return await response.json() if response.status != 204 else None


FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def cookie_header(cookies: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


async def sign_in(client: TestClient[Any, Any], email: str | None) -> Caller:
    """Cookies and form token of a browser that signed in through the form (None: of one
    that only opened the sign-in page)."""
    caller = Caller()
    page = await client.get("/login")
    caller.cookies.update({name: morsel.value for name, morsel in page.cookies.items()})
    token = FORM_TOKEN.search(await page.text())
    assert token, "the sign-in page has no form token"
    caller.csrf = token[1]
    if email is None:
        return caller
    form = {"email": email, "password": PASSWORD, "csrf_token": caller.csrf}
    signed = await client.post(
        "/login", data=form, headers={"Cookie": cookie_header(caller.cookies)},
        allow_redirects=False,
    )  # fmt: skip
    assert signed.status == 303, await signed.text()
    caller.cookies.update({name: morsel.value for name, morsel in signed.cookies.items()})
    home = await client.get("/", headers={"Cookie": cookie_header(caller.cookies)})
    assert home.status == 200, await home.text()
    caller.cookies.update({name: morsel.value for name, morsel in home.cookies.items()})
    token = FORM_TOKEN.search(await home.text())
    assert token, "the home page has no form token"
    caller.csrf = token[1]
    return caller


WEEKDAYS = [
    {"weekday": day, "start": start, "end": end}
    for day in range(1, 6)
    for start, end in (("09:00", "12:00"), ("13:30", "17:00"))
]


async def build(client: TestClient[Any, Any], connection: AsyncConnection) -> World:
    maker = async_sessionmaker(
        connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    async with maker() as session:
        admin = await accounts.create_user(
            session, None, email="admin@visio.example", name="Ada Admin", role=Role.ADMIN,
            password=PASSWORD, now=NOW,
        )  # fmt: skip
        created = await accounts.create_token(session, None, user_id=admin.id, label="m", now=NOW)
        await session.commit()
    root = created.token
    houses: dict[str, dict[str, str]] = {"A": {}, "B": {}}
    shared: dict[str, str] = {}
    partner = await api(
        client, "POST", "/api/v1/partners", root, json={"code": "CAF", "name": "CAF"}
    )
    motive = await api(
        client, "POST", f"/api/v1/partners/{partner['id']}/motives", root,
        json={"name": "Prime d'activité", "duration_minutes": 30, "buffer_after_minutes": 10},
    )  # fmt: skip
    shared.update(partner=str(partner["id"]), motive=str(motive["id"]))
    themes = await api(client, "GET", "/api/v1/request-themes", root)
    shared["theme"] = str(themes[0]["id"])
    tokens: dict[str, str] = {"admin": root}
    people = {
        "A": ("Murat", "Isabelle Delmas", CITIZEN_A),
        "B": ("Massiac", "Paul Rouchy", CITIZEN_B),
    }
    for scope, (commune, agent_name, citizen) in people.items():
        ids = houses[scope]
        site = await api(
            client, "POST", "/api/v1/sites", root,
            json={"name": f"France Services {commune}", "commune": commune,
                  "timezone": "Europe/Paris", "opening_hours": WEEKDAYS},
        )  # fmt: skip
        ids["site"] = str(site["id"])
        station = await api(
            client, "POST", f"/api/v1/sites/{site['id']}/stations", root, json={"name": "Cabine"}
        )
        ids["station"] = str(station["id"])
        closure = await api(
            client, "POST", f"/api/v1/sites/{site['id']}/closures", root, json=AUGUST
        )
        ids["closure"] = str(closure["id"])
        agent = await api(
            client, "POST", "/api/v1/agents", root,
            json={"partner_id": partner["id"], "name": agent_name, "timezone": "Europe/Paris",
                  "email": f"{agent_name.split()[0].lower()}@caf.example"},
        )  # fmt: skip
        ids["agent"] = str(agent["id"])
        rule = await api(
            client, "POST", f"/api/v1/agents/{agent['id']}/rules", root,
            json={"weekdays": [1], "start": "09:00", "end": "12:00", "site_ids": [site["id"]]},
        )  # fmt: skip
        ids["rule"] = str(rule["id"])
        absence = await api(
            client, "POST", f"/api/v1/agents/{agent['id']}/absences", root,
            json={"start": "2026-04-06T07:00:00Z", "end": "2026-04-10T16:00:00Z"},
        )  # fmt: skip
        ids["absence"] = str(absence["id"])
        accounts_of = {
            f"desk_{scope.lower()}": {"role": "desk", "site_ids": [site["id"]]},
            f"agent_{'x' if scope == 'A' else 'y'}": {"role": "agent", "agent_id": agent["id"]},
        }
        if scope == "A":
            accounts_of["coordinator_a"] = {"role": "coordinator", "site_ids": [site["id"]]}
        for role, details in accounts_of.items():
            user = await api(
                client, "POST", "/api/v1/users", root,
                json={"email": f"{role}@visio.example", "name": role, "password": PASSWORD,
                      **details},
            )  # fmt: skip
            made = await api(client, "POST", f"/api/v1/users/{user['id']}/tokens", root, json={})
            tokens[role] = made["token"]
            if role.startswith("desk"):
                ids["user"] = str(user["id"])
                # A second token of the desk's, to be revoked.
                await api(client, "POST", f"/api/v1/users/{user['id']}/tokens", root, json={})
                listed = await api(client, "GET", f"/api/v1/users/{user['id']}/tokens", root)
                ids["token"] = str(max(token["id"] for token in listed))
        desk = tokens[f"desk_{scope.lower()}"]
        appointment = await api(
            client, "POST", "/api/v1/appointments", desk,
            json={"site_id": site["id"], "motive_id": motive["id"], "start": MONDAY_10,
                  "citizen": {"first_name": "Monique", "last_name": citizen,
                              "email": f"{citizen.lower()}@courriel.example"}},
        )  # fmt: skip
        ids["appointment"] = str(appointment["id"])
        counted = await api(
            client, "POST", "/api/v1/desk-requests", desk,
            json={"site_id": site["id"], "theme_id": themes[0]["id"], "channel": "in_person"},
        )  # fmt: skip
        ids["desk_request"] = str(counted["id"])
        feed = await api(
            client,
            "POST",
            "/api/v1/me/calendar-feed",
            tokens[f"agent_{'x' if scope == 'A' else 'y'}"],
        )
        ids["feed"] = feed["https_url"].rsplit("/", 1)[1].removesuffix(".ics")
    async with maker() as session:
        actor = await accounts.load_actor(session, admin.id)
        assert actor is not None
        someone = await accounts.create_user(
            session, actor, email="forgot@visio.example", name="Oubli", role=Role.DESK,
            site_ids=[int(houses["A"]["site"])], now=NOW,
        )  # fmt: skip
        reset = await password_resets.issue_reset(
            session, actor, someone.id, link_for=lambda token: token, by_email=False, now=NOW
        )
        assert reset.link is not None
        shared["reset"] = reset.link
        shared["outbox"] = str(await session.scalar(select(OutboxMessage.id).limit(1)))
        await session.commit()
    callers = {role: Caller(bearer=token) for role, token in tokens.items()}
    callers["anonymous"] = await sign_in(client, None)
    for role in GROUP:
        signed = await sign_in(client, f"{role}@visio.example")
        callers[role].cookies, callers[role].csrf = signed.cookies, signed.csrf
    for scope, other in (("A", "B"), ("B", "A")):
        houses[scope].update(
            {f"other_{name}": houses[other][name] for name in ("site", "station", "agent")}
        )
    objects = {scope: {**shared, **ids} for scope, ids in houses.items()}
    objects["-"] = dict(shared)
    return World(client, connection, objects, callers)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(database_url: str) -> AsyncIterator[World]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            transaction = await connection.begin()
            if connection.dialect.name == "postgresql":
                await connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
            settings = Settings(database_url=database_url, secret_key=SECRET, run_worker=False)
            app = create_app(settings, clock=Clock(NOW), bind=connection)
            client = TestClient(TestServer(app), cookie_jar=DummyCookieJar())
            await client.start_server()
            try:
                yield await build(client, connection)
            finally:
                await client.close()
                await transaction.rollback()
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the cases


def expected(access: Access, role: str, scope: str, *, page: bool) -> int:
    if role == "anonymous":
        default = 303 if page else 401
        return access.overrides.get((role, scope), access.anonymous or default)
    for key in ((role, scope), (role, "*")):
        if key in access.overrides:
            return access.overrides[key]
    if GROUP[role] not in access.roles:
        return access.refused
    if scope == "-" or role == "admin" or HOME[role] == scope:
        return access.ok
    return access.outside


async def answer(
    world: World, key: str, call: Call, role: str, scope: str, *, via_cookie: bool = False
) -> tuple[int, str, str]:
    """The status, Location and body of one call, made in a savepoint rolled back after it;
    `via_cookie`: an API call made with the session cookie (and the form token in
    X-CSRF-Token for a change), as the pages' scripts make them."""
    method, template = key.split(" ", 1)
    objects = world.objects[scope]
    path = fill(
        call.path or template,
        {**objects, **{k: str(fill(v, objects)) for k, v in call.params.items()}},
    )
    caller = world.callers[role]
    headers: dict[str, str] = {}
    options: dict[str, Any] = {"params": fill(dict(call.query), objects)}
    if is_api(path) and via_cookie:
        headers["Cookie"] = cookie_header(caller.cookies)
        if method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = caller.csrf
        if call.body is not None:
            options["json"] = fill(call.body, objects)
    elif is_api(path):
        if caller.bearer:
            headers["Authorization"] = f"Bearer {caller.bearer}"
        if call.body is not None:
            options["json"] = fill(call.body, objects)
    else:
        headers["Cookie"] = cookie_header(caller.cookies)
        if method == "POST":
            form = {k: str(v) for k, v in fill(call.body or {}, objects).items()}
            options["data"] = {**form, "csrf_token": caller.csrf}
    async with world.connection.begin_nested() as savepoint:
        response = await world.client.request(
            method, path, headers=headers, allow_redirects=False, **options
        )
        body = (await response.read()).decode(errors="replace")
        await savepoint.rollback()
    return response.status, response.headers.get("Location", ""), body


async def check(world: World, key: str, *, via_cookie: bool = False) -> list[str]:
    """What answered otherwise than written, one line a case."""
    wrong = []
    page = not is_api(key.split(" ", 1)[1])
    for number, entry in enumerate(ROUTES[key], start=1):
        asked = f"{key}{'?' + '&'.join(entry.call.query) if entry.call.query else ''}"
        if len(ROUTES[key]) > 1:
            asked += f" (#{number})"
        for scope in scopes_of(entry.call):
            for role in ROLES:
                want = expected(entry.access, role, scope, page=page)
                got, location, body = await answer(
                    world, key, entry.call, role, scope, via_cookie=via_cookie
                )
                to_sign_in = page and role == "anonymous" and entry.access.anonymous is None
                if got != want:
                    wrong.append(f"{asked} as {role} on {scope}: {got}, expected {want}")
                elif to_sign_in and not location.startswith("/login"):
                    wrong.append(f"{asked} as anonymous: sent to {location}, not to /login")
                wrong += [
                    f"{asked} as {role} on {scope}: shows the citizen {name} ({got})"
                    for name in NOT_THEIRS[role]
                    if name in body
                ]
    return wrong


def count_cases() -> int:
    return sum(
        len(scopes_of(entry.call)) * len(ROLES) for entries in ROUTES.values() for entry in entries
    )


@pytest.mark.parametrize("key", sorted(ROUTES))
async def test_access(world: World, key: str) -> None:
    wrong = await check(world, key)
    assert not wrong, "\n".join(wrong)


async def test_every_route_has_its_entry(world: World) -> None:
    table = {route_key(route) for route in world.client.app.router.routes()}
    missing = sorted(table - set(ROUTES))
    gone = sorted(set(ROUTES) - table)
    assert not missing, f"routes without their expected statuses in ROUTES: {missing}"
    assert not gone, f"entries of ROUTES for routes no longer in the table: {gone}"


# API calls made with the session cookie instead of a token get the same answers.
THROUGH_THE_COOKIE = (
    "GET /api/v1/me",
    "GET /api/v1/users",
    "GET /api/v1/appointments/{id}",
    "POST /api/v1/appointments/{id}/cancel",
    "POST /api/v1/desk-requests",
    "DELETE /api/v1/desk-requests/{id}",
)


@pytest.mark.parametrize("key", THROUGH_THE_COOKIE)
async def test_access_through_the_session_cookie(world: World, key: str) -> None:
    wrong = await check(world, key, via_cookie=True)
    assert not wrong, "\n".join(wrong)


async def test_a_change_through_the_cookie_without_the_form_token_is_refused(
    world: World,
) -> None:
    appointment = world.objects["A"]["appointment"]
    cookie = cookie_header(world.callers["desk_a"].cookies)
    async with world.connection.begin_nested() as savepoint:
        refused = await world.client.post(
            f"/api/v1/appointments/{appointment}/cancel", json={}, headers={"Cookie": cookie}
        )
        assert refused.status == 403, await refused.text()
        seen = await world.client.get(
            f"/api/v1/appointments/{appointment}",
            headers={"Authorization": f"Bearer {world.callers['desk_a'].bearer}"},
        )
        assert (await seen.json())["status"] == "booked"
        await savepoint.rollback()


# What the pages and lists show their own people: the check that no citizen of another
# house appears anywhere is only worth something if they do show their own.
OWN_CITIZEN_SHOWN = (
    ("GET /desk", "desk_a", CITIZEN_A),
    ("GET /desk", "desk_b", CITIZEN_B),
    ("GET /desk/week", "desk_a", CITIZEN_A),
    ("GET /agenda", "agent_x", CITIZEN_A),
    ("GET /agenda", "agent_y", CITIZEN_B),
    ("GET /api/v1/appointments", "desk_a", CITIZEN_A),
    ("GET /api/v1/appointments", "agent_y", CITIZEN_B),
    ("GET /api/v1/citizens", "desk_b", CITIZEN_B),
)


@pytest.mark.parametrize(("key", "role", "citizen"), OWN_CITIZEN_SHOWN)
async def test_the_lists_show_their_own_citizens(
    world: World, key: str, role: str, citizen: str
) -> None:
    entry = ROUTES[key][0]
    status, _location, body = await answer(world, key, entry.call, role, "-")
    assert status == 200
    assert citizen in body


# A form that says nothing (its token only) is answered by who sends it before what it
# holds: nobody signed in goes to sign in, a role that never counts is refused; a desk is
# told the house is not one.
@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 303), ("agent_x", 403), ("coordinator_a", 403), ("desk_a", 404)],
)
async def test_an_empty_tally_form_is_answered_for_who_sends_it(
    world: World, role: str, status: int
) -> None:
    got, location, _body = await answer(world, "POST /desk/tally", Call(), role, "-")
    assert got == status
    if role == "anonymous":
        assert location.startswith("/login")
