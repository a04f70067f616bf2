"""The desk's tally: each request handled at a house's desk counted in two clicks (the
partner or operator asked for, the theme, the channel, whether the person was accompanied
in a procedure and is new this year), never who asked.

A request and its daily counter are written by the same transaction; a request taken back
(a slip of the finger, the same day) takes its unit back from the counter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.models import (
    DeskRequest,
    DeskRequestCount,
    DeskRollup,
    Partner,
    RequestTheme,
    Site,
)
from visio.db.statements.audit import Details
from visio.db.statements.statistics import DeskKey, DeskMeasures, add_desk_counts
from visio.domain import RequestChannel
from visio.i18n import lazy_gettext as _l
from visio.scheduling.calendars import time_zone
from visio.services import audit
from visio.services.errors import AlreadyExists, InvalidInput, NotFound
from visio.services.permissions import Action, Actor, require, require_site
from visio.services.records import DeskRequestView, ThemeView

THEME_CODE_LENGTH = 40
THEME_NAME_LENGTH = 120


def theme_view(theme: RequestTheme) -> ThemeView:
    return ThemeView(
        id=theme.id, code=theme.code, name=theme.name, name_en=theme.name_en,
        position=theme.position, active=theme.active,
    )  # fmt: skip


async def themes(
    session: AsyncSession, actor: Actor, *, active_only: bool = True
) -> list[ThemeView]:
    """The themes, in their order (the active ones only, unless asked)."""
    require(actor, Action.READ_SET_UP)
    query = select(RequestTheme).order_by(RequestTheme.position, RequestTheme.id)
    if active_only:
        query = query.where(RequestTheme.active)
    return [theme_view(theme) for theme in await session.scalars(query)]


async def add_theme(
    session: AsyncSession, actor: Actor, *, code: str, name: str, name_en: str, now: datetime
) -> ThemeView:
    """A new theme, last in the list. A code already taken is `AlreadyExists`."""
    require(actor, Action.SET_UP)
    code, name, name_en = code.strip(), name.strip(), name_en.strip()
    _check_names(name, name_en)
    if not code:
        raise InvalidInput(fields={"code": _l("Required.")})
    if await session.scalar(select(RequestTheme.id).where(RequestTheme.code == code)):
        raise AlreadyExists(fields={"code": _l("This code is already taken.")})
    last = await session.scalar(select(func.max(RequestTheme.position)))
    theme = RequestTheme(code=code, name=name, name_en=name_en, position=(last or 0) + 1)
    session.add(theme)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="theme.create", entity="request_theme",
        entity_id=theme.id, now=now, details={"code": code},
    )  # fmt: skip
    return theme_view(theme)


async def change_theme(
    session: AsyncSession,
    actor: Actor,
    theme_id: int,
    *,
    name: str | None = None,
    name_en: str | None = None,
    position: int | None = None,
    active: bool | None = None,
    now: datetime,
) -> ThemeView:
    """Rename, move or (de)activate a theme: one in use stays in the statistics, so a theme
    is never deleted."""
    require(actor, Action.SET_UP)
    theme = await session.get(RequestTheme, theme_id)
    if theme is None:
        raise NotFound()
    new_name = theme.name if name is None else name.strip()
    new_name_en = theme.name_en if name_en is None else name_en.strip()
    _check_names(new_name, new_name_en)
    changes: Details = {}
    for field, value in (
        ("name", new_name), ("name_en", new_name_en), ("position", position), ("active", active),
    ):  # fmt: skip
        if value is not None and getattr(theme, field) != value:
            setattr(theme, field, value)
            changes[field] = value if not isinstance(value, bool) else int(value)
    await session.flush()
    if changes:
        audit.record(
            session, actor_id=actor.user_id, action="theme.update", entity="request_theme",
            entity_id=theme.id, now=now, details=changes,
        )  # fmt: skip
    return theme_view(theme)


def _check_names(name: str, name_en: str) -> None:
    errors = {}
    for field, value in (("name", name), ("name_en", name_en)):
        if not value:
            errors[field] = _l("Required.")
        elif len(value) > THEME_NAME_LENGTH:
            errors[field] = _l("At most %(count)s characters.", count=THEME_NAME_LENGTH)
    if errors:
        raise InvalidInput(fields=errors)


async def record(
    session: AsyncSession,
    actor: Actor,
    *,
    site_id: int,
    theme_id: int | None,
    channel: RequestChannel,
    partner_id: int | None = None,
    accompanied: bool = False,
    new_person: bool = False,
    kind: str | None = None,
    now: datetime,
) -> DeskRequestView:
    """Count one request at the house's desk, and its daily counter, in one transaction.

    An unknown partner or an unknown or retired theme is `InvalidInput` by field; a house
    not the actor's is `NotFound`. The theme may be missing only when `kind` says what the
    request was about (the API of earlier versions)."""
    require_site(actor, Action.RECORD_DESK_REQUEST, site_id)
    timezone = await session.scalar(select(Site.timezone).where(Site.id == site_id))
    if timezone is None:
        raise NotFound()
    errors = {}
    if partner_id is not None and await session.get(Partner, partner_id) is None:
        errors["partner_id"] = _l("No such partner.")
    if theme_id is not None:
        active = await session.scalar(
            select(RequestTheme.active).where(RequestTheme.id == theme_id)
        )
        if active is None:
            errors["theme_id"] = _l("No such theme.")
        elif not active:
            errors["theme_id"] = _l("This theme is no longer in use.")
    elif not kind:
        errors["theme_id"] = _l("Required.")
    if errors:
        raise InvalidInput(fields=errors)
    local = now.astimezone(time_zone(timezone))
    request = DeskRequest(
        site_id=site_id, partner_id=partner_id, theme_id=theme_id, kind=kind or None,
        channel=channel, accompanied=accompanied, new_person=new_person, at=now,
        day=local.date(), recorded_by_id=actor.user_id,
    )  # fmt: skip
    session.add(request)
    await session.flush()
    await _count(session, request, +1)
    return _view(request, timezone)


async def take_back(session: AsyncSession, actor: Actor, request_id: int, *, now: datetime) -> None:
    """Take back a request recorded by mistake: one of the actor's houses, recorded on the
    house's day of today (the counts of a past day are settled). Otherwise `NotFound`."""
    request = await session.get(DeskRequest, request_id)
    if request is None:
        raise NotFound()
    require_site(actor, Action.RECORD_DESK_REQUEST, request.site_id)
    timezone = await session.scalar(select(Site.timezone).where(Site.id == request.site_id))
    assert timezone is not None  # a foreign key
    if request.day != now.astimezone(time_zone(timezone)).date():
        raise NotFound()
    await _count(session, request, -1)
    await session.execute(delete(DeskRequest).where(DeskRequest.id == request_id))


async def today(
    session: AsyncSession, actor: Actor, site_id: int, *, now: datetime
) -> list[DeskRequestView]:
    """The requests counted at the house today, the latest first (the desk's panel)."""
    require_site(actor, Action.RECORD_DESK_REQUEST, site_id)
    timezone = await session.scalar(select(Site.timezone).where(Site.id == site_id))
    if timezone is None:
        raise NotFound()
    day = now.astimezone(time_zone(timezone)).date()
    rows = await session.scalars(
        select(DeskRequest)
        .where(DeskRequest.site_id == site_id, DeskRequest.day == day)
        .order_by(DeskRequest.at.desc(), DeskRequest.id.desc())
    )
    return [_view(request, timezone) for request in rows]


async def _count(session: AsyncSession, request: DeskRequest, sign: int) -> None:
    key = DeskKey(
        request.site_id, request.partner_id or 0, request.theme_id or 0, request.channel,
        request.day,
    )  # fmt: skip
    both = request.accompanied and request.new_person
    measures = DeskMeasures(
        sign, sign * request.accompanied, sign * request.new_person, sign * both
    )
    await add_desk_counts(await session.connection(), {key: measures})


def _view(request: DeskRequest, timezone: str) -> DeskRequestView:
    return DeskRequestView(
        id=request.id, site_id=request.site_id, partner_id=request.partner_id,
        theme_id=request.theme_id, kind=request.kind, channel=request.channel,
        accompanied=request.accompanied, new_person=request.new_person,
        at=request.at.astimezone(time_zone(timezone)), day=request.day,
    )  # fmt: skip


async def rebuild(session: AsyncSession) -> int:
    """Count every desk request again into fresh counters; the number counted."""
    totals: dict[DeskKey, list[int]] = {}
    rows = await session.stream(
        select(
            DeskRequest.site_id, DeskRequest.partner_id, DeskRequest.theme_id,
            DeskRequest.channel, DeskRequest.day, DeskRequest.accompanied,
            DeskRequest.new_person,
        ).execution_options(yield_per=10_000)
    )  # fmt: skip
    counted = 0
    async for site_id, partner_id, theme_id, channel, day, accompanied, new_person in rows:
        key = DeskKey(site_id, partner_id or 0, theme_id or 0, channel, day)
        sums = totals.setdefault(key, [0, 0, 0, 0])
        sums[0] += 1
        sums[1] += accompanied
        sums[2] += new_person
        sums[3] += accompanied and new_person
        counted += 1
    await session.execute(delete(DeskRollup))  # refilled by the triggers, as the counters
    await session.execute(delete(DeskRequestCount))
    items = [(key, DeskMeasures(*sums)) for key, sums in totals.items()]
    connection = await session.connection()
    for first in range(0, len(items), 5_000):
        await add_desk_counts(connection, dict(items[first : first + 5_000]))
    return counted
