"""Slot search: when can the citizen at the desk see a partner agent?"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiohttp import web

from visio.handlers.api import current_actor, json_model, now, operation
from visio.handlers.schemas import (
    FirstSlotQuery,
    FirstSlotsOut,
    FreeTimeOut,
    FreeTimesOut,
    SlotOut,
    SlotQuery,
    SlotsOut,
)
from visio.i18n import lazy_gettext as _l
from visio.keys import DB
from visio.services import slots
from visio.services.errors import InvalidInput
from visio.services.permissions import Action


def slots_out(search: slots.SlotSearch) -> SlotsOut:
    """Slots in the site's wall-clock time, with the reason when there are none."""
    zone = ZoneInfo(search.timezone)
    return SlotsOut(
        site_id=search.site_id,
        timezone=search.timezone,
        slots=[
            SlotOut(
                start=slot.start.astimezone(zone),
                end=slot.end.astimezone(zone),
                agent_id=slot.agent_id,
                station_id=slot.station_id,
            )
            for slot in search.slots
        ],
        reason_code=search.reason_code,
        reason=str(search.reason) if search.reason is not None else None,
    )


def free_times_out(search: slots.SlotSearch) -> FreeTimesOut:
    """Free times in the site's wall-clock time, with the reason when there are none."""
    zone = ZoneInfo(search.timezone)
    return FreeTimesOut(
        site_id=search.site_id,
        timezone=search.timezone,
        slots=[
            FreeTimeOut(
                start=free.start.astimezone(zone),
                end=free.end.astimezone(zone),
                station_id=free.station_id,
                agents_free=free.agents_free,
            )
            for free in search.free_times
        ],
        reason_code=search.reason_code,
        reason=str(search.reason) if search.reason is not None else None,
    )


@operation(
    "Free slots at a site for a motive, day by day (site-local dates, inclusive): one per "
    "free agent, or with agent=any one per start time",
    action=Action.SEARCH_SLOTS,
    query=SlotQuery,
    response=SlotsOut | FreeTimesOut,
    tags=["booking"],
)
async def list_slots(request: web.Request, query: SlotQuery) -> web.Response:
    any_agent = query.agent == "any"
    if any_agent and query.agent_id is not None:
        both = _l("Either agent=any or an agent_id, not both.")
        raise InvalidInput(fields={"agent": both, "agent_id": both})
    search = await slots.search_slots(
        request[DB],
        current_actor(request),
        site_id=query.site_id,
        motive_id=query.motive_id,
        first_day=query.from_,
        last_day=query.to,
        agent_id=query.agent_id,
        now=now(request),
        any_agent=any_agent,
    )
    return json_model(free_times_out(search) if any_agent else slots_out(search))


@operation(
    "The first free slot for a motive at each site of the caller's scope",
    action=Action.SEARCH_SLOTS,
    query=FirstSlotQuery,
    response=FirstSlotsOut,
    tags=["booking"],
)
async def first_slots(request: web.Request, query: FirstSlotQuery) -> web.Response:
    found = await slots.first_slots(
        request[DB],
        current_actor(request),
        motive_id=query.motive_id,
        site_id=query.site_id,
        now=now(request),
    )
    return json_model(FirstSlotsOut(sites=[slots_out(search) for search in found]))
