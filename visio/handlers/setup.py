"""Set-up endpoints: sites, stations, closures, partners, motives, agents, rules, absences."""

from __future__ import annotations

from aiohttp import web

from visio.handlers.api import (
    PAGE_HEADERS,
    current_actor,
    json_model,
    listing_response,
    match_int,
    now,
    operation,
)
from visio.handlers.schemas import (
    AbsenceCreate,
    AgentCreate,
    AgentListQuery,
    AgentPatch,
    ClosureCreate,
    ConfirmQuery,
    MotiveCreate,
    MotivePatch,
    PartnerCreate,
    PartnerListQuery,
    PartnerPatch,
    PastQuery,
    RuleCreate,
    RulePatch,
    SiteCreate,
    SiteListQuery,
    SitePatch,
    StationCreate,
    StationPatch,
)
from visio.keys import DB, LINKS
from visio.services import setup
from visio.services.permissions import Action
from visio.services.records import (
    AbsenceView,
    AgentView,
    ClosureView,
    MotiveView,
    PartnerView,
    RuleView,
    SiteSummary,
    SiteView,
    StationView,
)

SET_UP = Action.SET_UP


@operation("Create a site (maison France Services)", action=SET_UP, body=SiteCreate,
           response=SiteView, status=201, tags=["set-up"])  # fmt: skip
async def create_site(request: web.Request, body: SiteCreate) -> web.Response:
    site = await setup.create_site(
        request[DB],
        current_actor(request),
        name=body.name,
        commune=body.commune,
        timezone=body.timezone,
        holiday_calendar=body.holiday_calendar,
        opening_hours=[
            setup.OpeningRange(weekday=hours.weekday, start=hours.start, end=hours.end)
            for hours in body.opening_hours
        ],
        address=body.address,
        email=body.email,
        phone=body.phone,
        now=now(request),
    )
    return json_model(site, status=201)


@operation("Sites within the caller's scope, by name: open ones unless asked, a search, pages",
           query=SiteListQuery, response=list[SiteSummary], headers=PAGE_HEADERS,
           tags=["set-up"])  # fmt: skip
async def list_sites(request: web.Request, query: SiteListQuery) -> web.Response:
    found = await setup.find_sites(
        request[DB], current_actor(request), search=query.q, state=query.state,
        page=query.page, per_page=query.limit,
    )  # fmt: skip
    return listing_response(request, found, list[SiteSummary])


@operation("Correct a site: the fields given, checked as at creation; active false closes it "
           "for good (refused, with them, while appointments are to come)", action=SET_UP,
           body=SitePatch, response=SiteView, tags=["set-up"])  # fmt: skip
async def change_site(request: web.Request, body: SitePatch) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    if "opening_hours" in given:
        given["opening_hours"] = [
            setup.OpeningRange(weekday=hours.weekday, start=hours.start, end=hours.end)
            for hours in body.opening_hours or []
        ]
    site = await setup.change_site(
        request[DB], current_actor(request), match_int(request, "id"),
        setup.SiteChanges(**given), now=now(request),
    )  # fmt: skip
    return json_model(site)


@operation("Remove a site set up by mistake (one with a history is closed instead: 409)",
           action=SET_UP, status=204, tags=["set-up"])  # fmt: skip
async def delete_site(request: web.Request) -> web.Response:
    await setup.delete_site(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return web.Response(status=204)


@operation("One site with its opening hours and stations", response=SiteView, tags=["set-up"])
async def get_site(request: web.Request) -> web.Response:
    site = await setup.get_site(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(site)


@operation("Add a visio station to a site", action=SET_UP, body=StationCreate,
           response=StationView, status=201, tags=["set-up"])  # fmt: skip
async def create_station(request: web.Request, body: StationCreate) -> web.Response:
    station = await setup.create_station(
        request[DB], current_actor(request), site_id=match_int(request, "id"), name=body.name,
        now=now(request),
    )  # fmt: skip
    return json_model(station, status=201)


@operation("Rename a station, or take it out of service (appointments booked on it: 409 "
           "listing them, unless confirmed) or back", action=SET_UP, body=StationPatch,
           query=ConfirmQuery, response=StationView, tags=["set-up"])  # fmt: skip
async def change_station(
    request: web.Request, body: StationPatch, query: ConfirmQuery
) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    station = await setup.change_station(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "station_id"), **given, confirm=query.confirm,
        links=request.app[LINKS], now=now(request),
    )  # fmt: skip
    return json_model(station)


@operation("Remove a station added by mistake (one that hosted appointments: 409)",
           action=SET_UP, status=204, tags=["set-up"])  # fmt: skip
async def delete_station(request: web.Request) -> web.Response:
    await setup.delete_station(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "station_id"), now=now(request),
    )  # fmt: skip
    return web.Response(status=204)


@operation("A site's closures to come (and past ones with past=true), by start",
           query=PastQuery, response=list[ClosureView], tags=["set-up"])  # fmt: skip
async def list_closures(request: web.Request, query: PastQuery) -> web.Response:
    closures = await setup.list_closures(
        request[DB], current_actor(request), match_int(request, "id"), include_past=query.past,
        now=now(request),
    )  # fmt: skip
    return json_model(closures, adapter=list[ClosureView])


@operation("Remove a closure", action=SET_UP, status=204, tags=["set-up"])
async def delete_closure(request: web.Request) -> web.Response:
    await setup.delete_closure(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "closure_id"), now=now(request),
    )  # fmt: skip
    return web.Response(status=204)


@operation("Close a site, or one of its stations, for a while (booked appointments it falls "
           "on: 409 listing them, unless confirmed)", action=SET_UP, body=ClosureCreate,
           query=ConfirmQuery, response=ClosureView, status=201, tags=["set-up"])  # fmt: skip
async def create_closure(
    request: web.Request, body: ClosureCreate, query: ConfirmQuery
) -> web.Response:
    closure = await setup.create_closure(
        request[DB], current_actor(request), site_id=match_int(request, "id"), start=body.start,
        end=body.end, reason=body.reason, station_id=body.station_id, confirm=query.confirm,
        links=request.app[LINKS], now=now(request),
    )  # fmt: skip
    return json_model(closure, status=201)


@operation("Create a partner", action=SET_UP, body=PartnerCreate, response=PartnerView,
           status=201, tags=["set-up"])  # fmt: skip
async def create_partner(request: web.Request, body: PartnerCreate) -> web.Response:
    partner = await setup.create_partner(
        request[DB], current_actor(request), code=body.code, name=body.name, now=now(request)
    )
    return json_model(partner, status=201)


@operation("Partners and their offered motives, by code: those in the network unless asked, "
           "a search, pages", query=PartnerListQuery, response=list[PartnerView],
           headers=PAGE_HEADERS, tags=["set-up"])  # fmt: skip
async def list_partners(request: web.Request, query: PartnerListQuery) -> web.Response:
    found = await setup.find_partners(
        request[DB], current_actor(request), search=query.q, state=query.state,
        page=query.page, per_page=query.limit,
    )  # fmt: skip
    return listing_response(request, found, list[PartnerView])


@operation("One partner with its offered motives", response=PartnerView, tags=["set-up"])
async def get_partner(request: web.Request) -> web.Response:
    partner = await setup.get_partner(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(partner)


@operation("Correct a partner's code or name, or mark it gone from the network (refused, "
           "with them, while appointments with it are to come)", action=SET_UP,
           body=PartnerPatch, response=PartnerView, tags=["set-up"])  # fmt: skip
async def change_partner(request: web.Request, body: PartnerPatch) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    partner = await setup.change_partner(
        request[DB], current_actor(request), match_int(request, "id"), **given, now=now(request)
    )
    return json_model(partner)


@operation("Remove a partner created by mistake (one with agents or a history: 409)",
           action=SET_UP, status=204, tags=["set-up"])  # fmt: skip
async def delete_partner(request: web.Request) -> web.Response:
    await setup.delete_partner(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return web.Response(status=204)


@operation("One motive with all its settings", response=MotiveView, tags=["set-up"])
async def get_motive(request: web.Request) -> web.Response:
    motive = await setup.get_motive(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(motive)


@operation("Correct a motive's settings (bookings made keep their times), or retire it "
           "(active: false) or offer it again", action=SET_UP, body=MotivePatch,
           response=MotiveView, tags=["set-up"])  # fmt: skip
async def change_motive(request: web.Request, body: MotivePatch) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    motive = await setup.change_motive(
        request[DB], current_actor(request), match_int(request, "id"),
        setup.MotiveChanges(**given), now=now(request),
    )  # fmt: skip
    return json_model(motive)


@operation("Remove a motive created by mistake (one with appointments or permanences: 409)",
           action=SET_UP, status=204, tags=["set-up"])  # fmt: skip
async def delete_motive(request: web.Request) -> web.Response:
    await setup.delete_motive(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return web.Response(status=204)


@operation("Add a motive to a partner", action=SET_UP, body=MotiveCreate, response=MotiveView,
           status=201, tags=["set-up"])  # fmt: skip
async def create_motive(request: web.Request, body: MotiveCreate) -> web.Response:
    motive = await setup.create_motive(
        request[DB],
        current_actor(request),
        partner_id=match_int(request, "id"),
        motive=setup.MotiveSettings(**body.model_dump()),
        now=now(request),
    )
    return json_model(motive, status=201)


@operation("Create a partner agent", action=SET_UP, body=AgentCreate, response=AgentView,
           status=201, tags=["set-up"])  # fmt: skip
async def create_agent(request: web.Request, body: AgentCreate) -> web.Response:
    agent = await setup.create_agent(
        request[DB], current_actor(request), partner_id=body.partner_id, name=body.name,
        email=body.email, timezone=body.timezone, locale=body.locale, now=now(request),
    )  # fmt: skip
    return json_model(agent, status=201)


@operation("Agents within the caller's scope, by name: of a partner, serving a house, a "
           "search, pages", query=AgentListQuery, response=list[AgentView],
           headers=PAGE_HEADERS, tags=["set-up"])  # fmt: skip
async def list_agents(request: web.Request, query: AgentListQuery) -> web.Response:
    found = await setup.find_agents(
        request[DB], current_actor(request), partner_id=query.partner_id,
        site_id=query.site_id, search=query.q, state=query.state, page=query.page,
        per_page=query.limit,
    )  # fmt: skip
    return listing_response(request, found, list[AgentView])


@operation("One agent", response=AgentView, tags=["set-up"])
async def get_agent(request: web.Request) -> web.Response:
    agent = await setup.get_agent(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(agent)


@operation("Correct an agent, or record that they left (appointments with them to come: "
           "409 listing them, unless confirmed) or came back", action=SET_UP,
           body=AgentPatch, query=ConfirmQuery, response=AgentView, tags=["set-up"])  # fmt: skip
async def change_agent(request: web.Request, body: AgentPatch, query: ConfirmQuery) -> web.Response:
    given = {name: getattr(body, name) for name in body.model_fields_set}
    agent = await setup.change_agent(
        request[DB], current_actor(request), match_int(request, "id"), **given,
        confirm=query.confirm, links=request.app[LINKS], now=now(request),
    )  # fmt: skip
    return json_model(agent)


@operation("Remove an agent created by mistake (one with appointments or an account: 409)",
           action=SET_UP, status=204, tags=["set-up"])  # fmt: skip
async def delete_agent(request: web.Request) -> web.Response:
    await setup.delete_agent(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    return web.Response(status=204)


@operation("Add a remote permanence (availability rule) to an agent", action=SET_UP,
           body=RuleCreate, response=RuleView, status=201, tags=["set-up"])  # fmt: skip
async def create_rule(request: web.Request, body: RuleCreate) -> web.Response:
    rule = await setup.create_rule(
        request[DB],
        current_actor(request),
        agent_id=match_int(request, "id"),
        rule=setup.RuleSettings(**body.model_dump()),
        now=now(request),
    )
    return json_model(rule, status=201)


@operation("Correct a permanence: the fields given, checked as at creation (booked "
           "appointments it would no longer hold: 409 listing them, unless confirmed)",
           action=SET_UP, body=RulePatch, query=ConfirmQuery, response=RuleView,
           tags=["set-up"])  # fmt: skip
async def change_rule(request: web.Request, body: RulePatch, query: ConfirmQuery) -> web.Response:
    rule = await setup.change_rule(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "rule_id"),
        changes={name: getattr(body, name) for name in body.model_fields_set},
        confirm=query.confirm, links=request.app[LINKS], now=now(request),
    )  # fmt: skip
    return json_model(rule)


@operation("Remove a permanence (booked appointments only it held: 409 listing them, unless "
           "confirmed)", action=SET_UP, query=ConfirmQuery, status=204,
           tags=["set-up"])  # fmt: skip
async def delete_rule(request: web.Request, query: ConfirmQuery) -> web.Response:
    await setup.delete_rule(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "rule_id"), confirm=query.confirm, links=request.app[LINKS],
        now=now(request),
    )  # fmt: skip
    return web.Response(status=204)


@operation("Record an agent's absence (booked appointments it falls on: 409 listing them, "
           "unless confirmed)", action=SET_UP, body=AbsenceCreate, query=ConfirmQuery,
           response=AbsenceView, status=201, tags=["set-up"])  # fmt: skip
async def create_absence(
    request: web.Request, body: AbsenceCreate, query: ConfirmQuery
) -> web.Response:
    absence = await setup.create_absence(
        request[DB], current_actor(request), agent_id=match_int(request, "id"), start=body.start,
        end=body.end, reason=body.reason, confirm=query.confirm, links=request.app[LINKS],
        now=now(request),
    )  # fmt: skip
    return json_model(absence, status=201)


@operation("An agent's permanences", response=list[RuleView], tags=["set-up"])
async def list_rules(request: web.Request) -> web.Response:
    rules = await setup.list_rules(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(rules, adapter=list[RuleView])


@operation("An agent's absences to come (and past ones with past=true), by start",
           query=PastQuery, response=list[AbsenceView], tags=["set-up"])  # fmt: skip
async def list_absences(request: web.Request, query: PastQuery) -> web.Response:
    absences = await setup.list_absences(
        request[DB], current_actor(request), match_int(request, "id"), include_past=query.past,
        now=now(request),
    )  # fmt: skip
    return json_model(absences, adapter=list[AbsenceView])


@operation("Remove an agent's absence", action=SET_UP, status=204, tags=["set-up"])
async def delete_absence(request: web.Request) -> web.Response:
    await setup.delete_absence(
        request[DB], current_actor(request), match_int(request, "id"),
        match_int(request, "absence_id"), now=now(request),
    )  # fmt: skip
    return web.Response(status=204)
