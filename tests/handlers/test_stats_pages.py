"""The coordinator's pages: the dashboard, its exports, the yearly report."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from babel.numbers import format_decimal, format_percent
from sqlalchemy import select

from tests.handlers.conftest import World, book
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import RequestTheme, Role
from visio.domain import RequestChannel
from visio.handlers import stats_pages
from visio.services import accounts, desk_tally


async def coordinator(client: Any, world: World, create_user: Any, **extra: Any) -> None:
    await create_user(
        Role.COORDINATOR, email="lucie@visio.example", password=PASSWORD,
        site_ids=[world.site.id], **extra,
    )  # fmt: skip
    assert (await sign_in(client, "lucie@visio.example", PASSWORD)).status == 303


async def held_session(client: Any, world: World, clock: Any) -> None:
    held = await book(client, world)
    clock.now = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)
    response = await client.post(
        f"/api/v1/appointments/{held['id']}/outcome", json={"status": "held"},
        headers=world.headers,
    )  # fmt: skip
    assert response.status == 200


async def test_the_dashboard_shows_the_year_against_the_last(
    client: Any, world: World, clock: Any, create_user: Any
) -> None:
    await held_session(client, world, clock)
    await coordinator(client, world, create_user)
    home = await client.get("/")
    assert "/stats" in await home.text()
    page = await client.get("/stats", params={"year": "2026"})
    assert page.status == 200
    html = await page.text()
    assert "Séances visio tenues" in html
    # the chart and the same numbers in a table
    assert '<svg class="chart"' in html and 'role="img"' in html
    assert '<caption id="table-months-caption">' in html
    assert "mars 2026" in html and "France Services Murat" in html
    assert '<th scope="row">mars 2026</th>' in html  # the months table names its months
    # the filters stay in the address, and the exports keep them
    assert (
        'href="/stats/export?year=2026&amp;table=houses&amp;format=csv&amp;sep=semicolon"' in html
    )


async def test_exports_are_csv_for_excel_and_json(
    client: Any, world: World, clock: Any, create_user: Any
) -> None:
    await held_session(client, world, clock)
    await coordinator(client, world, create_user)
    response = await client.get(
        "/stats/export", params={"year": "2026", "table": "houses", "format": "csv",
                                 "sep": "semicolon"},
    )  # fmt: skip
    assert response.status == 200 and response.content_type == "text/csv"
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Maison France Services;Tenues;Usager absent;")
    # a decimal comma in French: the rates are shares
    cells = lines[1].split(";")
    assert cells[:8] == ["France Services Murat", "1", "0", "0", "0", "0", "0", "0"]
    assert cells[8].startswith("0,")  # the station occupancy, a share, with a decimal comma
    as_json = await client.get(
        "/stats/export", params={"year": "2026", "table": "months", "format": "json"}
    )
    rows = (await as_json.json())["rows"]
    assert len(rows) == 12 and rows[2] == {"month": "2026-03", "held": 1, "previous_held": 0}
    crosstab = await client.get(
        "/stats/export", params={"year": "2026", "table": "crosstab", "format": "csv",
                                 "sep": "semicolon"},
    )  # fmt: skip
    rows = (await crosstab.read()).decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Maison France Services;janvier 2026;février 2026;mars 2026;")
    assert rows[1] == "France Services Murat;0;0;1;0;0;0;0;0;0;0;0;0;1"
    themes = await (await client.get("/api/v1/request-themes", headers=world.headers)).json()
    recorded = await client.post(
        "/api/v1/desk-requests", headers=world.headers,
        json={"site_id": world.site.id, "theme_id": themes[0]["id"], "channel": "email"},
    )  # fmt: skip
    assert recorded.status == 201
    for table, name in (("desk_partners", "Aucun partenaire en particulier"),
                        ("desk_channels", "Par courriel"),
                        ("desk_themes", "Emploi, formation, retraite"),
                        ("desk_houses", "France Services Murat")):  # fmt: skip
        named = await client.get(
            "/stats/export", params={"year": "2026", "table": table, "format": "json"}
        )
        assert [row["name"] for row in (await named.json())["rows"]] == [name]
    unknown = await client.get("/stats/export", params={"table": "colour"})
    assert unknown.status == 400


async def test_a_long_table_shows_its_largest_rows_and_the_download_all(
    client: Any, world: World, clock: Any, create_user: Any, create_site: Any, session: Any
) -> None:
    """An administrator of 54 houses: the page's table of desk requests by house shows the
    50 largest (the database cuts them) and says so; its download has the 54."""
    admin = await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    actor = accounts.actor_of(admin)
    theme = await session.scalar(select(RequestTheme.id).order_by(RequestTheme.id))
    houses = [world.site] + [await create_site(f"France Services {n:02d}") for n in range(53)]
    for position, house in enumerate(houses):
        for _ in range(3 if position == 0 else 1 + position % 2):
            await desk_tally.record(
                session, actor, site_id=house.id, partner_id=None, theme_id=theme,
                channel=RequestChannel.PHONE, accompanied=False, new_person=False,
                now=datetime(2026, 3, 16, 10, 0, tzinfo=UTC),
            )  # fmt: skip
    assert (await sign_in(client, "admin@visio.example", PASSWORD)).status == 303
    html = await (await client.get("/stats", params={"year": "2026"})).text()
    table = html.split('id="table-desk-houses"')[1].split("</table>")[0]
    names = re.findall(r'<th scope="row">([^<]+)</th>', table)
    # Murat first (3 requests), then the houses of 2 by name, then those of 1
    twos = sorted(f"France Services {n:02d}" for n in range(53) if (n + 1) % 2)
    assert len(names) == 50 and names[0] == "France Services Murat"
    assert names[1 : len(twos) + 1] == twos
    assert "Les 50 plus grandes des 54 lignes ; le téléchargement les contient toutes." in html
    download = await client.get(
        "/stats/export", params={"year": "2026", "table": "desk_houses", "format": "json"}
    )
    rows = (await download.json())["rows"]
    assert len(rows) == 54 and sum(row["requests"] for row in rows) == 3 + 27 * 2 + 26 * 1
    # the house filter lists every house, the one chosen selected
    chosen = await (await client.get("/stats", params={"site_id": str(houses[5].id)})).text()
    assert chosen.count("<option value=") == 54 + 1 + 2 + len(range(2026, 2018, -1))
    assert f'<option value="{houses[5].id}" selected>France Services 04</option>' in chosen


async def test_bad_filters_are_explained_and_foreign_houses_hidden(
    client: Any, world: World, create_user: Any, create_site: Any
) -> None:
    elsewhere = await create_site("France Services Massiac")
    await coordinator(client, world, create_user)
    reversed_ = await client.get("/stats", params={"from": "2026-03-20", "to": "2026-03-01"})
    assert reversed_.status == 422
    assert "error-summary" in await reversed_.text()
    assert (await client.get("/stats", params={"year": "1850"})).status == 422
    foreign = await client.get("/stats", params={"site_id": str(elsewhere.id)})
    assert foreign.status == 404
    assert "France Services Massiac" not in await (await client.get("/stats")).text()


async def test_agents_and_strangers_get_no_statistics(client: Any, world: World) -> None:
    assert (await client.get("/stats", allow_redirects=False)).status == 303
    assert (await client.get("/stats/report", allow_redirects=False)).status == 303


async def test_the_yearly_report_reads_in_sentences(
    client: Any, world: World, clock: Any, create_user: Any
) -> None:
    await held_session(client, world, clock)
    await coordinator(client, world, create_user)
    page = await client.get("/stats/report", params={"year": "2026"})
    assert page.status == 200
    html = await page.text()
    assert "En 2026, 1 personnes ont été reçues en visio, contre 0 en 2025." in html
    # The print button works by a script file: the content policy refuses inline handlers.
    assert "@page" not in html and "data-print hidden" in html and "visio-print.js" in html
    assert "onclick" not in html
    await client.post(
        "/language",
        data={"locale": "en", "next": "/stats/report", "csrf_token": form_token(html)},
    )
    english = await (await client.get("/stats/report", params={"year": "2026"})).text()
    assert "In 2026, 1 people were received in visio, against 0 in 2025." in english


def test_the_pages_numbers_are_written_as_babel_writes_them() -> None:
    """The page's fast number writing gives what Babel's own functions give."""
    for locale in ("fr", "en"):
        number = stats_pages._formatters(locale)["number"]
        assert callable(number)
        for count in (0, 7, 999, 1000, 8620, 1_234_567, -42):
            assert number(count) == format_decimal(count, locale=locale)
        for share in (0.0, 0.05, 0.0125, 0.125, 0.3333, 1.0, 1.2345):
            assert number(share, "ratio") == format_percent(share, "#,##0.0 %", locale=locale)
        for decimal in (0.0, 0.25, 2.675, 24.0, 1234.56):
            assert number(decimal, "decimal") == format_decimal(decimal, "#,##0.0", locale=locale)
    assert stats_pages._formatters("fr")["number"](8620) == "8\u202f620"


async def test_the_house_filter_follows_a_renamed_house(
    client: Any, world: World, create_user: Any, bearer: Any
) -> None:
    await create_user(Role.ADMIN, email="admin@visio.example", password=PASSWORD)
    assert (await sign_in(client, "admin@visio.example", PASSWORD)).status == 303
    before = await (await client.get("/stats")).text()
    assert f'<option value="{world.site.id}">France Services Murat</option>' in before
    admin = await bearer(await create_user(Role.ADMIN))
    renamed = await client.patch(
        f"/api/v1/sites/{world.site.id}", json={"name": "France Services Murat & Cantal"},
        headers=admin,
    )  # fmt: skip
    assert renamed.status == 200
    after = await (await client.get("/stats", params={"site_id": str(world.site.id)})).text()
    assert (
        f'<option value="{world.site.id}" selected>France Services Murat &amp; Cantal</option>'
        in after
    )
