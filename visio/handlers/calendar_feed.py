"""The partner agent's private calendar feed: make or revoke its URL, and serve it."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.api import current_actor, json_model, now, operation
from visio.handlers.schemas import CalendarFeedOut
from visio.keys import DB, LINKS
from visio.services import calendar_feed
from visio.services.permissions import Action


@operation(
    "A new private calendar feed URL for the signed-in agent (the previous one stops)",
    action=Action.OWN_CALENDAR_FEED,
    response=CalendarFeedOut,
    status=201,
    tags=["calendar"],
)
async def create_feed(request: web.Request) -> web.Response:
    token = await calendar_feed.new_feed_token(
        request[DB], current_actor(request), now=now(request)
    )
    return json_model(feed_urls(request, token), status=201)


def feed_urls(request: web.Request, token: str) -> CalendarFeedOut:
    """The feed's two addresses: `webcal://` for calendar programs, and `https://`."""
    https_url = str(request.app.router["calendar_feed"].url_for(token=token))
    https_url = request.app[LINKS].base_url + https_url
    webcal = "webcal://" + https_url.split("://", 1)[1]
    return CalendarFeedOut(url=webcal, https_url=https_url)


@operation(
    "Revoke the signed-in agent's calendar feed URL", action=Action.OWN_CALENDAR_FEED, status=204,
    tags=["calendar"],
)  # fmt: skip
async def revoke_feed(request: web.Request) -> web.Response:
    await calendar_feed.revoke_feed(request[DB], current_actor(request), now=now(request))
    return web.Response(status=204)


async def serve_feed(request: web.Request) -> web.Response:
    """The feed itself: the secret in the URL is the only credential calendars can send."""
    text = await calendar_feed.feed(
        request[DB], request.match_info["token"], links=request.app[LINKS], now=now(request)
    )
    return web.Response(
        text=text,
        content_type="text/calendar",
        charset="utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )
