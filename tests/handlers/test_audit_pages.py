"""The audit log for administrators: the page (`/admin/audit`) and the JSON API
(`GET /api/v1/audit`), filtered by who, what, which record and which days (the
administrator's days, in visio's zone), newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import World
from tests.handlers.test_pages import PASSWORD, sign_in
from visio.db.models import AuditEntry, Role, User

ADMIN = "root@visio.example"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


class Log:
    """A few changes: an admin's, a desk's, the command line's, visio's, an unknown one."""

    def __init__(self, admin: User, desk: User, headers: dict[str, str]) -> None:
        self.admin, self.desk, self.headers = admin, desk, headers

    def entries(self) -> list[AuditEntry]:
        return [
            AuditEntry(at=at(10, 9), user_id=self.admin.id, action="agent.change",
                       entity="agent", entity_id=7, details={"name": "Isabelle Delmas"}),
            AuditEntry(at=at(11, 10), user_id=self.desk.id, action="appointment.book",
                       entity="appointment", entity_id=41, details={"site_id": 3}),
            # 00:30 on 12 March in Paris: a change of the 12th for the administrator.
            AuditEntry(at=at(11, 23, 30), user_id=None, action="user.create", entity="user",
                       entity_id=self.desk.id, details={"role": "desk", "site_ids": [3, 4]}),
            AuditEntry(at=at(12, 8), user_id=None, action="site.change", entity="site",
                       entity_id=3, details={}),
            AuditEntry(at=at(12, 9), user_id=self.admin.id, action="station.change",
                       entity="station", entity_id=5, details={"active": None}),
            AuditEntry(at=at(12, 10), user_id=self.admin.id, action="mystery.thing",
                       entity="gadget", entity_id=None, details={}),
        ]  # fmt: skip


@pytest.fixture
async def log(world: World, create_user: Any, bearer: Any, session: AsyncSession) -> Log:
    admin = await create_user(Role.ADMIN, email=ADMIN, name="Rose Admin", password=PASSWORD)
    made = Log(admin, world.desk, await bearer(admin))
    # Only these entries: not those of the tokens made for the test. On PostgreSQL the log
    # refuses a delete but its purge's, of entries older than the instant it names: the
    # test names one past them all (its transaction is rolled back afterwards).
    if session.bind.dialect.name == "postgresql":
        await session.execute(
            text("SELECT set_config('visio.audit_purge_before', '9999-01-01', true)")
        )
    await session.execute(delete(AuditEntry))
    session.add_all(made.entries())
    await session.flush()
    return made


async def page(client: Any, **query: str) -> tuple[int, str]:
    response = await client.get("/admin/audit", params=query)
    return response.status, unescape(await response.text())


def rows(html: str) -> list[str]:
    """The table's rows, as text between their tags (the header aside)."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [row for row in body.split("<tr>")[1:]]


async def test_the_log_newest_first_with_who_what_and_which_record(client: Any, log: Log) -> None:
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303
    status, html = await page(client)
    assert status == 200
    assert "6 modifications" in html
    found = rows(html)
    assert len(found) == 6
    # Newest first; the time in Paris, in French.
    assert "12 mars 2026, 11:00:00" in found[0] and "mystery.thing" in found[0]
    assert "10 mars 2026, 10:00:00" in found[5]
    # Who: a person's name and email, else the command line or visio itself.
    assert "Rose Admin" in found[5] and ADMIN in found[5]
    assert "Agnès Chastel" in found[4]
    assert "ligne de commande" in found[3] and "12 mars 2026, 00:30:00" in found[3]
    assert "système" in found[2]
    # What: a label, and its code.
    assert "Agent modifié" in found[5] and "agent.change" in found[5]
    assert "Rendez-vous pris" in found[4]
    # Which record, linked to its page when there is one.
    assert '<a href="/appointments/41">Rendez-vous n° 41</a>' in found[4]
    assert "Poste n° 5" in found[1] and "href=" not in found[1].split("Poste n° 5")[0][-40:]
    assert "gadget" in found[0]
    if "admin_agent" not in client.app.router.named_resources():
        assert "<a href" not in found[5].split("Agent n° 7")[0][-60:]
    # The details.
    assert "<dt>name</dt><dd>Isabelle Delmas</dd>" in found[5]
    assert "<dt>site_ids</dt><dd>3, 4</dd>" in found[3]
    assert "<dt>active</dt><dd>—</dd>" in found[1]


async def test_filters_by_who_what_record_and_days(client: Any, log: Log) -> None:
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303

    _status, html = await page(client, who="CHASTEL")
    assert "1 modification<" in html and "Rendez-vous pris" in html
    _status, html = await page(client, who="root@visio")
    assert "3 modifications" in html and "Agnès" not in html.split("<tbody>")[1]

    _status, html = await page(client, action="agent.change")
    assert "1 modification<" in html
    # The first part of an action stands for all of it.
    _status, html = await page(client, action="station")
    assert "1 modification<" in html and "Poste n° 5" in html
    assert '<option value="station" selected>' in html

    _status, html = await page(client, entity="user", entity_id=str(log.desk.id))
    assert "1 modification<" in html and "Compte créé" in html
    _status, html = await page(client, entity="appointment", entity_id="42")
    assert "0 modification<" in html and "Aucune modification ne correspond." in html

    # Days on the administrator's calendar, written as they write them.
    _status, html = await page(client, **{"from": "12/03/2026", "to": "12/03/2026"})
    assert "4 modifications" in html
    assert 'value="12/03/2026"' in html
    _status, html = await page(client, **{"to": "11/03/2026"})
    assert "2 modifications" in html  # 23:30 UTC on the 11th is the 12th in Paris
    _status, html = await page(client, **{"from": "2026-03-11", "to": "2026-03-11"})
    assert "1 modification<" in html
    client.session.cookie_jar.update_cookies({"visio_lang": "en"})
    _status, html = await page(client, **{"from": "3/12/26"})
    assert "4 changes" in html and "Mar 12, 2026, 11:00:00" in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "31/02/2026"}, "from", "Saisissez une date comme 30/03/2026."),
        ({"to": "demain"}, "to", "Saisissez une date comme 30/03/2026."),
        ({"from": "12/03/1999"}, "from", "Cette date est hors limites."),
        ({"from": "12/03/2026", "to": "10/03/2026"}, "to",
         "Ne doit pas précéder le début de la période."),
        ({"entity_id": "sept"}, "entity_id", "Un nombre entier est attendu."),
    ],
)  # fmt: skip
async def test_a_bad_filter_is_shown_beside_its_field_as_typed(
    client: Any, log: Log, query: dict[str, str], field: str, message: str
) -> None:
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303
    status, html = await page(client, **query)
    assert status == 422
    assert f'<p class="field-error" id="filter-{field}-error">{message}</p>' in html
    assert f'<a href="#filter-{field}">' in html  # the summary leads to the field
    typed = query[field]
    assert f'id="filter-{field}" name="{field}" type="text" value="{typed}"' in html
    assert "aria-invalid" in html and "<tbody>" not in html


async def test_the_log_comes_a_page_at_a_time(client: Any, log: Log, session: AsyncSession) -> None:
    session.add_all(
        AuditEntry(at=at(1, 8) + timedelta(minutes=number), user_id=log.admin.id,
                   action="motive.change", entity="motive", entity_id=number, details={})
        for number in range(1, 61)
    )  # fmt: skip
    await session.flush()
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303
    _status, first = await page(client)
    assert "66 modifications" in first and "Page 1 sur 2" in first
    assert len(rows(first)) == 50 and 'rel="next"' in first
    _status, second = await page(client, page="2")
    found = rows(second)
    assert len(found) == 16 and "Motif n° 1<" in found[-1] and "Motif n° 16<" in found[0]
    assert 'rel="prev"' in second
    _status, filtered = await page(client, action="motive", page="2")
    assert len(rows(filtered)) == 10 and "action=motive&page=1" in filtered
    # Past the last page: nothing, and the way back to the last one.
    _status, beyond = await page(client, page="9")
    [empty] = rows(beyond)
    assert "Aucune modification ne correspond." in empty
    assert '<a href="/admin/audit?page=2" rel="prev">' in beyond


async def test_the_api_reads_the_log_with_the_same_filters(client: Any, log: Log) -> None:
    headers = log.headers
    response = await client.get("/api/v1/audit", headers=headers)
    assert response.status == 200 and response.headers["X-Total-Count"] == "6"
    entries = await response.json()
    assert [entry["action"] for entry in entries][:2] == ["mystery.thing", "station.change"]
    assert entries[-1] == {
        "id": entries[-1]["id"], "at": "2026-03-10T10:00:00+01:00", "by": "person",
        "user_id": log.admin.id, "user_name": "Rose Admin", "user_email": ADMIN,
        "action": "agent.change", "entity": "agent", "entity_id": 7,
        "details": {"name": "Isabelle Delmas"},
    }  # fmt: skip
    assert {entry["by"] for entry in entries} == {"person", "command_line", "system"}

    async def total(**query: str) -> int:
        found = await client.get("/api/v1/audit", params=query, headers=headers)
        assert found.status == 200, await found.text()
        return int(found.headers["X-Total-Count"])

    assert await total(who="chastel") == 1
    assert await total(user_id=str(log.admin.id)) == 3
    assert await total(action="appointment") == 1
    assert await total(entity="site", entity_id="3") == 1
    assert await total(**{"from": "2026-03-12"}) == 4
    assert await total(**{"from": "2026-03-11", "to": "2026-03-11"}) == 1

    paged = await client.get("/api/v1/audit", params={"limit": "4", "page": "2"}, headers=headers)
    assert len(await paged.json()) == 2
    assert 'rel="prev"' in paged.headers["Link"] and 'rel="next"' not in paged.headers["Link"]

    refused = await client.get(
        "/api/v1/audit", params={"from": "2026-03-12", "to": "2026-03-01"}, headers=headers
    )
    assert refused.status == 422
    assert set((await refused.json())["error"]["fields"]) == {"to"}
    bad = await client.get("/api/v1/audit", params={"from": "12/03/2026"}, headers=headers)
    assert bad.status == 422 and set((await bad.json())["error"]["fields"]) == {"from"}


async def test_the_log_is_for_admins_only(client: Any, world: World, log: Log) -> None:
    anonymous = await client.get("/admin/audit", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")
    assert (await client.get("/api/v1/audit")).status == 401
    assert (await client.get("/api/v1/audit", headers=world.headers)).status == 403
    assert (await client.get("/api/v1/audit", headers=world.agent_headers)).status == 403


async def test_a_desk_agent_is_refused_the_page(
    client: Any, world: World, create_user: Any
) -> None:
    await create_user(
        Role.DESK, email="desk2@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "desk2@visio.example", PASSWORD)).status == 303
    assert (await client.get("/admin/audit", allow_redirects=False)).status == 403
    # Refused before anything else, even a filter that would be wrong.
    bad_date = await client.get("/admin/audit", params={"from": "nope"}, allow_redirects=False)
    assert bad_date.status == 403
