"""The screen of a visio station (the tablet or PC in the cabin): its next session in large
text, a countdown until the meeting opens, then the way into it; back to the waiting
screen when the session is over. A small script reloads the screen when something changes
on it (the meeting opens, the session ends) and counts down; without it, the screen says
so and a link reloads it."""

from __future__ import annotations

import math

from aiohttp import web

from visio.handlers.api import current_actor, match_int, now
from visio.handlers.meeting_pages import clock_time, countdown
from visio.handlers.render import render
from visio.i18n import format_date
from visio.keys import DB, JITSI
from visio.meetings.jitsi import join_state, join_window
from visio.services import agenda

# With no session ahead, how often the station's screen asks again (a booking made for
# later today), in seconds.
IDLE_RELOAD_SECONDS = 300


async def station(request: web.Request) -> web.Response:
    """The station's current or next session today, for the desk of its house."""
    moment = now(request)
    found = await agenda.station_next(
        request[DB], current_actor(request), match_int(request, "id"), now=moment
    )
    context: dict[str, object] = {"s": found, "reload_in": IDLE_RELOAD_SECONDS, "a": None}
    view = found.appointment
    if view is not None:
        config = request.app[JITSI]
        opens_at, _closes_at = join_window(view.start, view.end, config)
        waiting = max(0, math.ceil((opens_at - moment).total_seconds()))
        state = join_state(moment, view.start, view.end, config)
        until_end = max(0, math.ceil((view.end - moment).total_seconds()))
        context.update(
            # What changes next on this screen: the meeting opens, or the session ends.
            reload_in=(waiting if state == "too_early" else until_end) + 1,
            seconds_until_open=waiting,
            a=view,
            day=format_date(view.start.date()),
            start=clock_time(view.start, found.timezone),
            end=clock_time(view.end, found.timezone),
            opens_at=clock_time(opens_at, found.timezone),
            state=state,
            countdown=countdown(waiting),
        )
    return render("station.html", request, context)
