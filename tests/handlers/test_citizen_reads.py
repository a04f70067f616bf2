"""Every page and answer that shows a citizen's name or contact details records it: one
audit entry `citizen.read` per request (who, when, which citizens by id, from which
route), and none where no citizen is shown."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    House,
    book,
    house,
    page,
    settings,
    signed_in,
)
from tests.handlers.test_pages import PASSWORD
from visio.db.models import AuditEntry, OutboxMessage, Role
from visio.services import retention

__all__ = ["house", "settings"]


async def last_entry(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0))) or 0)


async def reads_since(session: AsyncSession, after: int) -> list[AuditEntry]:
    """The `citizen.read` entries written after the entry `after`, in order."""
    found = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.id > after, AuditEntry.action == "citizen.read")
        .order_by(AuditEntry.id)
        .execution_options(populate_existing=True)
    )
    return list(found.all())


async def citizen_step(client: Any, house: House, **query: str) -> str:
    """The booking's citizen screen (step 3) for the first free time, with `query`."""
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    times = await page(client, "/desk/book/slots?" + urlencode(ids))
    chosen = re.search(r'name="slot" value="([^"]+)"', times)
    assert chosen is not None
    return "/desk/book/citizen?" + urlencode({**ids, "slot": unescape(chosen.group(1)), **query})


async def two_booked(client: Any, house: House) -> tuple[dict[str, Any], dict[str, Any]]:
    monique = await book(client, house)
    jean = await book(client, house, start="2026-03-16T11:00:00+01:00", last_name="Rigal")
    return monique, jean


async def test_an_appointment_page_records_who_saw_whom_and_from_where(
    client: Any, session: AsyncSession, house: House
) -> None:
    booked = await book(client, house)
    citizen_id = booked["citizen"]["id"]
    await signed_in(client, house.desk)
    start = await last_entry(session)
    response = await client.get(f"/appointments/{booked['id']}")
    assert response.status == 200 and "Monique Chassang" in await response.text()
    [entry] = await reads_since(session, start)
    assert (entry.user_id, entry.entity, entry.entity_id) == (house.desk.id, "citizen", citizen_id)
    assert entry.details == {"citizen_ids": [citizen_id], "route": "appointment_page"}
    assert entry.request_id == response.headers.get("X-Request-Id")


async def test_the_api_records_each_answer_that_shows_citizens(
    client: Any, session: AsyncSession, house: House
) -> None:
    monique, jean = await two_booked(client, house)
    both = sorted([monique["citizen"]["id"], jean["citizen"]["id"]])
    asked = [
        (f"/api/v1/appointments/{monique['id']}", "api_appointment", [monique["citizen"]["id"]]),
        ("/api/v1/appointments?from=2026-03-16&to=2026-03-16", "api_appointments", both),
        ("/api/v1/citizens?q=rigal", "api_citizens", [jean["citizen"]["id"]]),
    ]
    for path, route, citizen_ids in asked:
        start = await last_entry(session)
        response = await client.get(path, headers=house.headers)
        assert response.status == 200, await response.text()
        [entry] = await reads_since(session, start)  # one entry a request, however many rows
        assert entry.details == {"citizen_ids": citizen_ids, "route": route}
        assert entry.user_id == house.desk.id
        assert entry.entity_id == (citizen_ids[0] if len(citizen_ids) == 1 else None)
    # Nobody found, nobody shown: nothing recorded.
    start = await last_entry(session)
    response = await client.get("/api/v1/citizens?q=personne", headers=house.headers)
    assert response.status == 200 and await response.json() == []
    assert await reads_since(session, start) == []


async def test_the_pages_that_name_citizens_record_it(
    client: Any, session: AsyncSession, house: House
) -> None:
    monique, jean = await two_booked(client, house)
    both = sorted([monique["citizen"]["id"], jean["citizen"]["id"]])
    one = [monique["citizen"]["id"]]
    seen_by_desk = [
        ("/desk", "desk", both),
        ("/desk?day=2026-03-16", "desk", both),
        ("/desk/week", "desk_week", both),
        (f"/appointments/{monique['id']}/confirmation", "confirmation", one),
        (f"/appointments/{monique['id']}/join/station", "join_station", one),
    ]
    await signed_in(client, house.desk)
    search = await citizen_step(client, house, q="chassang")
    seen_by_desk.append((search, "desk_book_citizen", one))
    picked = search.replace("/citizen?", "/summary?") + f"&citizen_id={one[0]}"
    seen_by_desk.append((picked, "desk_book_summary", one))
    for path, route, citizen_ids in seen_by_desk:
        start = await last_entry(session)
        await page(client, path)
        [entry] = await reads_since(session, start)
        assert (entry.details, entry.user_id) == (
            {"citizen_ids": citizen_ids, "route": route}, house.desk.id,
        ), path  # fmt: skip
    await signed_in(client, house.agent_user)
    for path, route, citizen_ids in [
        ("/agenda", "agenda", both),
        (f"/appointments/{monique['id']}/join/agent", "join_agent", one),
    ]:
        start = await last_entry(session)
        await page(client, path)
        [entry] = await reads_since(session, start)
        assert (entry.details, entry.user_id) == (
            {"citizen_ids": citizen_ids, "route": route}, house.agent_user.id,
        ), path  # fmt: skip


async def test_a_page_without_citizens_records_nothing(
    client: Any, session: AsyncSession, house: House, clock: Clock
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    start = await last_entry(session)
    await page(client, "/desk?day=2026-03-17")  # nobody booked that day
    await page(client, await citizen_step(client, house, q="x"))  # too short to search
    await page(client, await citizen_step(client, house, q="personne"))  # nobody found
    assert await reads_since(session, start) == []
    # Once erased, the appointment's page shows no one, and records no one.
    cancelled = await client.post(
        f"/api/v1/appointments/{booked['id']}/cancel", json={}, headers=house.headers
    )
    assert cancelled.status == 200
    await retention.erase_citizen(session, booked["citizen"]["id"], actor_id=None, now=clock())
    await session.commit()
    html = await page(client, f"/appointments/{booked['id']}")
    assert "Chassang" not in html
    assert await reads_since(session, start) == []


async def test_the_audit_log_lists_the_reads_in_the_reader_language(
    client: Any, house: House, create_user: Any
) -> None:
    booked = await book(client, house)
    await signed_in(client, house.desk)
    await page(client, f"/appointments/{booked['id']}")
    for locale, label, group in (
        ("fr", "Détails d&#39;un usager consultés", "Données personnelles des usagers"),
        ("en", "Citizen&#39;s details seen", "Citizens&#39; personal data"),
    ):
        admin = await create_user(
            Role.ADMIN, email=f"admin-{locale}@visio.example", locale=locale, password=PASSWORD
        )
        await signed_in(client, admin)
        html = await page(client, "/admin/audit?action=citizen")
        assert label in html and group in html, locale
        assert "appointment_page" in html  # the route it was seen from


async def test_the_station_and_the_outbox_record_what_they_show(
    client: Any, session: AsyncSession, house: House, create_user: Any, clock: Clock
) -> None:
    citizen = {"first_name": "Monique", "last_name": "Chassang",
               "email": "monique.chassang@courriel.example"}  # fmt: skip
    booked = await book(client, house, citizen=citizen)
    citizen_id = booked["citizen"]["id"]
    await signed_in(client, house.desk)
    start = await last_entry(session)
    await page(client, f"/station/{booked['station_id']}")
    [entry] = await reads_since(session, start)
    assert entry.details == {"citizen_ids": [citizen_id], "route": "station"}

    admin = await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    await signed_in(client, admin)
    start = await last_entry(session)
    html = await page(client, "/admin/outbox")
    assert "monique.chassang@courriel.example" in html
    [entry] = await reads_since(session, start)
    assert (entry.details, entry.user_id) == (
        {"citizen_ids": [citizen_id], "route": "admin_outbox"}, admin.id,
    )  # fmt: skip
    message_id = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.kind == "booked.agent")
    )
    start = await last_entry(session)
    await page(client, f"/admin/outbox/{message_id}")  # the agent's, naming the citizen
    [entry] = await reads_since(session, start)
    assert entry.details == {"citizen_ids": [citizen_id], "route": "admin_outbox_message"}
