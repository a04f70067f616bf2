"""Set-up endpoints: sites, stations, closures, partners, motives, agents, rules, absences."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from aiohttp import web

from visio.db.models import (
    Absence,
    Agent,
    AvailabilityRule,
    Closure,
    Motive,
    Partner,
    Role,
    Site,
    Station,
)
from visio.handlers.api import current_actor, json_model, match_int, now, operation
from visio.handlers.schemas import (
    AbsenceCreate,
    AbsenceOut,
    AgentCreate,
    AgentOut,
    ClosureCreate,
    ClosureOut,
    MotiveCreate,
    MotiveOut,
    MotiveSummary,
    OpeningHoursOut,
    PartnerCreate,
    PartnerOut,
    RuleCreate,
    RuleOut,
    SiteCreate,
    SiteOut,
    SiteSummary,
    StationCreate,
    StationOut,
)
from visio.keys import DB
from visio.services import setup

ADMIN = {Role.ADMIN}


def hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def site_out(site: Site) -> SiteOut:
    return SiteOut(
        id=site.id,
        name=site.name,
        commune=site.commune,
        timezone=site.timezone,
        holiday_calendar=site.holiday_calendar,
        address=site.address,
        opening_hours=[
            OpeningHoursOut(weekday=hours.weekday, start=hhmm(hours.start), end=hhmm(hours.end))
            for hours in site.opening_hours
        ],
        stations=[StationOut(id=station.id, name=station.name) for station in site.stations],
    )


@operation("Create a site (maison France Services)", roles=ADMIN, body=SiteCreate,
           response=SiteOut, status=201, tags=["set-up"])  # fmt: skip
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
    return json_model(site_out(site), status=201)


@operation("Sites within the caller's scope", response=list[SiteSummary], tags=["set-up"])
async def list_sites(request: web.Request) -> web.Response:
    sites = await setup.list_sites(request[DB], current_actor(request))
    out = [SiteSummary(id=s.id, name=s.name, commune=s.commune, timezone=s.timezone) for s in sites]
    return json_model(out, adapter=list[SiteSummary])


@operation("One site with its opening hours and stations", response=SiteOut, tags=["set-up"])
async def get_site(request: web.Request) -> web.Response:
    site = await setup.get_site(request[DB], current_actor(request), match_int(request, "id"))
    return json_model(site_out(site))


@operation("Add a visio station to a site", roles=ADMIN, body=StationCreate,
           response=StationOut, status=201, tags=["set-up"])  # fmt: skip
async def create_station(request: web.Request, body: StationCreate) -> web.Response:
    station: Station = await setup.create_station(
        request[DB], current_actor(request), site_id=match_int(request, "id"), name=body.name,
        now=now(request),
    )  # fmt: skip
    return json_model(StationOut(id=station.id, name=station.name), status=201)


def _closure_out(closure: Closure, zone: str) -> ClosureOut:
    tz = ZoneInfo(zone)
    return ClosureOut(
        id=closure.id,
        site_id=closure.site_id,
        station_id=closure.station_id,
        start=closure.start_at.astimezone(tz),
        end=closure.end_at.astimezone(tz),
        reason=closure.reason,
    )


@operation("Close a site, or one of its stations, for a while", roles=ADMIN,
           body=ClosureCreate, response=ClosureOut, status=201, tags=["set-up"])  # fmt: skip
async def create_closure(request: web.Request, body: ClosureCreate) -> web.Response:
    session = request[DB]
    site_id = match_int(request, "id")
    closure = await setup.create_closure(
        session, current_actor(request), site_id=site_id, start=body.start, end=body.end,
        reason=body.reason, station_id=body.station_id, now=now(request),
    )  # fmt: skip
    timezone = await setup.site_timezone(session, site_id)
    return json_model(_closure_out(closure, timezone), status=201)


def partner_out(partner: Partner) -> PartnerOut:
    return PartnerOut(
        id=partner.id,
        code=partner.code,
        name=partner.name,
        motives=[
            MotiveSummary(id=m.id, name=m.name, duration_minutes=m.duration_minutes)
            for m in partner.motives
        ],
    )


@operation("Create a partner", roles=ADMIN, body=PartnerCreate, response=PartnerOut,
           status=201, tags=["set-up"])  # fmt: skip
async def create_partner(request: web.Request, body: PartnerCreate) -> web.Response:
    partner = await setup.create_partner(
        request[DB], current_actor(request), code=body.code, name=body.name, now=now(request)
    )
    return json_model(partner_out(partner), status=201)


@operation("Partners and their motives", response=list[PartnerOut], tags=["set-up"])
async def list_partners(request: web.Request) -> web.Response:
    partners = await setup.list_partners(request[DB])
    return json_model([partner_out(p) for p in partners], adapter=list[PartnerOut])


def motive_out(motive: Motive) -> MotiveOut:
    return MotiveOut(
        id=motive.id,
        partner_id=motive.partner_id,
        name=motive.name,
        duration_minutes=motive.duration_minutes,
        slot_step_minutes=motive.slot_step_minutes,
        buffer_before_minutes=motive.buffer_before_minutes,
        buffer_after_minutes=motive.buffer_after_minutes,
        min_notice_minutes=motive.min_notice_minutes,
        horizon_days=motive.horizon_days,
        documents=list(motive.documents),
        instructions=motive.instructions,
        reminder_offsets_minutes=list(motive.reminder_offsets),
    )


@operation("Add a motive to a partner", roles=ADMIN, body=MotiveCreate, response=MotiveOut,
           status=201, tags=["set-up"])  # fmt: skip
async def create_motive(request: web.Request, body: MotiveCreate) -> web.Response:
    motive = await setup.create_motive(
        request[DB],
        current_actor(request),
        partner_id=match_int(request, "id"),
        motive=setup.MotiveSettings(**body.model_dump()),
        now=now(request),
    )
    return json_model(motive_out(motive), status=201)


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id, partner_id=agent.partner_id, name=agent.name, email=agent.email,
        timezone=agent.timezone, locale=agent.locale,
    )  # fmt: skip


@operation("Create a partner agent", roles=ADMIN, body=AgentCreate, response=AgentOut,
           status=201, tags=["set-up"])  # fmt: skip
async def create_agent(request: web.Request, body: AgentCreate) -> web.Response:
    agent = await setup.create_agent(
        request[DB], current_actor(request), partner_id=body.partner_id, name=body.name,
        email=body.email, timezone=body.timezone, locale=body.locale, now=now(request),
    )  # fmt: skip
    return json_model(agent_out(agent), status=201)


def rule_out(rule: AvailabilityRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        agent_id=rule.agent_id,
        weekdays=list(rule.weekdays),
        start=hhmm(rule.start),
        end=hhmm(rule.end),
        every_weeks=rule.every_weeks,
        anchor_date=rule.anchor_date,
        valid_from=rule.valid_from,
        valid_until=rule.valid_until,
        site_ids=sorted(site.id for site in rule.sites) or None,
        motive_ids=sorted(motive.id for motive in rule.motives) or None,
    )


@operation("Add a remote permanence (availability rule) to an agent", roles=ADMIN,
           body=RuleCreate, response=RuleOut, status=201, tags=["set-up"])  # fmt: skip
async def create_rule(request: web.Request, body: RuleCreate) -> web.Response:
    rule = await setup.create_rule(
        request[DB],
        current_actor(request),
        agent_id=match_int(request, "id"),
        rule=setup.RuleSettings(**body.model_dump()),
        now=now(request),
    )
    return json_model(rule_out(rule), status=201)


@operation("Record an agent's absence", roles=ADMIN, body=AbsenceCreate, response=AbsenceOut,
           status=201, tags=["set-up"])  # fmt: skip
async def create_absence(request: web.Request, body: AbsenceCreate) -> web.Response:
    session = request[DB]
    agent_id = match_int(request, "id")
    absence: Absence = await setup.create_absence(
        session, current_actor(request), agent_id=agent_id, start=body.start, end=body.end,
        reason=body.reason, now=now(request),
    )  # fmt: skip
    tz = ZoneInfo(await setup.agent_timezone(session, agent_id))
    out = AbsenceOut(
        id=absence.id, agent_id=agent_id, start=absence.start_at.astimezone(tz),
        end=absence.end_at.astimezone(tz), reason=absence.reason,
    )  # fmt: skip
    return json_model(out, status=201)
