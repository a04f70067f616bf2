"""Pages around an appointment: the desk's day, the agent's agenda, the two join pages.

The desk and agenda pages poll a small JSON companion (`desk_status`, `agenda_status`)
every few seconds with the session cookie; both are built from the same rows as the page,
so what the script writes is what a reload would show. Texts come already translated:
the script only places them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from visio.domain import AppointmentStatus, RequestChannel
from visio.handlers.api import current_actor, match_int, now
from visio.handlers.reads import record_read, shown_in
from visio.handlers.render import posted_form, render
from visio.handlers.validation import day_query
from visio.i18n import format_date, format_time
from visio.i18n import gettext as _
from visio.i18n import lazy_gettext as _l
from visio.keys import CSP_NONCE, DB, JITSI, LINKS, LOCALE
from visio.meetings.jitsi import join_window
from visio.middlewares import embed_meeting
from visio.services import agenda as agendas
from visio.services import desk_tally, meetings, transitions
from visio.services.agenda import SiteDay
from visio.services.meetings import Side
from visio.services.records import AppointmentView, DeskRequestView, ThemeView
from visio.services.setup.partners import list_partners

# How often the pages ask for fresh statuses, in milliseconds.
POLL_INTERVAL_MS = 5000


def clock_time(moment: datetime, timezone: str) -> str:
    """The wall-clock time of `moment` in `timezone`, in the reader's language: 09:05 in
    French, 9:05 AM in English; never seconds."""
    return format_time(moment, timezone)


def countdown(seconds: int) -> str:
    """A duration as a clock counting down, the same in every language: 01:04:09."""
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{second:02d}"


def _agent_text(overview: AppointmentView, timezone: str) -> str:
    if overview.agent_presence == "joined" and overview.agent_joined_at is not None:
        return _("Agent connected at %(time)s", time=clock_time(overview.agent_joined_at, timezone))
    if overview.agent_presence == "late":
        return _("Agent late")
    if overview.agent_presence == "missed":
        return _("Agent never connected")
    return ""


@dataclass(frozen=True, slots=True)
class Live:
    """What changes while a page is open, as the page shows it; its script polls these."""

    id: int
    status: str
    status_label: str
    arrival: str
    agent: str
    agent_presence: str
    can_mark_arrived: bool


@dataclass(frozen=True, slots=True)
class PageRow:
    """One appointment on the desk's day, the agent's agenda or a join page."""

    live: Live
    overview: AppointmentView
    day: date
    start: str
    end: str
    joinable: bool
    # The house's clock too, when the reader works in another zone.
    site_time: str | None = None
    # Booked and begun: its outcome is to be recorded.
    outcome_due: bool = False


def _live(overview: AppointmentView, timezone: str, now: datetime | None) -> Live:
    """The live fields of `overview`, its times in `timezone`; the arrival button only
    while an arrival may be marked (`now`; None: whenever it is booked and not arrived)."""
    arrived = overview.arrived_at
    return Live(
        id=overview.id,
        status=overview.status.value,
        status_label=transitions.status_label(overview.status),
        arrival=(
            _("Citizen arrived at %(time)s", time=clock_time(arrived, timezone)) if arrived else ""
        ),
        agent=_agent_text(overview, timezone),
        agent_presence=overview.agent_presence,
        can_mark_arrived=overview.status is AppointmentStatus.BOOKED
        and arrived is None
        and (now is None or transitions.arrival_open(overview.start, overview.end, now)),
    )


def _page_row(overview: AppointmentView, timezone: str, now: datetime | None = None) -> PageRow:
    """The row in `timezone`: the house's own for the desk, the agent's for the agent;
    with `now`, whether its outcome is due."""
    own = overview.start.astimezone(ZoneInfo(timezone))
    at_site = overview.start
    site_time = None
    if own.replace(tzinfo=None) != at_site.replace(tzinfo=None):
        # The agent works in another zone: the site's clock too, to talk with the desk.
        shown = clock_time(overview.start, overview.timezone)
        if own.date() != at_site.date():
            shown = f"{format_date(at_site.date(), style='medium')} {shown}"
        site_time = _("%(time)s at the site (%(zone)s)", time=shown, zone=overview.timezone)
    return PageRow(
        live=_live(overview, timezone, now), overview=overview, day=own.date(),
        start=clock_time(overview.start, timezone), end=clock_time(overview.end, timezone),
        joinable=overview.status is AppointmentStatus.BOOKED, site_time=site_time,
        outcome_due=(
            now is not None and overview.status is AppointmentStatus.BOOKED
            and overview.start <= now
        ),
    )  # fmt: skip


def _desk_row(overview: AppointmentView, now: datetime) -> PageRow:
    return _page_row(overview, overview.timezone, now)


def _status_json(rows: list[PageRow], moment: datetime) -> web.Response:
    document = {
        "appointments": [asdict(row.live) for row in rows],
        "updated_at": moment.isoformat(),
    }
    return web.json_response(document, headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------- the desk's day


async def desk(request: web.Request) -> web.Response:
    """The appointments of the desk agent's sites on one day (`?day=`, default today),
    grouped by site, with the way to the day before, the day after and the week; at each
    of the desk agent's own houses, its tally panel."""
    return await desk_page(request)


async def desk_page(
    request: web.Request,
    *,
    tally: TallyForm | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The desk's page; `tally` and `errors`: a request the tally refused, shown again in
    its house's panel with each error beside its field."""
    day = day_query(request.query, "day")
    moment = now(request)
    days = await agendas.desk_day(request[DB], current_actor(request), now=moment, day=day)
    await record_read(
        request, shown_in(view for site_day in days for view in site_day.appointments)
    )
    shown = day or (days[0].day if days else moment.date())
    status_url = request.app.router["desk_status"].url_for()
    if day is not None:
        status_url = status_url.with_query(day=day.isoformat())
    panels = await _tally_panels(request, days, moment, typed=tally, errors=errors or {})
    sites = [
        {
            "name": site_day.site_name,
            "timezone": site_day.timezone,
            "day": format_date(site_day.day),
            "rows": [_desk_row(overview, moment) for overview in site_day.appointments],
            "stations": site_day.stations,
            "tally": panels.get(site_day.site_id),
        }
        for site_day in days
    ]
    context = {
        "sites": sites,
        "poll_interval": POLL_INTERVAL_MS,
        "status_url": str(status_url),
        "today": day is None or (all(site_day.day == day for site_day in days) and not day),
        "shown": format_date(shown),
        "previous_day": (shown - timedelta(days=1)).isoformat(),
        "next_day": (shown + timedelta(days=1)).isoformat(),
        "week_of": shown.isoformat(),
    }
    return render("desk.html", request, context, status=status)


async def desk_status(request: web.Request) -> web.Response:
    """The changing part of the desk page, for its script."""
    moment = now(request)
    days = await agendas.desk_day(
        request[DB], current_actor(request), now=moment, day=day_query(request.query, "day")
    )
    rows = [_desk_row(overview, moment) for day in days for overview in day.appointments]
    return _status_json(rows, moment)


async def desk_week(request: web.Request) -> web.Response:
    """The week (`?week=` any day of it, default this week) at the desk agent's sites: each
    day with its appointments, a link to the day."""
    week_of = day_query(request.query, "week")
    moment = now(request)
    weeks = await agendas.desk_week(
        request[DB], current_actor(request), now=moment, week_of=week_of
    )
    await record_read(
        request,
        shown_in(
            view for week in weeks for site_day in week.days for view in site_day.appointments
        ),
    )
    monday = weeks[0].monday if weeks else (week_of or moment.date())
    monday -= timedelta(days=monday.weekday())
    sites = [
        {
            "name": week.site_name,
            "days": [
                {
                    "date": format_date(site_day.day),
                    "iso": site_day.day.isoformat(),
                    "rows": [_desk_row(overview, moment) for overview in site_day.appointments],
                }
                for site_day in week.days
            ],
        }
        for week in weeks
    ]
    context = {
        "sites": sites,
        "first": format_date(monday, style="long"),
        "last": format_date(monday + timedelta(days=6), style="long"),
        "previous_week": (monday - timedelta(days=7)).isoformat(),
        "next_week": (monday + timedelta(days=7)).isoformat(),
    }
    return render("desk_week.html", request, context)


async def mark_arrived(request: web.Request) -> web.StreamResponse:
    """The desk's "the citizen has arrived" button; back to the desk page, at that row."""
    actor = current_actor(request)
    await posted_form(request)
    appointment_id = match_int(request, "id")
    await transitions.mark_arrived(request[DB], actor, appointment_id, now=now(request))
    location = request.app.router["desk"].url_for().with_fragment(f"appointment-{appointment_id}")
    raise web.HTTPSeeOther(location=location)


# ---------------------------------------------------------------- the desk's tally panel

# The channel buttons, in the order the desk meets them.
CHANNEL_LABELS = {
    RequestChannel.IN_PERSON: _l("At the desk"),
    RequestChannel.PHONE: _l("By phone"),
    RequestChannel.EMAIL: _l("By email"),
    RequestChannel.VISIO: _l("In visio"),
}
# Today's requests listed under the panel, the latest first; the count says how many in all.
TALLY_SHOWN = 5


@dataclass(frozen=True, slots=True)
class TallyForm:
    """What the desk chose in one house's tally panel, as posted: shown again, beside its
    errors, when the request is refused."""

    site_id: int
    theme_id: str = ""
    partner_id: str = ""
    accompanied: bool = False
    new_person: bool = False


@dataclass(frozen=True, slots=True)
class TallyEntry:
    """One request counted today, as the panel lists it."""

    id: int
    time: str
    theme: str
    partner: str
    channel: str

    @property
    def summary(self) -> str:
        return " · ".join(part for part in (self.theme, self.partner, self.channel) if part)


@dataclass(frozen=True, slots=True)
class TallyPanel:
    """One house's tally: the form (its choices, what was typed, its errors), today's count,
    the latest requests and the confirmation of the last action."""

    site_id: int
    site_name: str
    themes: Sequence[tuple[int, str]]
    partners: Sequence[tuple[int, str]]
    channels: Sequence[tuple[str, str]]
    count: int
    latest: Sequence[TallyEntry]
    typed: TallyForm
    errors: Mapping[str, str] = field(default_factory=dict)
    done: str | None = None


async def _tally_panels(
    request: web.Request,
    days: Sequence[SiteDay],
    moment: datetime,
    *,
    typed: TallyForm | None,
    errors: Mapping[str, str],
) -> dict[int, TallyPanel]:
    """The tally panel of each of the desk agent's own houses on the page, by site id (an
    administrator, who belongs to no house, gets none). `typed` and `errors` go to the
    panel of their house; `?counted=` (a request's id) and `?taken_back=` (a house's)
    confirm the last action in its panel."""
    actor = current_actor(request)
    own = [site_day for site_day in days if site_day.site_id in actor.site_ids]
    if not own:
        return {}
    session = request[DB]
    locale = request[LOCALE]
    # Retired themes too: a request counted this morning keeps its theme's name.
    every_theme = await desk_tally.themes(session, actor, active_only=False)
    themes = [(theme.id, theme.label(locale)) for theme in every_theme if theme.active]
    partners = [(partner.id, partner.name) for partner in await list_partners(session, actor)]
    partner_names = dict(partners)
    channels = [(channel.value, str(label)) for channel, label in CHANNEL_LABELS.items()]
    counted = request.query.get("counted", "")
    taken_back = request.query.get("taken_back", "")
    panels = {}
    for site_day in own:
        requests = await desk_tally.today(session, actor, site_day.site_id, now=moment)
        entries = [
            _tally_entry(view, site_day.timezone, every_theme, partner_names, locale)
            for view in requests
        ]
        panel = TallyPanel(
            site_id=site_day.site_id, site_name=site_day.site_name, themes=themes,
            partners=partners, channels=channels, count=len(entries),
            latest=entries[:TALLY_SHOWN], typed=TallyForm(site_day.site_id),
        )  # fmt: skip
        if typed is not None and typed.site_id == site_day.site_id:
            panel = replace(panel, typed=typed, errors=errors)
        elif just_counted := [entry for entry in entries if str(entry.id) == counted]:
            panel = replace(panel, done=_("Counted: %(request)s.", request=just_counted[0].summary))
        elif taken_back == str(site_day.site_id):
            panel = replace(panel, done=_("The request is taken back."))
        panels[site_day.site_id] = panel
    return panels


def _tally_entry(
    view: DeskRequestView,
    timezone: str,
    themes: Sequence[ThemeView],
    partners: Mapping[int, str],
    locale: str,
) -> TallyEntry:
    theme = next((theme.label(locale) for theme in themes if theme.id == view.theme_id), None)
    return TallyEntry(
        id=view.id, time=clock_time(view.at, timezone), theme=theme or view.kind or "",
        partner=partners.get(view.partner_id, "") if view.partner_id is not None else "",
        channel=str(CHANNEL_LABELS[view.channel]),
    )  # fmt: skip


# ---------------------------------------------------------------- the agent's agenda


async def agenda(request: web.Request) -> web.Response:
    """The partner agent's appointments in their own zone: today and the next seven days,
    or a whole week, past or to come (`?week=` any day of it)."""
    moment = now(request)
    week_of = day_query(request.query, "week")
    found = await agendas.agent_agenda(
        request[DB], current_actor(request), now=moment, week_of=week_of
    )
    await record_read(request, shown_in(found.appointments))
    rows = [_page_row(overview, found.timezone, moment) for overview in found.appointments]
    by_day: dict[date, list[PageRow]] = {}
    for row in rows:
        by_day.setdefault(row.day, []).append(row)
    today = moment.astimezone(ZoneInfo(found.timezone)).date()
    days = [
        {"date": format_date(day), "today": day == today, "rows": day_rows}
        for day, day_rows in by_day.items()
    ]
    monday = found.first_day - timedelta(days=found.first_day.weekday())
    status_url = request.app.router["agenda_status"].url_for()
    if week_of is not None:
        status_url = status_url.with_query(week=week_of.isoformat())
    context = {
        "days": days,
        "timezone": found.timezone,
        "first_day": format_date(found.first_day),
        "last_day": format_date(found.last_day),
        "week_view": week_of is not None,
        "previous_week": (monday - timedelta(days=7)).isoformat(),
        "next_week": (monday + timedelta(days=7)).isoformat(),
        "this_week": today.isoformat(),
        "status_url": str(status_url),
        "poll_interval": POLL_INTERVAL_MS,
    }
    return render("agenda.html", request, context)


async def agenda_status(request: web.Request) -> web.Response:
    """The changing part of the agenda page, for its script."""
    moment = now(request)
    found = await agendas.agent_agenda(
        request[DB], current_actor(request), now=moment, week_of=day_query(request.query, "week")
    )
    rows = [_page_row(overview, found.timezone) for overview in found.appointments]
    return _status_json(rows, moment)


# ---------------------------------------------------------------- joining


async def join_agent(request: web.Request) -> web.Response:
    """The partner agent's join page (moderator); opening it when the window is open tells
    the desk the agent is there."""
    return await _join_page(request, "agent")


async def join_station(request: web.Request) -> web.Response:
    """The visio station's join page (a guest named after the site)."""
    return await _join_page(request, "station")


async def _join_page(request: web.Request, side: Side) -> web.Response:
    actor = current_actor(request)
    session = request[DB]
    config = request.app[JITSI]
    moment = now(request)
    appointment_id = match_int(request, "id")
    # Refuses anyone but this side's people (404), before anything is shown.
    joined = await meetings.join(
        session, actor, appointment_id, side=side, config=config, now=moment
    )
    overview, link, state = joined.appointment, joined.link, joined.state
    await record_read(request, shown_in([overview]))
    zone = overview.agent_timezone if side == "agent" else overview.timezone
    opens_at, closes_at = join_window(overview.start, overview.end, config)
    row = _page_row(overview, zone)
    meeting = None
    if state == "open":
        tenant = config.url_tenant
        meeting = {
            "url": link.url,
            "domain": config.domain,
            "room": f"{tenant}/{link.room}" if tenant else link.room,
            "jwt": link.jwt or "",
            "display_name": overview.agent_name if side == "agent" else overview.site_name,
        }
    start_local = overview.start.astimezone(ZoneInfo(zone))
    seconds_until_open = max(0, math.ceil((opens_at - moment).total_seconds()))
    context = {
        "side": side,
        "overview": overview,
        "row": row,
        "state": state,
        "timezone": zone,
        "date": format_date(start_local.date()),
        "opens_at": clock_time(opens_at, zone),
        "closes_at": clock_time(closes_at, zone),
        "early_minutes": int(config.early_join.total_seconds() // 60),
        "seconds_until_open": seconds_until_open,
        "countdown": countdown(seconds_until_open),
        "meeting": meeting,
    }
    response = render("join.html", request, context)
    if meeting is not None:
        # The meeting is embedded from the Jitsi server: its script and its frame, on this
        # response only (the page reloads itself when the window opens); the page holds a
        # meeting token: no cache keeps it.
        embed_meeting(response, request[CSP_NONCE], config.domain)
    return response


async def send_confirmation(request: web.Request) -> web.StreamResponse:
    """The confirmation's "send by email" button; back to the confirmation, saying so."""
    await posted_form(request)
    appointment_id = match_int(request, "id")
    await transitions.send_confirmation(
        request[DB], current_actor(request), appointment_id, now=now(request),
        links=request.app[LINKS],
    )  # fmt: skip
    location = request.app.router["confirmation"].url_for(id=str(appointment_id))
    raise web.HTTPSeeOther(location=location.with_query(sent="1"))


async def confirmation(request: web.Request) -> web.Response:
    """The booking on paper, for a citizen who gave no email (or wants it in hand)."""
    found = await agendas.confirmation(
        request[DB], current_actor(request), match_int(request, "id"), now=now(request)
    )
    appointment = found.appointment
    await record_read(request, shown_in([appointment]))
    context = {
        "c": found,
        "when": format_date(appointment.start.date())
        + ", "
        + clock_time(appointment.start, appointment.timezone),
        "until": clock_time(appointment.end, appointment.timezone),
        "cancelled": found.cancelled,
        "just_booked": request.query.get("booked") == "1" and not found.cancelled,
        "sent": request.query.get("sent") == "1",
    }
    return render("confirmation.html", request, context)
