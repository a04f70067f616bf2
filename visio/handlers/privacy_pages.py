"""The register of processing activities (article 30 of the GDPR): what visio does with
personal data, for the register of each house that uses it; public and printable, its
retention periods those this installation is set to."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.render import render
from visio.keys import SETTINGS


async def register(request: web.Request) -> web.Response:
    """The page, open to anyone: a house prints it for its register, and a citizen may read
    what happens to their details."""
    settings = request.app[SETTINGS]
    context = {
        "retention_days": settings.retention_days,
        "audit_retention_days": settings.audit_retention_days,
        "jitsi_domain": settings.jitsi_domain,
        "mail_configured": settings.smtp_host is not None,
    }
    return render("privacy.html", request, context)
