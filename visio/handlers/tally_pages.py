"""The desk's tally panel on the desk's page: count a request (a theme, then the button of
the channel it came by), take one back the same day. Both go back to the house's panel;
a request refused comes back on the desk's page, each error beside its field."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from visio.domain import RequestChannel
from visio.handlers.api import MAX_ID, current_actor, match_int, now
from visio.handlers.meeting_pages import TallyForm, desk_page
from visio.handlers.render import posted_form
from visio.i18n import gettext as _
from visio.keys import DB
from visio.services import desk_tally
from visio.services.errors import InvalidInput, Malformed, NotFound
from visio.services.permissions import Action, require


def _tally_form(form: Mapping[str, str]) -> TallyForm:
    """The panel's form as posted; a house that cannot be one is `NotFound`."""
    site_id = _form_id(form.get("site_id", ""))
    if site_id is None:
        raise NotFound()
    return TallyForm(
        site_id=site_id,
        theme_id=form.get("theme_id", "").strip(),
        partner_id=form.get("partner_id", "").strip(),
        accompanied=form.get("accompanied") == "1",
        new_person=form.get("new_person") == "1",
    )


def _form_id(text: str) -> int | None:
    """An id as the page's controls send it; None for anything else (none chosen, or not
    one of ours)."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def _chosen(text: str) -> int | None:
    """A theme or partner chosen in the panel ("": none); a value no control of the panel
    sends is a malformed form, not the user's slip."""
    if not text:
        return None
    chosen = _form_id(text)
    if chosen is None:
        raise Malformed()
    return chosen


async def record_request(request: web.Request) -> web.StreamResponse:
    """Count one request at the house's desk: the theme chosen, the channel of the button
    pressed. Back to the house's panel, saying what was counted."""
    # Who asks is settled before the form is read: nobody signed in goes to sign in, and a
    # role that never counts is refused, whatever the form holds.
    require(current_actor(request), Action.RECORD_DESK_REQUEST)
    form = await posted_form(request)
    typed = _tally_form(form)
    try:
        channel = RequestChannel(form.get("channel", ""))
    except ValueError:
        raise Malformed() from None
    try:
        counted = await desk_tally.record(
            request[DB], current_actor(request), site_id=typed.site_id,
            theme_id=_chosen(typed.theme_id), channel=channel,
            partner_id=_chosen(typed.partner_id), accompanied=typed.accompanied,
            new_person=typed.new_person, now=now(request),
        )  # fmt: skip
    except InvalidInput as refused:
        errors = {name: str(text) for name, text in refused.fields.items()}
        if not typed.theme_id:
            # The service's "required" is the API's word; the desk is told what to do.
            errors["theme_id"] = _("Choose the theme of the request.")
        return await desk_page(request, tally=typed, errors=errors, status=422)
    location = (
        request.app.router["desk"].url_for()
        .with_query(counted=str(counted.id))
        .with_fragment(f"tally-{typed.site_id}")
    )  # fmt: skip
    raise web.HTTPSeeOther(location=location)


async def take_back_request(request: web.Request) -> web.StreamResponse:
    """Take back a request counted today by mistake; back to the house's panel (the form
    names it), saying so."""
    form = await posted_form(request)
    await desk_tally.take_back(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    location = request.app.router["desk"].url_for()
    site_id = _form_id(form.get("site_id", ""))
    if site_id is not None:
        location = location.with_query(taken_back=str(site_id)).with_fragment(f"tally-{site_id}")
    raise web.HTTPSeeOther(location=location)


async def back_to_desk(request: web.Request) -> web.StreamResponse:
    """The address a refused form leaves in the browser: reloaded, or the page's language
    changed, it goes back to the desk's page."""
    raise web.HTTPSeeOther(location=request.app.router["desk"].url_for())
