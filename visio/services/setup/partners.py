"""Partners and their motives (démarches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from visio.db.models import (
    Motive,
    Partner,
)
from visio.i18n import lazy_gettext as _l
from visio.services import audit
from visio.services.errors import AlreadyExists, NotFound
from visio.services.permissions import Action, Actor, require
from visio.services.records import (
    MotiveSummary,
    MotiveView,
    PartnerView,
)
from visio.services.setup.common import flush_unique, require_admin


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
        reminder_offsets_minutes=list(motive.reminder_offsets),
    )  # fmt: skip


def partner_view(partner: Partner, motives: Sequence[Motive]) -> PartnerView:
    return PartnerView(
        id=partner.id, code=partner.code, name=partner.name,
        motives=[motive_summary(motive) for motive in motives],
    )  # fmt: skip


# ---------------------------------------------------------------- partners and motives


async def create_partner(
    session: AsyncSession, actor: Actor, *, code: str, name: str, now: datetime
) -> PartnerView:
    """A partner organisation (CAF, CPAM…), known by a unique short code."""
    require_admin(actor)
    conflict = AlreadyExists(
        _l("A partner with this code already exists."), fields={"code": _l("Already used.")}
    )
    if await session.scalar(select(Partner.id).where(Partner.code == code)) is not None:
        raise conflict
    partner = Partner(code=code, name=name, created_at=now)
    partner.motives = []
    session.add(partner)
    await flush_unique(session, conflict)
    audit.record(
        session, actor_id=actor.user_id, action="partner.create", entity="partner",
        entity_id=partner.id, now=now, details={"code": code},
    )  # fmt: skip
    return partner_view(partner, [])


async def list_partners(session: AsyncSession, actor: Actor) -> list[PartnerView]:
    """Every partner with its active motives, by code."""
    require(actor, Action.READ_SET_UP)
    query = select(Partner).order_by(Partner.code).options(selectinload(Partner.motives))
    return [
        partner_view(partner, [motive for motive in partner.motives if motive.active])
        for partner in await session.scalars(query)
    ]


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
    conflict = AlreadyExists(
        _l("This partner already has a motive with this name."),
        fields={"name": _l("Already used.")},
    )
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
