"""The demo: the houses of Hautes Terres Communauté and Pélussin, their partners, agents and
seven years of visio history (12 sessions held in 2019, 110 in 2020, then growing).

Everything is generated from a fixed seed, so two demos show the same figures; only the
passwords and the API token are drawn afresh at each start and printed once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import command
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from visio.db.engine import make_engine, make_sessionmaker
from visio.db.migrate import alembic_config, upgrade_engine
from visio.db.models import (
    Agent,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    AvailabilityRule,
    Citizen,
    DeskRequest,
    Motive,
    OpeningHour,
    Partner,
    RequestChannel,
    Role,
    Site,
    Station,
    User,
)
from visio.meetings.rooms import new_room_name
from visio.scheduling.calendars import public_holidays
from visio.services import accounts
from visio.services.citizens import name_key
from visio.settings import Settings

SEED = 2020
PARIS = "Europe/Paris"

# Held visio sessions per year: the first two are the community's published figures.
HELD_PER_YEAR = {2019: 12, 2020: 110, 2021: 170, 2022: 240, 2023: 310, 2024: 380, 2025: 450}
HELD_2026_FULL_YEAR = 520
# Desk requests per year at the four houses of Hautes Terres (8,600 in 2020: 24 a day).
DESK_REQUESTS_PER_YEAR = {2019: 7_400, 2020: 8_620}
DESK_REQUEST_GROWTH = 1.04

MORNING = (time(9), time(12))
AFTERNOON = (time(13, 30), time(17))


@dataclasses.dataclass(frozen=True)
class SiteSpec:
    name: str
    commune: str
    address: str
    stations: tuple[str, ...]
    weekdays: tuple[int, ...]
    # The year the house started holding visio sessions.
    since: int


SITES = (
    SiteSpec(
        "France Services Murat",
        "Murat",
        "Maison des services, 15300 Murat",
        ("Cabine visio 1", "Cabine visio 2"),
        (1, 2, 3, 4, 5),
        2019,
    ),
    SiteSpec(
        "France Services Neussargues",
        "Neussargues en Pinatelle",
        "Maison des services, 15170 Neussargues en Pinatelle",
        ("Poste visio",),
        (1, 2, 4, 5),
        2019,
    ),
    SiteSpec(
        "France Services Massiac",
        "Massiac",
        "Maison des services, 15500 Massiac",
        ("Poste visio",),
        (1, 3, 5),
        2020,
    ),
    SiteSpec(
        "France Services Allanche",
        "Allanche",
        "Maison des services, 15160 Allanche",
        ("Poste visio",),
        (2, 4),
        2020,
    ),
    SiteSpec(
        "Maison des services du Pilat rhodanien",
        "Pélussin",
        "Maison des services, 42410 Pélussin",
        ("Bureau visio A", "Bureau visio B"),
        (1, 2, 3, 4, 5),
        2021,
    ),
)

# (code, name, weight in the desk's requests, motives: (name, minutes, documents))
PARTNERS: tuple[tuple[str, str, int, tuple[tuple[str, int, tuple[str, ...]], ...]], ...] = (
    (
        "FT",
        "France Travail",
        30,
        (
            (
                "Inscription et actualisation",
                45,
                ("Pièce d'identité", "CV à jour", "Attestation employeur"),
            ),
            ("Entretien de suivi", 30, ("Identifiant France Travail",)),
            (
                "Indemnisation chômage",
                30,
                ("Identifiant France Travail", "Relevé d'identité bancaire"),
            ),
        ),
    ),
    (
        "CAF",
        "Caisse d'allocations familiales du Cantal",
        25,
        (
            (
                "Prime d'activité et RSA",
                30,
                ("Numéro d'allocataire", "Trois derniers bulletins de salaire"),
            ),
            ("Aide au logement", 30, ("Numéro d'allocataire", "Bail ou quittance de loyer")),
            ("Changement de situation", 20, ("Numéro d'allocataire",)),
        ),
    ),
    (
        "CPAM",
        "Assurance maladie (CPAM du Cantal)",
        20,
        (
            (
                "Complémentaire santé solidaire",
                30,
                ("Carte Vitale", "Avis d'imposition", "Justificatifs de ressources"),
            ),
            ("Indemnités journalières", 20, ("Carte Vitale", "Arrêt de travail")),
            ("Carte Vitale et droits", 20, ("Carte Vitale", "Pièce d'identité")),
        ),
    ),
    (
        "ANTS",
        "Ministère de l'Intérieur (ANTS)",
        12,
        (
            (
                "Permis de conduire",
                20,
                ("Pièce d'identité", "Photo d'identité numérique (e-photo)"),
            ),
            ("Carte grise", 20, ("Certificat de cession", "Justificatif de domicile")),
            ("Pré-demande de carte d'identité ou de passeport", 20, ("Justificatif de domicile",)),
        ),
    ),
    (
        "DGFIP",
        "Finances publiques (DGFiP)",
        6,
        (
            ("Déclaration de revenus", 30, ("Numéro fiscal", "Dernier avis d'imposition")),
            ("Paiement et réclamation", 20, ("Numéro fiscal", "Courrier reçu")),
        ),
    ),
    (
        "MSA",
        "MSA Auvergne",
        4,
        (
            ("Retraite des exploitants agricoles", 45, ("Relevé de carrière", "Numéro MSA")),
            ("Prestations familiales MSA", 30, ("Numéro MSA",)),
        ),
    ),
    (
        "CARSAT",
        "Carsat Auvergne",
        3,
        (("Préparer sa retraite", 45, ("Relevé de carrière", "Pièce d'identité")),),
    ),
)

AGENT_NAMES = {
    "FT": ("Claire Vidal", "Mathieu Roux", "Sandrine Chabrier"),
    "CAF": ("Isabelle Delmas", "Thomas Bonnet", "Nadia Benali"),
    "CPAM": ("Julie Fabre", "Laurent Mazet"),
    "ANTS": ("Céline Moreau", "Yannick Le Gall"),
    "DGFIP": ("Pierre Lafon", "Émilie Vergne"),
    "MSA": ("Bernard Couderc",),
    "CARSAT": ("Hélène Brunet",),
}

FIRST_NAMES = (
    "Marie", "Jean", "Monique", "Pierre", "Nathalie", "Michel", "Sophie", "Alain", "Lucie",
    "Gérard", "Camille", "Louis", "Chantal", "Julien", "Léa", "Bernard", "Inès", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Chassang", "Rigal", "Vermenouze", "Boudon", "Delort",
    "Malbec", "Teyssier", "Fournier", "Girard", "Bonal", "Chabaud", "Mercier", "Roche",
)  # fmt: skip

DESK_KINDS = {
    "FT": ("Inscription", "Actualisation", "Attestation"),
    "CAF": ("Prime d'activité", "Aide au logement", "RSA"),
    "CPAM": ("Carte Vitale", "Remboursements", "Complémentaire santé"),
    "ANTS": ("Carte grise", "Permis de conduire", "Carte d'identité"),
    "DGFIP": ("Impôt sur le revenu", "Taxe foncière"),
    "MSA": ("Retraite agricole", "Cotisations"),
    "CARSAT": ("Retraite",),
}


@dataclasses.dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str
    token: str | None = None


DEMO_USERS = (
    ("admin", "admin@visio.example", "Administratrice visio"),
    ("desk", "accueil.murat@visio.example", "Agnès Chastel (accueil Murat)"),
    ("coordinator", "coordination@hautesterres.example", "Coordination Hautes Terres"),
    ("agent", "isabelle.delmas@caf.example", "Isabelle Delmas"),
)


async def prepare_demo(settings: Settings, *, reset: bool, now: datetime) -> list[DemoAccount]:
    """Make the demo database ready: erased first with `reset`, migrated, populated once.

    Returns the demo accounts with passwords (and, for the admin, an API token) drawn for
    this run; the previous ones stop working.
    """
    if reset:
        await _erase(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        await upgrade_engine(engine)
        async with make_sessionmaker(engine)() as session, session.begin():
            if not await session.scalar(select(func.count(Site.id))):
                # A fixed seed: demo data, not secrets.
                await populate(session, now=now, rng=random.Random(SEED))  # noqa: S311
            return await _fresh_credentials(session, now)
    finally:
        await engine.dispose()


async def _erase(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            for suffix in ("", "-wal", "-shm", "-journal"):
                await asyncio.to_thread(Path(database + suffix).unlink, missing_ok=True)
        return
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:

            def downgrade(sync_connection: object) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_connection
                command.downgrade(config, "base")

            await connection.run_sync(downgrade)
            await connection.commit()
    finally:
        await engine.dispose()


async def _fresh_credentials(session: AsyncSession, now: datetime) -> list[DemoAccount]:
    result = []
    for role, email, _name in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        await session.execute(
            update(User)
            .where(User.email == email)
            .values(password_hash=accounts.hash_password(password))
        )
        token = None
        if role == "admin":
            user_id = await session.scalar(select(User.id).where(User.email == email))
            assert user_id is not None
            _record, token = await accounts.create_token(
                session, None, user_id=user_id, label="demo", now=now
            )
        result.append(DemoAccount(role, email, password, token))
    return result


def _local(day: date, at: time, zone: str = PARIS) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _working_days(first: date, last: date, closed: frozenset[date]) -> Iterator[date]:
    day = first
    while day <= last:
        if day.isoweekday() <= 5 and day not in closed:
            yield day
        day += timedelta(days=1)


async def populate(session: AsyncSession, *, now: datetime, rng: random.Random) -> None:
    """Insert the whole demo data set in the current transaction."""
    # Houses, their stations and opening hours.
    sites: list[tuple[SiteSpec, Site, list[Station]]] = []
    for spec in SITES:
        site = Site(
            name=spec.name,
            commune=spec.commune,
            address=spec.address,
            timezone=PARIS,
            holiday_calendar=None,
            created_at=now,
        )
        site.opening_hours = [
            OpeningHour(weekday=weekday, start=start, end=end)
            for weekday in spec.weekdays
            for start, end in (MORNING, AFTERNOON)
        ]
        stations = [Station(name=name, site=site, created_at=now) for name in spec.stations]
        session.add_all([site, *stations])
        sites.append((spec, site, stations))

    # Partners, motives, agents and their weekly permanences.
    partners: list[tuple[str, int, Partner, list[Motive], list[Agent]]] = []
    for code, name, weight, motive_specs in PARTNERS:
        partner = Partner(code=code, name=name, created_at=now)
        motives = [
            Motive(
                partner=partner,
                name=motive_name,
                duration_minutes=minutes,
                slot_step_minutes=15 if minutes == 45 else None,
                buffer_after_minutes=10 if minutes >= 30 else 5,
                min_notice_minutes=120,
                horizon_days=60,
                documents=list(documents),
                instructions="Prévoir une adresse électronique et son téléphone portable.",
                reminder_offsets=[1440, 60],
            )
            for motive_name, minutes, documents in motive_specs
        ]
        session.add_all([partner, *motives])
        partners.append((code, weight, partner, motives, []))
    await session.flush()
    for code, _weight, partner, _motives, agents in partners:
        agents.extend(
            Agent(
                partner_id=partner.id,
                name=agent_name,
                email=_email(agent_name, code.lower() + ".example"),
                timezone=PARIS,
                locale="fr",
                created_at=now,
            )
            for agent_name in AGENT_NAMES[code]
        )
        session.add_all(agents)
    await session.flush()

    # Each agent holds two half-day permanences a week, for a few houses.
    site_ids = [site.id for _spec, site, _stations in sites]
    rule_index = 0
    permanences: dict[int, list[tuple[int, tuple[time, time], list[int]]]] = {}
    for _code, _weight, _partner, _motives, agents in partners:
        for agent in agents:
            permanences[agent.id] = []
            for half in range(2):
                weekday = 1 + (rule_index * 2 + half * 3) % 5
                hours = MORNING if (rule_index + half) % 2 == 0 else AFTERNOON
                served = [site_ids[(rule_index + half + k) % len(site_ids)] for k in range(3)]
                rule = AvailabilityRule(
                    agent_id=agent.id,
                    weekdays=[weekday],
                    start=hours[0],
                    end=hours[1],
                    every_weeks=1,
                    valid_from=date(2019, 1, 1),
                    created_at=now,
                )
                rule.sites = [site for _s, site, _st in sites if site.id in served]
                rule.motives = []
                session.add(rule)
                permanences[agent.id].append((weekday, hours, served))
            rule_index += 1
    await session.flush()

    # Accounts, one per role.
    caf_agent = next(
        agent for code, *_rest, agents in partners if code == "CAF" for agent in agents
    )
    hautes_terres = [site.id for spec, site, _st in sites if spec.commune != "Pélussin"]
    for role, email, name in DEMO_USERS:
        await accounts.create_user(
            session,
            None,
            email=email,
            name=name,
            role=Role(role),
            site_ids=(
                [site_ids[0], site_ids[1]]
                if role == "desk"
                else hautes_terres
                if role == "coordinator"
                else []
            ),
            agent_id=caf_agent.id if role == "agent" else None,
            password=None,
            now=now,
        )
    desk_user_id = await session.scalar(select(User.id).where(User.role == Role.DESK))

    await _history(session, sites, partners, permanences, now=now, rng=rng, booked_by=desk_user_id)
    await _desk_requests(session, sites, partners, now=now, rng=rng)


def _email(name: str, domain: str) -> str:
    plain = name.lower().replace("é", "e").replace("è", "e").replace(" ", ".")
    return f"{plain}@{domain}"


async def _history(
    session: AsyncSession,
    sites: list[tuple[SiteSpec, Site, list[Station]]],
    partners: list[tuple[str, int, Partner, list[Motive], list[Agent]]],
    permanences: dict[int, list[tuple[int, tuple[time, time], list[int]]]],
    *,
    now: datetime,
    rng: random.Random,
    booked_by: int | None,
) -> None:
    """Past appointments (held, missed, cancelled) and the coming weeks' bookings."""
    today = now.astimezone(ZoneInfo(PARIS)).date()
    retention_start = today - timedelta(days=90)
    weights = [weight for _code, weight, *_rest in partners]
    # (agent id or station id, day, hour) already taken: one appointment per hour cell.
    taken: set[tuple[str, int, date, int]] = set()
    appointments: list[dict[str, object]] = []
    events: list[tuple[int, AppointmentStatus, datetime]] = []
    citizens: list[dict[str, object]] = []

    def place(
        day: date, hour: int, site: Site, stations: list[Station], agent: Agent
    ) -> Station | None:
        if ("agent", agent.id, day, hour) in taken:
            return None
        for station in stations:
            if ("station", station.id, day, hour) not in taken:
                taken.add(("agent", agent.id, day, hour))
                taken.add(("station", station.id, day, hour))
                return station
        return None

    def add(
        day: date,
        hour: int,
        spec_site: tuple[SiteSpec, Site, list[Station]],
        partner_entry: tuple[str, int, Partner, list[Motive], list[Agent]],
        agent: Agent,
        status: AppointmentStatus,
    ) -> bool:
        _spec, site, stations = spec_site
        _code, _weight, partner, motives, _agents = partner_entry
        station = place(day, hour, site, stations, agent)
        if station is None:
            return False
        motive = rng.choice(motives)
        # Within its hour cell, buffers included, so no two appointments' busy time meets.
        fits = [
            minute
            for minute in (0, 15, 30)
            if minute >= motive.buffer_before_minutes
            and minute + motive.duration_minutes + motive.buffer_after_minutes <= 60
        ]
        minute = rng.choice(fits or [0])
        start = _local(day, time(hour, minute))
        end = start + timedelta(minutes=motive.duration_minutes)
        citizen_index = None
        if day >= retention_start:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            with_email = rng.random() < 0.45
            citizens.append(
                {
                    "first_name": first,
                    "last_name": last,
                    "first_name_key": name_key(first),
                    "last_name_key": name_key(last),
                    "email": _email(f"{first} {last}", "courriel.example") if with_email else None,
                    "phone": f"06{rng.randrange(10**8):08d}" if rng.random() < 0.8 else None,
                    "locale": "fr",
                    "created_at": min(now, start - timedelta(days=rng.randint(1, 10))),
                }
            )
            citizen_index = len(citizens) - 1
        booked_at = min(now, start - timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 6)))
        appointments.append(
            {
                "site_id": site.id,
                "station_id": station.id,
                "partner_id": partner.id,
                "motive_id": motive.id,
                "agent_id": agent.id,
                "citizen": citizen_index,
                "start_at": start,
                "end_at": end,
                "busy_from": start - timedelta(minutes=motive.buffer_before_minutes),
                "busy_until": end + timedelta(minutes=motive.buffer_after_minutes),
                "status": status,
                "room": new_room_name(rng.randbytes),
                "booked_by_id": booked_by,
                "arrived_at": start - timedelta(minutes=5)
                if status in (AppointmentStatus.HELD, AppointmentStatus.AGENT_ABSENT)
                else None,
                "cancel_reason": "Empêchement de l'usager"
                if status is AppointmentStatus.CANCELLED
                else "",
                "created_at": booked_at,
                "updated_at": booked_at if status is AppointmentStatus.BOOKED else min(now, end),
            }
        )
        events.append((len(appointments) - 1, status, booked_at))
        return True

    years = dict(HELD_PER_YEAR)
    years[today.year] = round(HELD_2026_FULL_YEAR * (today.timetuple().tm_yday / 365))
    for year, held in sorted(years.items()):
        open_sites = [entry for entry in sites if entry[0].since <= year]
        last_day = min(date(year, 12, 31), today - timedelta(days=1))
        closed = public_holidays(None, date(year, 1, 1), date(year, 12, 31))
        days = list(_working_days(date(year, 1, 1), last_day, closed))
        if year == 2019:
            days = [day for day in days if day.month >= 9]  # the first visio sessions, autumn 2019
        # Held sessions are exact; missed and cancelled ones come on top, as at the desk.
        plan = (
            [AppointmentStatus.HELD] * held
            + [AppointmentStatus.NO_SHOW] * round(held * 0.07)
            + [AppointmentStatus.AGENT_ABSENT] * round(held * 0.02)
            + [AppointmentStatus.CANCELLED] * round(held * 0.10)
        )
        for status in plan:
            while True:
                day = rng.choice(days)
                site_entry = rng.choice(open_sites)
                if day.isoweekday() not in site_entry[0].weekdays:
                    continue
                partner_entry = rng.choices(partners, weights)[0]
                agent = rng.choice(partner_entry[4])
                hour = rng.choice((9, 10, 11, 14, 15, 16))
                if add(day, hour, site_entry, partner_entry, agent, status):
                    break

    # The coming three weeks, booked inside the agents' permanences.
    by_id = {site.id: (spec, site, stations) for spec, site, stations in sites}
    closed = public_holidays(None, today, today + timedelta(days=21))
    for day in _working_days(today + timedelta(days=1), today + timedelta(days=21), closed):
        for partner_entry in partners:
            for agent in partner_entry[4]:
                for weekday, (start, end), served in permanences[agent.id]:
                    if weekday != day.isoweekday() or rng.random() > 0.55:
                        continue
                    site_entry = by_id[rng.choice(served)]
                    if day.isoweekday() not in site_entry[0].weekdays:
                        continue
                    hours = [h for h in range(start.hour, end.hour) if time(h) >= start]
                    add(
                        day,
                        rng.choice(hours),
                        site_entry,
                        partner_entry,
                        agent,
                        AppointmentStatus.BOOKED,
                    )

    citizen_ids: list[int] = []
    if citizens:
        result = await session.execute(insert(Citizen).returning(Citizen.id), citizens)
        citizen_ids = list(result.scalars())
    for row in appointments:
        index = row.pop("citizen")
        row["citizen_id"] = citizen_ids[index] if isinstance(index, int) else None
    result = await session.execute(insert(Appointment).returning(Appointment.id), appointments)
    appointment_ids = list(result.scalars())
    history = []
    for index, status, booked_at in events:
        history.append(
            {
                "appointment_id": appointment_ids[index],
                "at": booked_at,
                "by_user_id": booked_by,
                "from_status": None,
                "to_status": AppointmentStatus.BOOKED,
                "note": "",
            }
        )
        if status != AppointmentStatus.BOOKED:
            history.append(
                {
                    "appointment_id": appointment_ids[index],
                    "at": appointments[index]["updated_at"],
                    "by_user_id": booked_by,
                    "from_status": AppointmentStatus.BOOKED,
                    "to_status": status,
                    "note": "",
                }
            )
    await session.execute(insert(AppointmentEvent), history)


async def _desk_requests(
    session: AsyncSession,
    sites: list[tuple[SiteSpec, Site, list[Station]]],
    partners: list[tuple[str, int, Partner, list[Motive], list[Agent]]],
    *,
    now: datetime,
    rng: random.Random,
) -> None:
    """Walk-in and phone requests at the Hautes Terres desks, year by year."""
    today = now.astimezone(ZoneInfo(PARIS)).date()
    hautes_terres = [site for spec, site, _st in sites if spec.commune != "Pélussin"]
    weights = [weight for _code, weight, *_rest in partners]
    counts = dict(DESK_REQUESTS_PER_YEAR)
    year, count = 2020, DESK_REQUESTS_PER_YEAR[2020]
    while year < today.year:
        year += 1
        count = round(count * DESK_REQUEST_GROWTH)
        counts[year] = count
    rows = []
    for year, count in sorted(counts.items()):
        closed = public_holidays(None, date(year, 1, 1), date(year, 12, 31))
        days = list(_working_days(date(year, 1, 1), date(year, 12, 31), closed))
        if year == today.year:
            count = round(count * sum(day < today for day in days) / len(days))
            days = [day for day in days if day < today]
        for _ in range(count):
            code, _weight, partner, _motives, _agents = rng.choices(partners, weights)[0]
            moment = time(rng.randint(9, 16), rng.randrange(0, 60, 5))
            rows.append(
                {
                    "site_id": rng.choice(hautes_terres).id,
                    "partner_id": partner.id,
                    "kind": rng.choice(DESK_KINDS[code]),
                    "channel": rng.choices(
                        (RequestChannel.IN_PERSON, RequestChannel.PHONE), (72, 28)
                    )[0],
                    "at": _local(rng.choice(days), moment),
                    "recorded_by_id": None,
                }
            )
    for start in range(0, len(rows), 5_000):
        await session.execute(insert(DeskRequest), rows[start : start + 5_000])
