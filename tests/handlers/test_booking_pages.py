"""The desk books in the browser's four screens, without JavaScript: house and motive, a
free time with its agent, the citizen (found again or new), the summary; then the
printable confirmation. Bad input comes back beside its field, a slot taken meanwhile
back to the times, and nothing typed is lost."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import time
from html import unescape
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.test_meeting_pages import (  # the house fixture, its settings, its helpers
    House,
    add_rule,
    book,
    house,
    page,
    settings,
    signed_in,
)
from tests.handlers.test_pages import form_token
from visio.db.models import Agent, Appointment, Citizen, OutboxMessage

__all__ = ["house", "settings"]  # fixtures used here, defined beside the desk's day tests

# Monday 16 March 2026 in Murat, 11:00 (UTC+1): a time Isabelle Delmas holds free.
ELEVEN = "2026-03-16T11:00:00+01:00"


def slot_value(html: str, time: str = ELEVEN) -> str:
    """The radio value of the slot starting at `time` on the times screen."""
    found = re.search(rf'value="({re.escape(time)}\|\d*\|\d*)"', html)
    assert found, f"no slot at {time}"
    return found.group(1)


def hidden_fields(html: str, form_action: str) -> dict[str, str]:
    """The hidden fields of the form posting or going to `form_action`."""
    form = html[html.index(f'action="{form_action}"') :]
    form = form[: form.index("</form>")]
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
    }


async def test_a_new_citizen_is_booked_in_four_screens(
    client: Any, session: AsyncSession, house: House
) -> None:
    house.motive.documents = ["Numéro d'allocataire"]
    await session.flush()
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}

    start = await page(client, "/desk/book")
    assert f'<option value="{house.site.id}" selected>France Services Murat</option>' in start
    assert '<optgroup label="Caisse d&#39;allocations familiales">' in start
    assert "Prime d&#39;activité (30 minutes)" in start
    assert 'aria-current="step"' in start

    times = await page(client, "/desk/book/slots?" + urlencode(ids))
    assert (
        "France Services Murat · Caisse d&#39;allocations familiales · Prime d&#39;activité"
        in times
    )
    assert "lundi 16 mars 2026" in times and "1 agent libre" in times
    chosen = slot_value(times)

    who = await page(client, "/desk/book/citizen?" + urlencode({**ids, "slot": chosen}))
    assert 'id="first_name"' in who and 'autocomplete="family-name"' in who
    citizen = {"first_name": "Monique", "last_name": "Chassang", "phone": "06 12 34 56 78"}
    summary = await page(
        client, "/desk/book/summary?" + urlencode({**ids, "slot": chosen, **citizen})
    )
    assert "Monique Chassang" in summary and "lundi 16 mars 2026, 11:00" in summary
    assert "Numéro d&#39;allocataire" in summary and "(un agent libre à cette heure)" in summary

    carried = hidden_fields(summary, "/desk/book")
    assert carried["slot"] == chosen and carried["last_name"] == "Chassang"
    response = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert response.status == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/appointments/\d+/confirmation\?booked=1", location)
    printed = await page(client, location)
    assert "Le rendez-vous est réservé." in printed and "10 minutes en avance" in printed
    booked = await session.scalar(select(Appointment).order_by(Appointment.id.desc()).limit(1))
    assert booked is not None and booked.agent_id == house.agent_id
    assert booked.start_at.isoformat() == "2026-03-16T10:00:00+00:00"


async def test_a_time_two_agents_hold_is_offered_once_and_booked_with_either(
    client: Any,
    session: AsyncSession,
    house: House,
    create_agent: Callable[..., Awaitable[Agent]],
) -> None:
    """Thomas Bonnet holds the same mornings as Isabelle Delmas: each time is one choice,
    "2 agents free"; the booking picks one, whom the confirmation names."""
    thomas = await create_agent(house.partner, name="Thomas Bonnet", email="thomas@caf.example")
    await add_rule(session, thomas.id, house.site, start=time(9), end=time(11))
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}

    times = await page(client, "/desk/book/slots?" + urlencode(ids))
    assert times.count('value="2026-03-16T10:00:00+01:00|') == 1
    assert 'value="2026-03-16T10:00:00+01:00||"' in times and "2 agents libres" in times
    assert 'value="2026-03-16T11:00:00+01:00||"' in times and "1 agent libre" in times
    both = "2026-03-16T10:00:00+01:00||"
    summary = await page(
        client, "/desk/book/summary?"
        + urlencode({**ids, "slot": both, "first_name": "Jean", "last_name": "Vidal"}),
    )  # fmt: skip
    assert "un agent libre à cette heure" in summary

    response = await client.post(
        "/desk/book", data=hidden_fields(summary, "/desk/book"), allow_redirects=False
    )
    assert response.status == 303
    booked = await session.scalar(select(Appointment).order_by(Appointment.id.desc()).limit(1))
    assert booked is not None and booked.agent_id in (house.agent_id, thomas.id)
    printed = await page(client, response.headers["Location"])
    assert ("Isabelle Delmas" if booked.agent_id == house.agent_id else "Thomas Bonnet") in printed


async def test_a_known_citizen_is_found_and_picked(
    client: Any, session: AsyncSession, house: House
) -> None:
    await book(client, house, citizen={"first_name": "Jean", "last_name": "Vidal",
                                       "email": "jean.vidal@courriel.example"})  # fmt: skip
    citizens_before = await session.scalar(select(func.count(Citizen.id)))
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    chosen = slot_value(await page(client, "/desk/book/slots?" + urlencode(ids)))
    who = await page(client, "/desk/book/citizen?" + urlencode({**ids, "slot": chosen, "q": "vid"}))
    picked = re.search(r'name="citizen_id" value="(\d+)"', who)
    assert picked and "Jean Vidal · jean.vidal@courriel.example" in who
    summary = await page(
        client,
        "/desk/book/summary?" + urlencode({**ids, "slot": chosen, "citizen_id": picked.group(1)}),
    )
    assert "Jean Vidal · jean.vidal@courriel.example" in summary
    response = await client.post(
        "/desk/book", data=hidden_fields(summary, "/desk/book"), allow_redirects=False
    )
    assert response.status == 303
    assert await session.scalar(select(func.count(Citizen.id))) == citizens_before


async def test_bad_citizen_fields_come_back_beside_their_field(client: Any, house: House) -> None:
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    chosen = slot_value(await page(client, "/desk/book/slots?" + urlencode(ids)))
    typed = {"first_name": "Monique", "last_name": "", "email": "monique@", "phone": "0612"}
    response = await client.get("/desk/book/summary?" + urlencode({**ids, "slot": chosen, **typed}))
    assert response.status == 422
    html = await response.text()
    assert 'role="alert"' in html and "Des champs sont à corriger" in html
    for name in ("last_name", "email", "phone"):
        assert f'id="error-{name}"' in html and f'aria-describedby="error-{name}"' in html
    assert "Adresse électronique invalide." in html
    # What was typed is kept, and the chosen time too.
    assert 'value="Monique"' in html and 'value="monique@"' in html
    assert hidden_fields(html, "/desk/book/summary")["slot"] == chosen


async def test_a_slot_taken_meanwhile_goes_back_to_the_times(
    client: Any, session: AsyncSession, house: House
) -> None:
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    chosen = slot_value(await page(client, "/desk/book/slots?" + urlencode(ids)))
    citizen = {"first_name": "Lucie", "last_name": "Rigal", "email": "lucie@courriel.example"}
    summary = await page(
        client, "/desk/book/summary?" + urlencode({**ids, "slot": chosen, **citizen})
    )
    # Another desk takes the only agent free at 11:00 first.
    await book(client, house, start=ELEVEN)
    appointments_before = await session.scalar(select(func.count(Appointment.id)))

    carried = hidden_fields(summary, "/desk/book")
    response = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert response.status == 409
    html = await response.text()
    assert "Ce créneau a été pris entre-temps" in html and 'name="slot"' in html
    kept = hidden_fields(html, "/desk/book/citizen")
    assert kept["last_name"] == "Rigal" and kept["email"] == "lucie@courriel.example"
    assert "slot" not in kept
    assert await session.scalar(select(func.count(Appointment.id))) == appointments_before
    # Lucie was new: no record of her stays from the refused booking.
    assert await session.scalar(select(func.count()).where(Citizen.last_name == "Rigal")) == 0


async def test_a_confirmation_sent_twice_books_once(
    client: Any, session: AsyncSession, house: House
) -> None:
    """A double click or a reload of the confirmation shows the first booking."""
    await signed_in(client, house.desk)
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    chosen = slot_value(await page(client, "/desk/book/slots?" + urlencode(ids)))
    summary = await page(
        client,
        "/desk/book/summary?"
        + urlencode({**ids, "slot": chosen, "first_name": "Paul", "last_name": "Brun"}),
    )
    carried = hidden_fields(summary, "/desk/book")
    first = await client.post("/desk/book", data=carried, allow_redirects=False)
    second = await client.post("/desk/book", data=carried, allow_redirects=False)
    assert first.status == second.status == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert await session.scalar(select(func.count()).where(Citizen.last_name == "Brun")) == 1
    assert await session.scalar(select(func.count(Appointment.id))) == 1


async def test_another_house_or_a_bad_choice_is_refused(
    client: Any, house: House, create_site: Any
) -> None:
    elsewhere = await create_site("France Services Pélussin")
    await signed_in(client, house.desk)
    other = {"site_id": elsewhere.id, "motive_id": house.motive.id}
    assert (await client.get("/desk/book/slots?" + urlencode(other))).status == 404
    assert (await client.get("/desk/book/slots?site_id=x&motive_id=1")).status == 400
    ids = {"site_id": house.site.id, "motive_id": house.motive.id}
    bad_slot = await client.get("/desk/book/citizen?" + urlencode({**ids, "slot": "demain|1|1"}))
    assert bad_slot.status == 400
    start = await page(client, "/desk/book")
    no_token = await client.post("/desk/book", data={**ids, "slot": "x"})
    assert no_token.status == 400
    assert form_token(start)


async def test_only_the_desk_and_admins_book_in_the_browser(client: Any, house: House) -> None:
    await signed_in(client, house.agent_user)
    assert (await client.get("/desk/book", allow_redirects=False)).status == 403


async def test_the_desk_sends_the_confirmation_by_email(
    client: Any, session: AsyncSession, house: House
) -> None:
    """Beside the print button, "send by email" when the citizen gave an address: the
    citizen's confirmation (with its calendar invitation) is queued once more, for them
    only; no button without an address."""
    jean = {"first_name": "Jean", "last_name": "Vidal", "email": "jean.vidal@courriel.example"}
    with_email = await book(client, house, citizen=jean)
    without = await book(client, house, start=ELEVEN, last_name="Rigal")
    await signed_in(client, house.desk)
    path = f"/appointments/{with_email['id']}/confirmation"
    html = await page(client, path)
    assert "L'envoyer par courriel à jean.vidal@courriel.example" in html
    assert "par courriel" not in await page(client, f"/appointments/{without['id']}/confirmation")

    before = await session.scalar(select(func.count(OutboxMessage.id)))
    response = await client.post(
        f"{path}/send", data={"csrf_token": form_token(html)}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == f"{path}?sent=1"
    queued = (
        await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    ).one()
    assert await session.scalar(select(func.count(OutboxMessage.id))) == before + 1
    assert queued.kind == "booked.citizen"
    assert queued.recipient_email == "jean.vidal@courriel.example"
    assert "Envoyée à jean.vidal@courriel.example." in await page(client, f"{path}?sent=1")

    refused = await client.post(
        f"/appointments/{without['id']}/confirmation/send", data={"csrf_token": form_token(html)}
    )
    assert refused.status == 409
    assert "n&#39;a pas donné d&#39;adresse électronique" in await refused.text()
    expired = await client.post(f"{path}/send", data={"csrf_token": "x"})
    assert expired.status == 400
    await signed_in(client, house.agent_user)
    token = form_token(await page(client, "/"))
    assert (await client.post(f"{path}/send", data={"csrf_token": token})).status == 404
    assert await session.scalar(select(func.count(OutboxMessage.id))) == before + 1
