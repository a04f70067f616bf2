"""The import page: an administrator uploads a CSV file of agents and their permanences and
reads the report row by row; a file with a refused row writes nothing; the form needs its
token; nobody else gets in."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import FormData
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.handlers.conftest import World
from tests.handlers.test_pages import PASSWORD, form_token, sign_in
from visio.db.models import Agent, AuditEntry, AvailabilityRule, Role
from visio.services.setup.importing import MAX_FILE_BYTES

ADMIN = "root@visio.example"
HEADER = "partner;name;email;weekdays;start;end;sites;motives"
GOOD = (
    f"\ufeff{HEADER}\r\n"
    "CAF;Nadia Fabre;nadia.fabre@caf.example;1 3;09:00;12:00;France Services Murat;\r\n"
    "CAF;Nadia Fabre;nadia.fabre@caf.example;jeu;14:00;17:00;;Prime d'activité\r\n"
)
# Line 3 ends before it starts.
BAD = GOOD + "CAF;Luc Pagès;luc.pages@caf.example;2;12:00;09:00;;\r\n"


async def counts(session: AsyncSession) -> tuple[int, ...]:
    found = []
    for model in (Agent, AvailabilityRule, AuditEntry):
        found.append(int(await session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(found)


async def as_admin(client: Any, create_user: Any) -> str:
    """Sign in as an administrator; the import page's form token."""
    await create_user(Role.ADMIN, email=ADMIN, password=PASSWORD)
    assert (await sign_in(client, ADMIN, PASSWORD)).status == 303
    page = await client.get("/admin/import")
    assert page.status == 200
    return form_token(await page.text())


def upload(content: bytes, token: str | None, filename: str = "agents.csv") -> FormData:
    form = FormData()
    if token is not None:
        form.add_field("csrf_token", token)
    form.add_field("file", content, filename=filename, content_type="text/csv")
    return form


async def test_the_page_explains_the_file(client: Any, world: World, create_user: Any) -> None:
    await as_admin(client, create_user)
    html = await (await client.get("/admin/import")).text()
    assert 'enctype="multipart/form-data"' in html and 'type="file"' in html
    assert "<code>partenaire</code>" in html  # the French names of the columns
    assert "lucie.fontanier@caf.example" in html  # the example
    example = re.search(r'href="(/static/agents-example\.csv[^"]*)"', html)
    assert example is not None
    download = await client.get(example.group(1))
    assert download.status == 200
    assert (await download.read()).startswith(b"\xef\xbb\xbfpartner;name;email")


async def test_a_good_file_is_imported_and_reported(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    token = await as_admin(client, create_user)
    agents, rules, entries = await counts(session)
    response = await client.post("/admin/import", data=upload(GOOD.encode(), token))
    assert response.status == 200
    html = await response.text()
    assert 'role="status"' in html and "Le fichier est importé." in html
    assert "<caption" in html and '<th scope="row">2</th>' in html
    assert html.count("nadia.fabre@caf.example") == 2 and "créé" in html
    assert await counts(session) == (agents + 1, rules + 2, entries + 1 + 2 + 1)

    again = await client.post("/admin/import", data=upload(GOOD.encode(), token))
    assert again.status == 200
    assert "Rien à changer" in await again.text()
    assert await counts(session) == (agents + 1, rules + 2, entries + 4)


async def test_a_refused_row_writes_nothing_and_is_named_beside_its_field(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    token = await as_admin(client, create_user)
    before = await counts(session)
    response = await client.post("/admin/import", data=upload(BAD.encode(), token))
    assert response.status == 422
    html = await response.text()
    assert await counts(session) == before
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert "Rien n'a été importé : 1 ligne est refusée" in summary
    assert 'href="#line-4"' in summary and "La fin doit suivre le début." in summary
    row = html.split('<tr id="line-4">')[1].split("</tr>")[0]
    assert "end : La fin doit suivre le début." in row
    assert "refusé" in row
    # the other rows passed: what they would do is said, not done
    assert "à créer" in html.split('<tr id="line-2">')[1].split("</tr>")[0]


async def test_a_file_that_cannot_be_read_says_so_beside_the_file_field(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    token = await as_admin(client, create_user)
    before = await counts(session)
    latin = await client.post(
        "/admin/import", data=upload(GOOD.replace("\ufeff", "").encode("latin-1"), token)
    )
    assert latin.status == 422
    html = await latin.text()
    assert 'id="file-error"' in html and "UTF-8" in html and 'aria-invalid="true"' in html
    large = await client.post(
        "/admin/import", data=upload(GOOD.encode() + b"#" * MAX_FILE_BYTES, token)
    )
    assert large.status == 413
    assert "Le fichier dépasse 1 Mo." in await large.text()
    nothing = await client.post("/admin/import", data=upload(b"", token, filename=""))
    assert nothing.status == 422
    assert "Choisissez un fichier CSV." in await nothing.text()
    assert await counts(session) == before


async def test_the_form_needs_its_token(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    await as_admin(client, create_user)
    before = await counts(session)
    for token in (None, "forged"):
        response = await client.post("/admin/import", data=upload(GOOD.encode(), token))
        assert response.status == 400
    plain = await client.post("/admin/import", data={"file": GOOD})
    assert plain.status == 400
    assert await counts(session) == before


async def test_the_import_is_for_admins_only(
    client: Any, world: World, create_user: Any, session: AsyncSession
) -> None:
    anonymous = await client.get("/admin/import", allow_redirects=False)
    assert anonymous.status == 303
    assert anonymous.headers["Location"].startswith("/login")
    await create_user(
        Role.DESK, email="desk2@visio.example", password=PASSWORD, site_ids=[world.site.id]
    )
    assert (await sign_in(client, "desk2@visio.example", PASSWORD)).status == 303
    assert (await client.get("/admin/import", allow_redirects=False)).status == 403
    page = await client.get("/")
    token = form_token(await page.text())
    before = await counts(session)
    refused = await client.post("/admin/import", data=upload(GOOD.encode(), token))
    assert refused.status == 403
    assert await counts(session) == before
