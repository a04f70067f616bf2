"""The booking lifecycle through the API: book, read, list, cancel, reschedule, outcome,
arrival, join links; every refusal clear, and nothing half-written."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.conftest import Clock
from tests.handlers.conftest import MONDAY_10, NOW, World, book, booking
from visio.app import MAX_BODY_BYTES
from visio.db.models import (
    Appointment,
    AppointmentEvent,
    AuditEntry,
    AvailabilityRule,
    Citizen,
    OutboxMessage,
    Partner,
    Role,
    Station,
)
from visio.notify.compose import content


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_book_then_read(client: Any, session: AsyncSession, world: World) -> None:
    body = await book(client, world)
    assert body["status"] == "booked"
    assert body["start"] == MONDAY_10
    assert body["end"] == "2026-03-16T10:30:00+01:00"
    assert body["agent_id"] == world.agent.id
    assert body["citizen"]["last_name"] == "Chassang"
    assert body["citizen"]["phone"] == "0612345678"
    assert body["room"].startswith("visio-") and "chassang" not in body["room"].lower()
    assert body["reference"] == f"V-{body['id']:06d}"
    again = await client.get(f"/api/v1/appointments/{body['id']}", headers=world.headers)
    assert await again.json() == body
    # Same transaction: history, audit and the emails to send.
    stored = await session.get(Appointment, body["id"])
    assert stored is not None
    assert stored.busy_until - stored.end_at == timedelta(minutes=10)
    events = (
        await session.execute(
            select(AppointmentEvent.to_status, AppointmentEvent.by_user_id, AppointmentEvent.at)
            .where(AppointmentEvent.appointment_id == body["id"])
        )
    ).all()  # fmt: skip
    assert events == [("booked", world.desk.id, NOW)]
    entries = (
        await session.execute(
            select(AuditEntry.user_id, AuditEntry.details).where(
                AuditEntry.action == "appointment.book", AuditEntry.entity_id == body["id"]
            )
        )
    ).all()
    assert entries == [
        (world.desk.id, {"site_id": world.site.id, "motive_id": world.motive.id,
                         "agent_id": world.agent.id, "station_id": body["station_id"],
                         "start": "2026-03-16T09:00:00+00:00"})
    ]  # fmt: skip
    mails = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.appointment_id == body["id"])
            .order_by(OutboxMessage.kind)
        )
    ).all()
    assert [(m.kind, m.recipient_email) for m in mails] == [
        ("booked.agent", "isabelle.delmas@caf.example"),
        ("booked.citizen", "monique.chassang@courriel.example"),
        ("reminder.agent", "isabelle.delmas@caf.example"),
        ("reminder.citizen", "monique.chassang@courriel.example"),
    ]
    # The motive's reminder, an hour before, waits in the outbox until then.
    assert {m.next_attempt_at for m in mails[2:]} == {datetime(2026, 3, 16, 8, 0, tzinfo=UTC)}
    # Queued as facts, worded when sent: here as the sender words them.
    words = [content(m) for m in mails]
    assert all(w.ics is None for w in words[2:]) and all(w.ics for w in words[:2])
    assert "Numéro d'allocataire" in words[1].text  # documents to bring, for the citizen
    assert "lundi 16 mars 2026" in words[1].text
    assert "Monique Chassang" in words[0].text  # the agent knows whom they will see
    assert "/appointments/" in words[0].text and "jwt" not in words[0].text


async def test_a_booking_is_a_dozen_plain_statements(
    client: Any, connection: AsyncConnection, world: World
) -> None:
    """The hot path stays what it was measured at: the caller's token, the citizen found
    again, the site with the motive (taking the locks on agent and station, on
    PostgreSQL), the permanences, the blocking intervals with the stations, the
    appointment with its history and audit entries and the statistics' counter, the check
    that the citizen is not booked elsewhere then, and the outbox rows in one insert,
    however many."""
    await book(client, world)  # the token's first use is noted once; not counted below
    statements: list[str] = []

    def seen(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The savepoints are the test's own transaction wrapping, not the booking's.
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement.split(None, 1)[0].upper())

    event.listen(connection.sync_connection, "before_cursor_execute", seen)
    try:
        await book(
            client, world, start="2026-03-16T11:00:00+01:00",
            agent_id=world.agent.id, station_id=world.site.stations[0].id,
        )  # fmt: skip
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", seen)
    # On PostgreSQL the appointment, its history and audit entries and the counter are one
    # statement.
    written = ["WITH"] if connection.dialect.name == "postgresql" else ["INSERT"] * 4
    assert statements == ["SELECT"] * 5 + written + ["SELECT", "INSERT"]


async def test_the_agent_and_the_desk_see_it_others_do_not(
    client: Any,
    world: World,
    create_site: Any,
    create_user: Any,
    bearer: Any,
) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}"
    assert (await client.get(path, headers=world.agent_headers)).status == 200
    elsewhere = await create_site("Pélussin")
    other_desk = await create_user(Role.DESK, site_ids=[elsewhere.id])
    coordinator = await create_user(Role.COORDINATOR, site_ids=[world.site.id])
    assert (await client.get(path, headers=await bearer(other_desk))).status == 404
    assert (await client.get(path, headers=await bearer(coordinator))).status == 403
    listed = await client.get("/api/v1/appointments", headers=await bearer(other_desk))
    assert await listed.json() == []


async def test_a_known_citizen_is_found_not_duplicated(
    client: Any, session: AsyncSession, world: World
) -> None:
    first = await book(client, world)
    before = await count(session, Citizen)
    second = await book(
        client,
        world,
        start="2026-03-23T10:00:00+01:00",
        citizen={"first_name": "monique", "last_name": "CHASSANG", "phone": "0612345678"},
    )
    assert second["citizen"]["id"] == first["citizen"]["id"]
    assert await count(session, Citizen) == before
    found = await client.get("/api/v1/citizens", params={"q": "chass"}, headers=world.headers)
    assert [c["id"] for c in await found.json()] == [first["citizen"]["id"]]
    # Picking the record by id works too.
    third = await book(
        client,
        world,
        start="2026-03-30T10:00:00+02:00",
        citizen={"first_name": "Monique", "last_name": "Chassang", "id": first["citizen"]["id"]},
    )
    assert third["citizen"]["id"] == first["citizen"]["id"]


async def test_a_citizen_is_not_booked_twice_at_once(
    client: Any, session: AsyncSession, world: World, create_agent: Any
) -> None:
    await book(client, world)
    partner = await session.get(Partner, world.agent.partner_id)
    colleague = await create_agent(partner, name="Thomas Bonnet")
    rule = AvailabilityRule(
        agent_id=colleague.id, weekdays=[1], start=time(9), end=time(12), every_weeks=1
    )
    rule.sites, rule.motives = [world.site], []
    session.add(rule)
    await session.flush()
    response = await client.post("/api/v1/appointments", json=booking(world), headers=world.headers)
    assert response.status == 409
    assert "start" in (await response.json())["error"]["fields"]


async def test_a_taken_slot_is_409_with_the_next_free_ones(
    client: Any, session: AsyncSession, world: World
) -> None:
    await book(client, world)
    before = await count(session, Appointment)
    response = await client.post(
        "/api/v1/appointments",
        json=booking(world, citizen={"first_name": "Jean", "last_name": "Rigal"}),
        headers=world.headers,
    )
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "slot_unavailable"
    assert error["message"] == "Ce créneau n'est plus libre."
    # 10:30 falls in the 10 minutes after 10:00–10:30; the next ones are 11:00 and 11:30.
    assert [slot["start"] for slot in error["next_slots"]][:2] == [
        "2026-03-16T11:00:00+01:00",
        "2026-03-16T11:30:00+01:00",
    ]
    assert await count(session, Appointment) == before


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"start": "2026-03-16T10:10:00+01:00"}, 409, None),  # off the grid
        ({"start": "2026-03-16T13:00:00+01:00"}, 409, None),  # outside the permanence
        ({"start": "2026-03-13T09:30:00+01:00"}, 409, None),  # less than the notice
        ({"start": "2026-03-16T10:00:00"}, 422, "start"),  # no offset
        ({"citizen": {"first_name": "", "last_name": "Rigal"}}, 422, "citizen.first_name"),
        ({"citizen": {"last_name": "Rigal"}}, 422, "citizen.first_name"),
        (
            {"citizen": {"first_name": "Jean", "last_name": "Rigal", "email": "jean@"}},
            422,
            "citizen.email",
        ),
        (
            {"citizen": {"first_name": "Jean", "last_name": "Rigal", "phone": "appelez"}},
            422,
            "citizen.phone",
        ),
        ({"site_id": 424242}, 404, None),
        ({"motive_id": 424242}, 404, None),
    ],
)
async def test_bad_bookings(
    client: Any,
    session: AsyncSession,
    world: World,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    before = (
        await count(session, Appointment),
        await count(session, Citizen),
        await count(session, OutboxMessage),
    )
    response = await client.post(
        "/api/v1/appointments", json=booking(world, **change), headers=world.headers
    )
    assert response.status == status, await response.text()
    if field:
        assert field in (await response.json())["error"]["fields"]
    after = (
        await count(session, Appointment),
        await count(session, Citizen),
        await count(session, OutboxMessage),
    )
    assert after == before


async def test_cancel(client: Any, session: AsyncSession, world: World) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}"
    response = await client.post(
        f"{path}/cancel", json={"reason": "Empêchement"}, headers=world.agent_headers
    )
    assert response.status == 200
    assert (await response.json())["status"] == "cancelled"
    again = await client.post(f"{path}/cancel", json={}, headers=world.headers)
    assert again.status == 409
    assert (await again.json())["error"]["code"] == "invalid_transition"
    # The time is free again.
    rebooked = await book(client, world, citizen={"first_name": "Jean", "last_name": "Rigal"})
    assert rebooked["start"] == MONDAY_10
    kinds = (
        await session.scalars(
            select(OutboxMessage.kind)
            .where(OutboxMessage.appointment_id == body["id"])
            .order_by(OutboxMessage.id)
        )
    ).all()
    assert kinds[-2:] == ["cancelled.agent", "cancelled.citizen"]


async def test_reschedule_moves_and_links(client: Any, session: AsyncSession, world: World) -> None:
    body = await book(client, world)
    response = await client.post(
        f"/api/v1/appointments/{body['id']}/reschedule",
        json={"start": "2026-03-16T10:30:00+01:00"},  # overlaps its own old time: allowed
        headers=world.headers,
    )
    assert response.status == 201, await response.text()
    new = await response.json()
    assert new["rescheduled_from_id"] == body["id"]
    assert new["start"] == "2026-03-16T10:30:00+01:00"
    assert new["citizen"]["id"] == body["citizen"]["id"]
    assert new["room"] != body["room"]
    old = await (
        await client.get(f"/api/v1/appointments/{body['id']}", headers=world.headers)
    ).json()
    assert old["status"] == "cancelled"
    stored = await session.get(Appointment, new["id"])
    assert stored is not None and stored.sequence == 1
    history = (
        await session.execute(
            select(AppointmentEvent.to_status, AppointmentEvent.note)
            .where(AppointmentEvent.appointment_id == new["id"])
        )
    ).all()  # fmt: skip
    assert history == [("booked", f"rescheduled from {body['id']}")]
    details = await session.scalar(
        select(AuditEntry.details).where(
            AuditEntry.action == "appointment.reschedule", AuditEntry.entity_id == new["id"]
        )
    )
    assert details == {
        "from_appointment": body["id"], "agent_id": world.agent.id,
        "station_id": new["station_id"], "start": "2026-03-16T09:30:00+00:00",
    }  # fmt: skip


async def test_a_failed_reschedule_changes_nothing(
    client: Any, session: AsyncSession, world: World
) -> None:
    body = await book(client, world)
    before = await count(session, Appointment)
    response = await client.post(
        f"/api/v1/appointments/{body['id']}/reschedule",
        json={"start": "2026-03-16T13:00:00+01:00"},
        headers=world.headers,
    )
    assert response.status == 409
    assert "next_slots" in (await response.json())["error"]
    kept = await (
        await client.get(f"/api/v1/appointments/{body['id']}", headers=world.headers)
    ).json()
    assert kept["status"] == "booked"
    assert await count(session, Appointment) == before


async def test_outcome_only_once_started(client: Any, world: World, clock: Clock) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}/outcome"
    early = await client.post(path, json={"status": "held"}, headers=world.agent_headers)
    assert early.status == 409
    clock.now = datetime(2026, 3, 16, 9, 35, tzinfo=UTC)
    wrong = await client.post(path, json={"status": "done"}, headers=world.agent_headers)
    assert wrong.status == 422
    held = await client.post(
        path, json={"status": "held", "note": "Dossier complété"}, headers=world.agent_headers
    )
    assert held.status == 200
    assert (await held.json())["status"] == "held"
    twice = await client.post(path, json={"status": "no_show"}, headers=world.headers)
    assert twice.status == 409
    cancel = await client.post(
        f"/api/v1/appointments/{body['id']}/cancel", json={}, headers=world.headers
    )
    assert cancel.status == 409


async def test_arrival_is_for_the_desk(client: Any, world: World, clock: Clock) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}/arrived"
    assert (await client.post(path, headers=world.agent_headers)).status == 403
    clock.now = datetime(2026, 3, 16, 8, 55, tzinfo=UTC)
    response = await client.post(path, headers=world.headers)
    assert response.status == 200
    assert (await response.json())["arrived_at"] == "2026-03-16T09:55:00+01:00"
    seen = await client.get(f"/api/v1/appointments/{body['id']}", headers=world.agent_headers)
    assert (await seen.json())["arrived_at"] == "2026-03-16T09:55:00+01:00"


async def test_join_links_in_plain_mode(client: Any, world: World, clock: Clock) -> None:
    body = await book(client, world)
    path = f"/api/v1/appointments/{body['id']}/join"
    station = await (await client.get(path, params={"as": "station"}, headers=world.headers)).json()
    assert station["url"] == f"https://meet.jit.si/{body['room']}"
    assert station["jwt"] is None
    assert station["state"] == "too_early"
    # The desk cannot take the agent's (moderator) side; the agent not the station's.
    assert (await client.get(path, params={"as": "agent"}, headers=world.headers)).status == 404
    assert (
        await client.get(path, params={"as": "station"}, headers=world.agent_headers)
    ).status == 404
    assert (await client.get(path, params={"as": "both"}, headers=world.headers)).status == 422
    clock.now = datetime(2026, 3, 16, 8, 50, tzinfo=UTC)  # 09:50 in Paris: open
    agent_side = await (
        await client.get(path, params={"as": "agent"}, headers=world.agent_headers)
    ).json()
    assert agent_side["state"] == "open"
    read = await (
        await client.get(f"/api/v1/appointments/{body['id']}", headers=world.headers)
    ).json()
    assert read["agent_joined_at"] == "2026-03-16T09:50:00+01:00"


async def test_lists_come_in_pages_that_say_their_total(client: Any, world: World) -> None:
    """Five appointments, two per page: three pages, each with the total and the links to
    the others; the filters stay in the links; past the last page, an empty page."""
    starts = ["2026-03-16T10:00:00+01:00", "2026-03-16T11:00:00+01:00",
              "2026-03-23T10:00:00+01:00", "2026-03-23T11:00:00+01:00",
              "2026-03-30T10:00:00+02:00"]  # fmt: skip
    booked = [
        await book(
            client,
            world,
            start=start,
            citizen={"first_name": "Jean", "last_name": f"Rigal{number}"},
        )
        for number, start in enumerate(starts)
    ]

    async def listed(**params: Any) -> tuple[list[int], Any]:
        response = await client.get("/api/v1/appointments", params=params, headers=world.headers)
        assert response.status == 200, await response.text()
        return [item["id"] for item in await response.json()], response.headers

    first, headers = await listed(limit=2, status="booked")
    assert first == [booked[0]["id"], booked[1]["id"]]
    assert headers["X-Total-Count"] == "5"
    links = headers["Link"]
    assert "<http" not in links  # relative: the same host, whatever the proxy in front
    assert '</api/v1/appointments?limit=2&status=booked&page=2>; rel="next"' in links
    assert 'rel="last"' in links and 'rel="prev"' not in links
    last, headers = await listed(limit=2, status="booked", page=3)
    assert last == [booked[4]["id"]]
    assert 'page=2>; rel="prev"' in headers["Link"] and 'rel="next"' not in headers["Link"]
    beyond, headers = await listed(limit=2, page=9)
    assert beyond == [] and headers["X-Total-Count"] == "5"
    whole, headers = await listed()
    assert len(whole) == 5 and "Link" not in headers

    for wrong in ({"limit": 0}, {"limit": 1001}, {"page": 0}, {"page": "x"}):
        refused = await client.get("/api/v1/appointments", params=wrong, headers=world.headers)
        assert refused.status == 422, wrong
        assert list((await refused.json())["error"]["fields"]) == list(wrong)


async def test_lists_filter_by_status_and_days(client: Any, world: World) -> None:
    first = await book(client, world)
    second = await book(
        client,
        world,
        start="2026-03-23T10:00:00+01:00",
        citizen={"first_name": "Jean", "last_name": "Rigal"},
    )
    await client.post(f"/api/v1/appointments/{second['id']}/cancel", json={}, headers=world.headers)

    async def ids(headers: dict[str, str], **params: Any) -> list[int]:
        response = await client.get("/api/v1/appointments", params=params, headers=headers)
        assert response.status == 200, await response.text()
        return [item["id"] for item in await response.json()]

    assert await ids(world.headers) == [first["id"], second["id"]]
    assert await ids(world.headers, status="booked") == [first["id"]]
    assert await ids(world.headers, status="booked,cancelled") == [first["id"], second["id"]]
    assert await ids(world.headers, **{"from": "2026-03-20", "to": "2026-03-31"}) == [second["id"]]
    assert await ids(world.agent_headers, status="booked") == [first["id"]]
    bad = await client.get("/api/v1/appointments", params={"status": "done"}, headers=world.headers)
    assert bad.status == 422
    backwards = await client.get(
        "/api/v1/appointments",
        params={"from": "2026-03-31", "to": "2026-03-20"},
        headers=world.headers,
    )
    assert backwards.status == 422


async def test_a_move_to_another_agent_tells_both_agents(
    client: Any, session: AsyncSession, world: World, create_agent: Any
) -> None:
    partner = await session.get(Partner, world.agent.partner_id)
    colleague = await create_agent(partner, name="Thomas Bonnet", email="thomas.bonnet@caf.example")
    rule = AvailabilityRule(
        agent_id=colleague.id, weekdays=[1], start=time(9), end=time(12), every_weeks=1
    )
    rule.sites, rule.motives = [world.site], []
    session.add(rule)
    await session.flush()
    body = await book(client, world)
    response = await client.post(
        f"/api/v1/appointments/{body['id']}/reschedule",
        json={"start": "2026-03-16T11:00:00+01:00", "agent_id": colleague.id},
        headers=world.headers,
    )
    assert response.status == 201, await response.text()
    new = await response.json()
    sent = (
        await session.execute(
            select(OutboxMessage.kind, OutboxMessage.recipient_email)
            .where(
                OutboxMessage.appointment_id.in_([body["id"], new["id"]]),
                OutboxMessage.status == "pending",
                OutboxMessage.kind.not_like("reminder.%"),
            )
            .order_by(OutboxMessage.id)
        )
    ).all()
    assert [tuple(row) for row in sent] == [
        ("cancelled.agent", "isabelle.delmas@caf.example"),
        ("booked.agent", "thomas.bonnet@caf.example"),
        ("rescheduled.citizen", "monique.chassang@courriel.example"),
    ]


async def test_citizens_of_other_houses_stay_out_of_reach(
    client: Any,
    world: World,
    create_site: Any,
    create_user: Any,
    bearer: Any,
    session: AsyncSession,
) -> None:
    body = await book(client, world)
    pelussin = await create_site("Pélussin", stations=1)
    rule = AvailabilityRule(
        agent_id=world.agent.id, weekdays=[2], start=time(9), end=time(12), every_weeks=1
    )
    rule.sites, rule.motives = [pelussin], []
    session.add(rule)
    await session.flush()
    other_desk = await create_user(Role.DESK, site_ids=[pelussin.id])
    headers = await bearer(other_desk)
    elsewhere = {"site_id": pelussin.id, "start": "2026-03-17T10:00:00+01:00"}
    by_id = await client.post(
        "/api/v1/appointments",
        headers=headers,
        json=booking(
            world,
            **elsewhere,
            citizen={"first_name": "x", "last_name": "y", "id": body["citizen"]["id"]},
        ),
    )
    assert by_id.status == 422
    assert "citizen.id" in (await by_id.json())["error"]["fields"]
    # Same name and phone: a new record for this house, the other one untouched.
    same = await client.post(
        "/api/v1/appointments",
        headers=headers,
        json=booking(
            world,
            **elsewhere,
            citizen={
                "first_name": "Monique",
                "last_name": "Chassang",
                "phone": "0612345678",
                "email": "autre@example.org",
            },
        ),
    )
    assert same.status == 201
    assert (await same.json())["citizen"]["id"] != body["citizen"]["id"]
    kept = await session.get(Citizen, body["citizen"]["id"])
    assert kept is not None
    await session.refresh(kept)
    assert kept.email == "monique.chassang@courriel.example"


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "/api/v1/appointments?from=9999-12-31&to=9999-12-31", None),
        ("get", "/api/v1/appointments?from=0001-01-01", None),
        ("get", "/api/v1/appointments/99999999999999999999999", None),
        ("get", "/api/v1/appointments?site_id=99999999999999999999999", None),
        ("get", "/api/v1/slots?site_id=1&motive_id=1&from=9999-12-30&to=9999-12-31", None),
        ("post", "/api/v1/appointments", {"start": "9999-12-31T23:30:00-05:00"}),
        ("post", "/api/v1/appointments", {"start": "0001-01-01T00:30:00+05:00"}),
        ("post", "/api/v1/appointments", {"site_id": 2**40}),
        ("post", "/api/v1/appointments", "[" * 200_000),
    ],
)
async def test_extreme_input_is_never_a_500(
    client: Any, world: World, method: str, path: str, payload: Any
) -> None:
    if isinstance(payload, dict):
        response = await client.post(path, json=booking(world, **payload), headers=world.headers)
    elif isinstance(payload, str):
        response = await client.post(path, data=payload, headers=world.headers)
    else:
        response = await getattr(client, method)(path, headers=world.headers)
    assert response.status in (400, 404, 422), await response.text()


async def test_list_days_are_the_sites_own_days(
    client: Any,
    session: AsyncSession,
    world: World,
    create_site: Any,
    create_user: Any,
    bearer: Any,
) -> None:
    noumea = await create_site("France Services Nouméa", timezone="Pacific/Noumea")
    station_id = await session.scalar(select(Station.id).where(Station.site_id == noumea.id))
    zone = ZoneInfo("Pacific/Noumea")
    for hour, letter in ((9, "a"), (14, "b")):
        start = datetime(2026, 3, 16, hour, tzinfo=zone)
        session.add(
            Appointment(
                site_id=noumea.id,
                station_id=station_id,
                partner_id=world.agent.partner_id,
                motive_id=world.motive.id,
                agent_id=world.agent.id,
                start_at=start,
                end_at=start + timedelta(minutes=30),
                busy_from=start,
                busy_until=start + timedelta(minutes=30),
                room="visio-" + letter * 26,
            )
        )
    await session.flush()
    headers = await bearer(await create_user(Role.DESK, site_ids=[noumea.id]))

    async def starts(day: str) -> list[str]:
        response = await client.get(
            "/api/v1/appointments", params={"from": day, "to": day}, headers=headers
        )
        return [item["start"] for item in await response.json()]

    assert await starts("2026-03-15") == []
    assert await starts("2026-03-16") == ["2026-03-16T09:00:00+11:00", "2026-03-16T14:00:00+11:00"]
    assert await starts("2026-03-17") == []


async def test_calendar_invitations_follow_the_appointment(
    client: Any, session: AsyncSession, world: World
) -> None:
    from icalendar import Calendar

    def event(ics: str | None) -> Any:
        assert ics is not None
        return Calendar.from_ical(ics).walk("VEVENT")[0]

    body = await book(client, world)
    moved = await (
        await client.post(
            f"/api/v1/appointments/{body['id']}/reschedule",
            json={"start": "2026-03-16T11:00:00+01:00"},
            headers=world.headers,
        )
    ).json()
    await client.post(f"/api/v1/appointments/{moved['id']}/cancel", json={}, headers=world.headers)
    messages = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.appointment_id.in_([body["id"], moved["id"]]),
                OutboxMessage.kind.like("%.agent"),
                OutboxMessage.kind.not_like("reminder.%"),
            )
            .order_by(OutboxMessage.id)
        )
    ).all()
    rows = [(m.kind, *(lambda w: (w.ics_method, w.ics))(content(m))) for m in messages]
    assert [(kind, method) for kind, method, _ics in rows] == [
        ("booked.agent", "REQUEST"),
        ("rescheduled.agent", "REQUEST"),
        ("cancelled.agent", "CANCEL"),
    ]
    events = [event(ics) for _kind, _method, ics in rows]
    assert len({str(e["uid"]) for e in events}) == 1  # one event in the agent's calendar
    assert [int(e["sequence"]) for e in events] == [0, 1, 2]
    assert events[1].decoded("dtstart") == datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    assert str(events[0]["organizer"]).startswith("mailto:")
    assert "isabelle.delmas@caf.example" in str(events[0]["attendee"])


async def test_reminders_follow_the_appointment(
    client: Any, session: AsyncSession, world: World
) -> None:
    body = await book(client, world)
    moved = await (
        await client.post(
            f"/api/v1/appointments/{body['id']}/reschedule",
            json={"start": "2026-03-16T11:00:00+01:00"},
            headers=world.headers,
        )
    ).json()

    async def reminders(appointment_id: int) -> list[tuple[str, str, datetime]]:
        rows = await session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.next_attempt_at)
            .where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.kind.like("reminder.%"),
            )
            .order_by(OutboxMessage.kind)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    # The old time's reminders are withdrawn, the new time's wait for 09:00 UTC.
    assert {status for _kind, status, _at in await reminders(body["id"])} == {"cancelled"}
    new = await reminders(moved["id"])
    assert [(kind, status) for kind, status, _at in new] == [
        ("reminder.agent", "pending"),
        ("reminder.citizen", "pending"),
    ]
    assert {at for _kind, _status, at in new} == {datetime(2026, 3, 16, 9, 0, tzinfo=UTC)}
    await client.post(f"/api/v1/appointments/{moved['id']}/cancel", json={}, headers=world.headers)
    assert {status for _kind, status, _at in await reminders(moved["id"])} == {"cancelled"}


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: Any, session: AsyncSession, world: World
) -> None:
    """A body past the application's limit (1 MiB) answers 413 in the error format, in the
    caller's language, and books nothing; one just under it is read and judged as usual."""
    before = await count(session, Appointment)
    padding = "x" * (MAX_BODY_BYTES + 1)
    huge = await client.post(
        "/api/v1/appointments",
        data=io.BytesIO(json.dumps(booking(world, note=padding)).encode()),
        headers={**world.headers, "Content-Type": "application/json", "Accept-Language": "en"},
    )
    assert huge.status == 413
    error = (await huge.json())["error"]
    assert error["code"] == "too_large"
    assert error["message"] == "The request is too large."
    just_under = await client.post(
        "/api/v1/appointments",
        data=io.BytesIO(json.dumps(booking(world, note="x" * (MAX_BODY_BYTES - 1000))).encode()),
        headers={**world.headers, "Content-Type": "application/json"},
    )
    assert just_under.status == 422  # read, then refused for its unknown field
    assert "note" in (await just_under.json())["error"]["fields"]
    assert await count(session, Appointment) == before


async def test_a_citizen_name_longer_than_its_column_is_refused(
    client: Any, session: AsyncSession, world: World
) -> None:
    """A citizen's names are kept in 120 characters: a longer one is refused with its field
    (PostgreSQL answered 500), nothing is booked."""
    before = await count(session, Appointment)
    citizen = {"first_name": "Monique", "last_name": "C" * 121}
    answer = await client.post(
        "/api/v1/appointments", json=booking(world, citizen=citizen), headers=world.headers
    )
    assert answer.status == 422
    assert set((await answer.json())["error"]["fields"]) == {"citizen.last_name"}
    assert await count(session, Appointment) == before
