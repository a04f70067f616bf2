"""The register of processing activities (`/privacy`): open to anyone, in French and in
English, with the retention periods this installation is set to, and linked from the foot
of every page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import Clock
from visio.app import create_app
from visio.settings import Settings


async def test_anyone_reads_the_register_in_french_with_the_settings_periods(
    client: Any,
) -> None:
    response = await client.get("/privacy")
    assert response.status == 200
    html = await response.text()
    assert "le registre des activités de traitement" in html
    for heading in ("Finalité", "Base légale", "Destinataires des données",
                    "Durées de conservation", "Mesures de sécurité",
                    "Droits des personnes et comment les exercer"):  # fmt: skip
        assert f"<h2>{heading}</h2>" in html
    assert "mission d'intérêt public" in html
    assert "effacés 90 jours après la fin de son dernier rendez-vous" in html
    assert "Le journal d'audit est conservé 365 jours" in html
    assert "visio citizens export" in html and "meet.jit.si" in html


async def test_the_periods_are_those_configured_and_english_is_complete(
    aiohttp_client: Callable[..., Any], settings: Settings, clock: Clock,
    connection: AsyncConnection,
) -> None:  # fmt: skip
    changed = settings.replace(retention_days=30, audit_retention_days=1)
    client = await aiohttp_client(create_app(changed, clock=clock, bind=connection))
    response = await client.get("/privacy", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status == 200
    html = await response.text()
    assert '<html lang="en">' in html
    assert "Personal data: the register of processing activities" in html
    assert "erased 30 days after the end of their last appointment" in html
    assert "The audit log is kept 1 day, then deleted." in html
    assert "A task carried out in the public interest" in html


async def test_every_page_links_to_it(client: Any) -> None:
    for path in ("/login", "/privacy", "/nowhere"):
        html = await (await client.get(path)).text()
        assert '<footer class="site-footer">' in html and 'href="/privacy"' in html, path
