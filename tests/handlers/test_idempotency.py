"""Safe retries: a booking or a move sent again with the same `Idempotency-Key` (the API)
or the same form (the booking pages draw a key into it) is done once and answered as the
first time, never refused for its own booking; a key reused for something else, or not a
key, is refused clearly and nothing is written."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Clock
from tests.handlers.conftest import World, booking
from tests.handlers.test_booking_pages import hidden_fields, slot_value
from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    House,
    house,
    page,
    settings,
    signed_in,
)
from tests.handlers.test_pages import form_token
from tests.test_concurrency import SECRET, seed
from tests.test_concurrency import body as concurrent_body
from visio.app import create_app
from visio.db.engine import make_engine
from visio.db.models import (
    Appointment,
    AppointmentStatus,
    Citizen,
    IdempotencyKey,
    OutboxMessage,
    Role,
)
from visio.settings import Settings

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests

KEY = "5d0c3f8e-2b7a-4c1e-9a64-0f3e8d21b7c5"
REPLAYED = "Idempotent-Replayed"


async def count(session: AsyncSession, model: Any) -> int:
    await session.flush()
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def written(session: AsyncSession) -> tuple[int, int, int, int]:
    """Appointments, citizens, messages to send and keys held."""
    return (
        await count(session, Appointment),
        await count(session, Citizen),
        await count(session, OutboxMessage),
        await count(session, IdempotencyKey),
    )


async def post(client: Any, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.post(path, json=body, headers=headers)
    await response.read()
    return response


# ---------------------------------------------------------------- the API


async def test_a_booking_sent_twice_is_made_once_and_answered_the_same(
    client: Any, session: AsyncSession, world: World
) -> None:
    headers = {**world.headers, "Idempotency-Key": KEY}
    first = await post(client, "/api/v1/appointments", booking(world), headers)
    assert first.status == 201, await first.text()
    assert REPLAYED not in first.headers
    created = await first.json()
    assert first.headers["Location"] == f"/api/v1/appointments/{created['id']}"
    before = await written(session)
    assert before == (1, 1, 4, 1)  # the booking, its citizen, two emails and two reminders

    # The answer was lost; the client sends the very same request again.
    second = await post(client, "/api/v1/appointments", booking(world), headers)
    assert second.status == 201
    assert second.headers[REPLAYED] == "true"
    assert await second.read() == await first.read()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]
    assert await written(session) == before


async def test_the_same_fields_in_another_order_are_the_same_booking(
    client: Any, session: AsyncSession, world: World
) -> None:
    headers = {**world.headers, "Idempotency-Key": KEY}
    first = await post(client, "/api/v1/appointments", booking(world), headers)
    reordered = dict(reversed(list(booking(world).items())))
    second = await post(client, "/api/v1/appointments", reordered, headers)
    assert (first.status, second.status) == (201, 201)
    assert second.headers[REPLAYED] == "true"
    assert await second.read() == await first.read()
    assert await count(session, Appointment) == 1


async def test_a_key_reused_for_another_request_is_refused_and_nothing_written(
    client: Any, session: AsyncSession, world: World
) -> None:
    headers = {**world.headers, "Idempotency-Key": KEY}
    first = await post(client, "/api/v1/appointments", booking(world), headers)
    assert first.status == 201
    before = await written(session)

    eleven = booking(world, start="2026-03-16T11:00:00+01:00")
    refused = await post(client, "/api/v1/appointments", eleven, headers)
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    assert set(error["fields"]) == {"Idempotency-Key"}
    assert "24 heures" in error["message"]
    english = await post(
        client, "/api/v1/appointments", eleven, {**headers, "Accept-Language": "en"}
    )
    assert (await english.json())["error"]["message"] == (
        "This key was already used for a different request in the last 24 hours: "
        "send a new key with each new request."
    )
    # The same key on another path (moving the appointment) is another request too.
    moved = await post(
        client, f"/api/v1/appointments/{(await first.json())['id']}/reschedule",
        {"start": "2026-03-16T11:00:00+01:00"}, headers,
    )  # fmt: skip
    assert moved.status == 422
    assert (await moved.json())["error"]["code"] == "idempotency_key_reused"
    assert await written(session) == before
    # The first request sent again still gets its answer.
    again = await post(client, "/api/v1/appointments", booking(world), headers)
    assert again.status == 201 and again.headers[REPLAYED] == "true"


async def test_keys_are_per_user(
    client: Any, session: AsyncSession, world: World, create_user: Any, bearer: Any
) -> None:
    colleague = await create_user(Role.DESK, name="Paul Ternes", site_ids=[world.site.id])
    theirs = {**await bearer(colleague), "Idempotency-Key": KEY}
    ours = {**world.headers, "Idempotency-Key": KEY}
    first = await post(client, "/api/v1/appointments", booking(world), ours)
    assert first.status == 201
    # The colleague's key of the same name is not ours: the same request is theirs to make
    # (the slot is taken: 409, not our answer)…
    same = await post(client, "/api/v1/appointments", booking(world), theirs)
    assert same.status == 409 and REPLAYED not in same.headers
    assert (await same.json())["error"]["code"] == "slot_unavailable"
    # …and another request with it is a new booking, not a key reused.
    eleven = booking(world, start="2026-03-16T11:00:00+01:00")
    other = await post(client, "/api/v1/appointments", eleven, theirs)
    assert other.status == 201 and REPLAYED not in other.headers
    assert (await other.json())["id"] != (await first.json())["id"]
    assert await count(session, Appointment) == 2


async def test_a_key_is_forgotten_after_24_hours(
    client: Any, session: AsyncSession, world: World, clock: Clock
) -> None:
    headers = {**world.headers, "Idempotency-Key": KEY}
    first = await post(client, "/api/v1/appointments", booking(world), headers)
    created = await first.json()
    cancelled = await post(
        client, f"/api/v1/appointments/{created['id']}/cancel", {"reason": "test"}, world.headers
    )
    assert cancelled.status == 200
    # Within 24 hours the same request is answered as the first time (booked), even now
    # that the appointment is cancelled: it is the answer that request got.
    clock.advance(timedelta(hours=23, minutes=59))
    again = await post(client, "/api/v1/appointments", booking(world), headers)
    assert again.status == 201 and again.headers[REPLAYED] == "true"
    assert (await again.json())["status"] == "booked"
    # A day later the key is forgotten: the same request is a new booking.
    clock.advance(timedelta(minutes=1))
    later = await post(client, "/api/v1/appointments", booking(world), headers)
    assert later.status == 201, await later.text()
    assert REPLAYED not in later.headers
    assert (await later.json())["id"] != created["id"]
    assert await count(session, Appointment) == 2
    assert await count(session, IdempotencyKey) == 1


async def test_a_refusal_is_not_kept_the_request_sent_again_is_asked_again(
    client: Any, session: AsyncSession, world: World
) -> None:
    taken = await post(client, "/api/v1/appointments", booking(world), world.headers)
    headers = {**world.headers, "Idempotency-Key": KEY}
    mine = booking(world, citizen={"first_name": "Jean", "last_name": "Rigal"})
    refused = await post(client, "/api/v1/appointments", mine, headers)
    assert refused.status == 409
    assert await count(session, IdempotencyKey) == 0
    # The slot is freed; the same request with the same key now books.
    await post(
        client, f"/api/v1/appointments/{(await taken.json())['id']}/cancel", {}, world.headers
    )
    booked = await post(client, "/api/v1/appointments", mine, headers)
    assert booked.status == 201 and REPLAYED not in booked.headers
    assert (await booked.json())["citizen"]["last_name"] == "Rigal"


async def test_a_move_sent_twice_moves_once(
    client: Any, session: AsyncSession, world: World
) -> None:
    created = await (
        await post(client, "/api/v1/appointments", booking(world), world.headers)
    ).json()
    path = f"/api/v1/appointments/{created['id']}/reschedule"
    headers = {**world.headers, "Idempotency-Key": KEY}
    eleven = {"start": "2026-03-16T11:00:00+01:00"}
    first = await post(client, path, eleven, headers)
    assert first.status == 201, await first.text()
    moved = await first.json()
    assert moved["rescheduled_from_id"] == created["id"]
    assert first.headers["Location"] == f"/api/v1/appointments/{moved['id']}"
    second = await post(client, path, eleven, headers)
    assert second.status == 201 and second.headers[REPLAYED] == "true"
    assert await second.read() == await first.read()
    assert second.headers["Location"] == first.headers["Location"]
    assert await count(session, Appointment) == 2
    statuses = (await session.execute(select(Appointment.status).order_by(Appointment.id))).all()
    assert [row[0] for row in statuses] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]
    # Without the key, the same move again is refused: the appointment moved already.
    without = await post(client, path, eleven, world.headers)
    assert without.status == 409


@pytest.mark.parametrize("key", ["", "two words", "k" * 256])
async def test_a_bad_key_is_refused_clearly_and_nothing_written(
    client: Any, session: AsyncSession, world: World, key: str
) -> None:
    headers = {**world.headers, "Idempotency-Key": key, "Accept-Language": "en"}
    refused = await post(client, "/api/v1/appointments", booking(world), headers)
    assert refused.status == 422
    error = (await refused.json())["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {
        "Idempotency-Key": "A key is 1 to 255 visible ASCII characters (letters, digits, "
        "punctuation; no spaces), a new one for each new request."
    }
    assert await written(session) == (0, 0, 0, 0)


async def test_the_header_is_in_the_openapi_document(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/appointments", "/api/v1/appointments/{id}/reschedule"):
        operation = document["paths"][path]["post"]
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == "Idempotency-Key" and header["required"] is False
        assert header["schema"] == {
            "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"
        }  # fmt: skip
        assert {"Location", REPLAYED} <= set(operation["responses"]["201"]["headers"])
    cancel = document["paths"]["/api/v1/appointments/{id}/cancel"]["post"]
    assert all(p["in"] != "header" for p in cancel.get("parameters", []))


async def test_the_same_booking_sent_at_once_is_made_once(
    aiohttp_server: Any, scratch_url: str
) -> None:
    """Five copies of one booking with one key, at once, against a real server whose
    transactions commit: one booking; every copy gets its answer, all but one replayed."""
    engine = make_engine(scratch_url)
    try:
        world = await seed(engine, stations=2, agents=1)
        server = await aiohttp_server(
            create_app(Settings(database_url=scratch_url, secret_key=SECRET))
        )
        url = str(server.make_url("/api/v1/appointments"))
        headers = {"Authorization": f"Bearer {world['token']}", "Idempotency-Key": KEY}
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as http:

            async def one() -> tuple[int, bytes, str | None]:
                body = concurrent_body(world, 1)
                async with http.post(url, json=body, headers=headers) as response:
                    return (response.status, await response.read(),
                            response.headers.get(REPLAYED))  # fmt: skip

            answers = await asyncio.gather(*(one() for _ in range(5)))
        assert Counter(status for status, _body, _replayed in answers) == Counter({201: 5})
        assert len({body for _status, body, _replayed in answers}) == 1
        assert sorted(str(replayed) for _s, _b, replayed in answers) == ["None"] + ["true"] * 4
        async with engine.connect() as connection:
            booked = await connection.scalar(select(func.count()).select_from(Appointment))
        assert booked == 1
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the booking pages


async def summary_of(client: Any, house: House, last_name: str = "Brun") -> str:
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    chosen = slot_value(await page(client, "/desk/book/slots?" + urlencode(ids)))
    citizen = {"first_name": "Paul", "last_name": last_name}
    return await page(client, "/desk/book/summary?" + urlencode({**ids, "slot": chosen, **citizen}))


async def test_the_summary_draws_a_new_key_each_time_it_is_shown(client: Any, house: House) -> None:
    await signed_in(client, house.desk)
    first = hidden_fields(await summary_of(client, house), "/desk/book")
    second = hidden_fields(await summary_of(client, house), "/desk/book")
    assert re.fullmatch(r"[\w-]{32}", first["idempotency_key"])
    assert first["idempotency_key"] != second["idempotency_key"]


async def test_the_booking_form_sent_again_later_books_once(
    client: Any, session: AsyncSession, house: House, clock: Clock
) -> None:
    """The browser sends the confirmed form again a quarter of an hour later (a retry
    after a lost answer, a tab restored): the same confirmation, one booking."""
    await signed_in(client, house.desk)
    carried = hidden_fields(await summary_of(client, house), "/desk/book")
    first = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert first.status == 303 and REPLAYED not in first.headers
    clock.advance(timedelta(minutes=15))
    second = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert second.status == 303 and second.headers[REPLAYED] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert re.fullmatch(r"/appointments/\d+/confirmation\?booked=1", first.headers["Location"])
    confirmation = await page(client, second.headers["Location"])
    assert "Le rendez-vous est réservé." in confirmation and "Paul Brun" in confirmation
    assert await count(session, Appointment) == 1
    assert await session.scalar(select(func.count()).where(Citizen.last_name == "Brun")) == 1


async def test_a_booking_form_changed_under_its_key_is_refused(
    client: Any, session: AsyncSession, house: House
) -> None:
    await signed_in(client, house.desk)
    carried = hidden_fields(await summary_of(client, house), "/desk/book")
    first = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert first.status == 303
    changed = {**carried, "last_name": "Vidal"}
    refused = await client.post("/desk/book", data=changed, allow_redirects=False)
    assert refused.status == 422
    assert "24 heures" in await refused.text()
    bad = await client.post(
        "/desk/book", data={**carried, "idempotency_key": "pas une clé"}, allow_redirects=False
    )
    assert bad.status == 422
    assert "255" in await bad.text()
    assert await count(session, Appointment) == 1
    assert await session.scalar(select(func.count()).where(Citizen.last_name == "Vidal")) == 0


async def test_the_move_form_sent_twice_moves_once(
    client: Any, session: AsyncSession, house: House
) -> None:
    from tests.handlers.test_meeting_pages import book

    booked = await book(client, house)
    await signed_in(client, house.desk)
    path = f"/appointments/{booked['id']}"
    link = re.search(r'href="(/desk/book/slots\?[^"]+)"', await page(client, path))
    assert link
    times = await page(client, link.group(1).replace("&amp;", "&"))
    carried = hidden_fields(times, f"{path}/move")
    assert carried["csrf_token"] == form_token(times) and carried["idempotency_key"]
    chosen = slot_value(times, "2026-03-16T11:30:00+01:00")
    form = {**carried, "slot": chosen}
    first = await client.post(f"{path}/move", data=form, allow_redirects=False)
    second = await client.post(f"{path}/move", data=form, allow_redirects=False)
    assert (first.status, second.status) == (303, 303)
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith("?done=moved")
    assert second.headers[REPLAYED] == "true"
    moved = await page(client, second.headers["Location"])
    assert "Le rendez-vous est déplacé" in moved and "11:30 – 12:00" in moved
    statuses = (await session.execute(select(Appointment.status).order_by(Appointment.id))).all()
    assert [row[0] for row in statuses] == [AppointmentStatus.CANCELLED, AppointmentStatus.BOOKED]
