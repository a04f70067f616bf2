"""The screen of a visio station (the tablet or PC in the cabin): its next session in large
text, a countdown until the meeting opens, then a large button that brings the meeting
into the screen itself, filling it (full screen where the browser allows it); back to the
waiting screen when the session is over or when the station leaves the meeting.

A small script counts down, embeds the meeting with Jitsi's IFrame API and reloads the
screen when what it shows changes (the meeting opens, the session ends), as the server
says. Without the script, or when Jitsi's own script cannot load, the button is a link
opening the meeting in a new tab."""

from __future__ import annotations

import math

from aiohttp import web

from visio.handlers.api import current_actor, match_int, now
from visio.handlers.meeting_pages import clock_time, countdown
from visio.handlers.reads import record_read, shown_in
from visio.handlers.render import render
from visio.i18n import format_date
from visio.keys import CSP_NONCE, DB, JITSI
from visio.meetings.jitsi import JitsiConfig, join_state, join_window
from visio.middlewares import embed_meeting
from visio.services import agenda, meetings

# With no session ahead, how often the station's screen asks again (a booking made for
# later today), in seconds.
IDLE_RELOAD_SECONDS = 300


def _embedding(joined: meetings.Meeting, config: JitsiConfig) -> dict[str, str]:
    """What the screen's script hands Jitsi's IFrame API, and the link without it."""
    tenant = config.url_tenant
    return {
        "url": joined.link.url,
        "domain": config.domain,
        # The IFrame API takes the tenant as part of the room's name.
        "room": f"{tenant}/{joined.link.room}" if tenant else joined.link.room,
        "jwt": joined.link.jwt or "",
        # The station is a guest named after its house, never after the citizen.
        "display_name": joined.appointment.site_name,
    }


async def station(request: web.Request) -> web.Response:
    """The station's current or next session today, for the desk of its house."""
    moment = now(request)
    actor = current_actor(request)
    found = await agenda.station_next(request[DB], actor, match_int(request, "id"), now=moment)
    context: dict[str, object] = {
        "s": found,
        "reload_in": IDLE_RELOAD_SECONDS,
        "closes_in": 0,
        "a": None,
        "meeting": None,
    }
    view = found.appointment
    if view is None:
        return render("station.html", request, context)
    await record_read(request, shown_in([view]))
    config = request.app[JITSI]
    opens_at, closes_at = join_window(view.start, view.end, config)
    waiting = max(0, math.ceil((opens_at - moment).total_seconds()))
    state = join_state(moment, view.start, view.end, config)
    until_end = max(0, math.ceil((view.end - moment).total_seconds()))
    context.update(
        # What changes next on this screen: the meeting opens, or the session ends (then
        # the screen goes back to waiting for the next one, unless the station is still in
        # the meeting: it goes back when the station leaves, or at the latest when the
        # meeting's link closes).
        reload_in=(waiting if state == "too_early" else until_end) + 1,
        # A meeting under way at the end runs on until its link closes.
        closes_in=max(0, math.ceil((closes_at - moment).total_seconds())) + 1,
        seconds_until_open=waiting,
        a=view,
        day=format_date(view.start.date()),
        start=clock_time(view.start, found.timezone),
        end=clock_time(view.end, found.timezone),
        opens_at=clock_time(opens_at, found.timezone),
        state=state,
        countdown=countdown(waiting),
    )
    if state != "open":
        # No token before the window opens: nothing to embed, nothing to leak.
        return render("station.html", request, context)
    # The station's side of the meeting, with the same rights as its join page.
    joined = await meetings.join(
        request[DB], actor, view.id, side="station", config=config, now=moment
    )
    context["meeting"] = _embedding(joined, config)
    response = render("station.html", request, context)
    # The meeting is embedded from the Jitsi server: its script and its frame, on this
    # response only; the page may hold a meeting token: no cache keeps it.
    embed_meeting(response, request[CSP_NONCE], config.domain)
    return response
