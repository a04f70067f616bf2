"""Partners and their motives (démarches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from visio.db.models import (
    Agent,
    Appointment,
    DeskRequest,
    Motive,
    Partner,
)
from visio.db.models.agents import rule_motives
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.changes import KEEP, ActiveState, Keep, matching
from visio.services.errors import AlreadyExists, NotFound
from visio.services.permissions import Action, Actor, require
from visio.services.records import (
    Listing,
    MotiveSummary,
    MotiveView,
    PartnerView,
)
from visio.services.setup.common import (
    flush_unique,
    refuse_if_booked,
    refuse_if_used,
    require_admin,
)


def motive_summary(motive: Motive) -> MotiveSummary:
    return MotiveSummary(id=motive.id, name=motive.name, duration_minutes=motive.duration_minutes)


def motive_view(motive: Motive) -> MotiveView:
    return MotiveView(
        id=motive.id, name=motive.name, duration_minutes=motive.duration_minutes,
        partner_id=motive.partner_id, slot_step_minutes=motive.slot_step_minutes,
        buffer_before_minutes=motive.buffer_before_minutes,
        buffer_after_minutes=motive.buffer_after_minutes,
        min_notice_minutes=motive.min_notice_minutes, horizon_days=motive.horizon_days,
        documents=list(motive.documents), instructions=motive.instructions,
        reminder_offsets_minutes=list(motive.reminder_offsets), active=motive.active,
    )  # fmt: skip


def partner_view(partner: Partner, motives: Sequence[Motive]) -> PartnerView:
    return PartnerView(
        id=partner.id, code=partner.code, name=partner.name,
        motives=[motive_summary(motive) for motive in motives], active=partner.active,
    )  # fmt: skip


# ---------------------------------------------------------------- partners and motives


async def create_partner(
    session: AsyncSession, actor: Actor, *, code: str, name: str, now: datetime
) -> PartnerView:
    """A partner organisation (CAF, CPAM…), known by a unique short code."""
    require_admin(actor)
    conflict = _code_taken()
    if await session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise conflict
    partner = Partner(code=code, name=name, active=True, created_at=now)
    partner.motives = []
    session.add(partner)
    await flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="partner.create", entity="partner",
        entity_id=partner.id, now=now, details={"code": code},
    )  # fmt: skip
    return partner_view(partner, [])


async def list_partners(session: AsyncSession, actor: Actor) -> list[PartnerView]:
    """Every partner still in the network with its offered motives, by code."""
    return (await find_partners(session, actor)).items


async def find_partners(
    session: AsyncSession, actor: Actor, *, search: str = "", state: ActiveState = "active",
    page: int = 1, per_page: int | None = None,
) -> Listing[PartnerView]:  # fmt: skip
    """The partners by code, with their offered motives: those in the network (`state`),
    gone, or all; whose code or name holds `search`; a page of `per_page` (None: all)."""
    require(actor, Action.READ_SET_UP)
    criteria: list[ColumnElement[bool]] = []
    if state != "all":
        criteria.append(Partner.active.is_(state == "active"))
    criteria += matching(search, Partner.code, Partner.name)
    counted = select(func.count()).select_from(Partner).where(*criteria)
    total = int(await session.scalar(counted) or 0)
    query = (
        select(Partner).where(*criteria).order_by(Partner.code)
        .options(selectinload(Partner.motives))
    )  # fmt: skip
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    items = [
        partner_view(partner, [motive for motive in partner.motives if motive.active])
        for partner in await session.scalars(query)
    ]
    return Listing(items, total, page, per_page)


async def get_partner(session: AsyncSession, actor: Actor, partner_id: int) -> PartnerView:
    """A partner with its offered motives."""
    require(actor, Action.READ_SET_UP)
    partner = await session.scalar(
        select(Partner).where(Partner.id == partner_id).options(selectinload(Partner.motives))
    )
    if partner is None:
        raise NotFound()
    return partner_view(partner, [motive for motive in partner.motives if motive.active])


async def change_partner(
    session: AsyncSession, actor: Actor, partner_id: int, *, code: str | Keep = KEEP,
    name: str | Keep = KEEP, active: bool | Keep = KEEP, now: datetime,
) -> PartnerView:  # fmt: skip
    """Correct a partner's code or name (a code another partner has: refused by field), or
    mark it gone from the network (`active` false: refused while appointments with its
    agents are to come, listed) or back."""
    require_admin(actor)
    partner = await session.scalar(
        select(Partner).where(Partner.id == partner_id).options(selectinload(Partner.motives))
    )
    if partner is None:
        raise NotFound()
    conflict = _code_taken()
    if isinstance(code, str) and code != partner.code:
        taken = select(Partner.id).where(Partner.code == code, Partner.id != partner_id)
        if await session.scalar(taken) is not None:
            raise conflict
    if active is False and partner.active:
        await refuse_if_booked(session, Appointment.partner_id == partner_id, now)
    changed = []
    for field, value in (("code", code), ("name", name), ("active", active)):
        if not isinstance(value, Keep) and value != getattr(partner, field):
            setattr(partner, field, value)
            changed.append(field)
    await flush_unique(session, conflict)
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="partner.change", entity="partner",
            entity_id=partner_id, now=now, details={"fields": ", ".join(changed)},
        )  # fmt: skip
    return partner_view(partner, [motive for motive in partner.motives if motive.active])


async def delete_partner(
    session: AsyncSession, actor: Actor, partner_id: int, *, now: datetime
) -> None:
    """Remove a partner created by mistake, with its motives. One with agents, a history
    (appointments, desk requests) or named by a user is refused (`InUse`, saying what):
    it is marked gone instead."""
    require_admin(actor)
    partner = await session.get(Partner, partner_id)
    if partner is None:
        raise NotFound()
    uses = {
        "agents": select(func.count()).select_from(Agent).where(Agent.partner_id == partner_id),
        "appointments": select(func.count()).select_from(Appointment)
        .where(Appointment.partner_id == partner_id),
        "desk_requests": select(func.count()).select_from(DeskRequest)
        .where(DeskRequest.partner_id == partner_id),
    }  # fmt: skip
    await refuse_if_used(
        session,
        uses,
        _l("This partner has agents or a history: mark it gone instead (active: false)."),
    )
    await session.execute(delete(Motive).where(Motive.partner_id == partner_id))
    await session.execute(delete(Partner).where(Partner.id == partner_id))
    session.expunge(partner)
    audit.record(
        session, actor_id=actor.user_id, action="partner.delete", entity="partner",
        entity_id=partner_id, now=now, details={"code": partner.code},
    )  # fmt: skip


def _code_taken() -> AlreadyExists:
    return AlreadyExists(
        _l("A partner with this code already exists."), fields={"code": _l("Already used.")}
    )


@dataclass(frozen=True, slots=True)
class MotiveSettings:
    name: str
    duration_minutes: int
    slot_step_minutes: int | None
    buffer_before_minutes: int
    buffer_after_minutes: int
    min_notice_minutes: int
    horizon_days: int
    documents: list[str]
    instructions: str
    reminder_offsets_minutes: list[int]


async def create_motive(
    session: AsyncSession, actor: Actor, *, partner_id: int, motive: MotiveSettings, now: datetime
) -> MotiveView:
    """A démarche of a partner: how long it lasts, its buffers, notice, horizon, documents."""
    require_admin(actor)
    if await session.get(Partner, partner_id) is None:
        raise NotFound()
    conflict = _motive_exists()
    taken = select(Motive.id).where(Motive.partner_id == partner_id, Motive.name == motive.name)
    if await session.scalar(taken) is not None:
        raise conflict
    record = Motive(
        partner_id=partner_id,
        name=motive.name,
        duration_minutes=motive.duration_minutes,
        slot_step_minutes=motive.slot_step_minutes,
        buffer_before_minutes=motive.buffer_before_minutes,
        buffer_after_minutes=motive.buffer_after_minutes,
        min_notice_minutes=motive.min_notice_minutes,
        horizon_days=motive.horizon_days,
        documents=list(motive.documents),
        instructions=motive.instructions,
        reminder_offsets=sorted(set(motive.reminder_offsets_minutes), reverse=True),
        active=True,
    )
    session.add(record)
    await flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="motive.create", entity="motive",
        entity_id=record.id, now=now, details={"partner_id": partner_id, "name": motive.name},
    )  # fmt: skip
    return motive_view(record)


async def get_motive(session: AsyncSession, actor: Actor, motive_id: int) -> MotiveView:
    """A motive with all its settings, offered or retired."""
    require(actor, Action.READ_SET_UP)
    motive = await session.get(Motive, motive_id)
    if motive is None:
        raise NotFound()
    return motive_view(motive)


async def partner_motives(session: AsyncSession, actor: Actor, partner_id: int) -> list[MotiveView]:
    """Every motive of a partner with its settings: those offered first, then those
    retired, each by name (a partner unknown: `NotFound`)."""
    require(actor, Action.READ_SET_UP)
    if await session.get(Partner, partner_id) is None:
        raise NotFound()
    motives = await session.scalars(
        select(Motive).where(Motive.partner_id == partner_id)
        .order_by(Motive.active.desc(), Motive.name, Motive.id)
    )  # fmt: skip
    return [motive_view(motive) for motive in motives]


@dataclass(frozen=True, slots=True)
class MotiveChanges:
    """What a correction of a motive changes: each field given, the others `KEEP`.
    Appointments already booked keep their times; new bookings follow the new settings."""

    name: str | Keep = KEEP
    duration_minutes: int | Keep = KEEP
    slot_step_minutes: int | Keep | None = KEEP
    buffer_before_minutes: int | Keep = KEEP
    buffer_after_minutes: int | Keep = KEEP
    min_notice_minutes: int | Keep = KEEP
    horizon_days: int | Keep = KEEP
    documents: list[str] | Keep = KEEP
    instructions: str | Keep = KEEP
    reminder_offsets_minutes: list[int] | Keep = KEEP
    active: bool | Keep = KEEP


async def change_motive(
    session: AsyncSession, actor: Actor, motive_id: int, changes: MotiveChanges, *,
    now: datetime,
) -> MotiveView:  # fmt: skip
    """Correct a motive, field by field (a name the partner uses already: refused by
    field), or retire it (`active` false: no new booking; those booked stay) or offer it
    again."""
    require_admin(actor)
    motive = await session.get(Motive, motive_id)
    if motive is None:
        raise NotFound()
    conflict = _motive_exists()
    if isinstance(changes.name, str) and changes.name != motive.name:
        taken = select(Motive.id).where(
            Motive.partner_id == motive.partner_id, Motive.name == changes.name,
            Motive.id != motive_id,
        )  # fmt: skip
        if await session.scalar(taken) is not None:
            raise conflict
    changed = []
    for field in ("name", "duration_minutes", "slot_step_minutes", "buffer_before_minutes",
                  "buffer_after_minutes", "min_notice_minutes", "horizon_days", "documents",
                  "instructions", "active"):  # fmt: skip
        value = getattr(changes, field)
        if not isinstance(value, Keep) and value != getattr(motive, field):
            setattr(motive, field, list(value) if isinstance(value, list) else value)
            changed.append(field)
    if not isinstance(changes.reminder_offsets_minutes, Keep):
        offsets = sorted(set(changes.reminder_offsets_minutes), reverse=True)
        if offsets != list(motive.reminder_offsets):
            motive.reminder_offsets = offsets
            changed.append("reminder_offsets_minutes")
    await flush_unique(session, conflict)
    if changed:
        audit.record(
            session, actor_id=actor.user_id, action="motive.change", entity="motive",
            entity_id=motive_id, now=now, details={"fields": ", ".join(changed)},
        )  # fmt: skip
    return motive_view(motive)


async def delete_motive(
    session: AsyncSession, actor: Actor, motive_id: int, *, now: datetime
) -> None:
    """Remove a motive created by mistake; one with appointments or named by a permanence
    is refused (`InUse`, saying what): it is retired instead."""
    require_admin(actor)
    motive = await session.get(Motive, motive_id)
    if motive is None:
        raise NotFound()
    uses = {
        "appointments": select(func.count()).select_from(Appointment)
        .where(Appointment.motive_id == motive_id),
        "permanences": select(func.count()).select_from(rule_motives)
        .where(rule_motives.c.motive_id == motive_id),
    }  # fmt: skip
    await refuse_if_used(
        session,
        uses,
        _l("This motive has appointments or permanences: retire it instead (active: false)."),
    )
    await session.delete(motive)
    await session.flush()
    audit.record(
        session, actor_id=actor.user_id, action="motive.delete", entity="motive",
        entity_id=motive_id, now=now, details={"partner_id": motive.partner_id},
    )  # fmt: skip


def _motive_exists() -> AlreadyExists:
    return AlreadyExists(
        _l("This partner already has a motive with this name."),
        fields={"name": _l("Already used.")},
    )
