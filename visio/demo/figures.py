"""The figures the demo's history follows, year by year."""

from __future__ import annotations

from datetime import date

from visio.db.models import AppointmentStatus

# A fixed seed: two demos show the same history.
SEED = 2020

# Held visio sessions per year: the first two are the community's published figures.
HELD_PER_YEAR = {2019: 12, 2020: 110, 2021: 170, 2022: 240, 2023: 310, 2024: 380, 2025: 450}
HELD_2026_FULL_YEAR = 520
# Missed and cancelled sessions, as shares of the held ones: they come on top, as at the desk.
NOT_HELD_SHARES = (
    (AppointmentStatus.NO_SHOW, 0.07),
    (AppointmentStatus.AGENT_ABSENT, 0.02),
    (AppointmentStatus.CANCELLED, 0.10),
)

# Desk requests per year at the four houses of Hautes Terres (8,620 in 2020: 24 a day).
DESK_REQUESTS_PER_YEAR = {2019: 7_400, 2020: 8_620}
DESK_REQUEST_GROWTH = 1.04
# People accompanied in a procedure (counted once a year each: "new person this year"),
# the community's published figures, then 3 % more a year.
PEOPLE_ACCOMPANIED_PER_YEAR = {2019: 1_634, 2020: 1_954}
PEOPLE_ACCOMPANIED_GROWTH = 1.03
# Of the other requests, the share where someone already seen this year was accompanied again.
ACCOMPANIED_AGAIN_SHARE = 0.30
# How requests reach the desk.
CHANNEL_WEIGHTS = {"in_person": 66, "phone": 24, "email": 6, "visio": 4}
# The requests for no partner in particular (a form to print, a letter to read…), and their
# themes.
UNATTACHED_SHARE = 0.12
UNATTACHED_THEMES = ("justice", "budget", "housing", "family")
# Each partner's requests by theme (the six France Services themes).
PARTNER_THEMES = {
    "FT": "employment",
    "CAF": "family",
    "CPAM": "health",
    "ANTS": "housing",
    "DGFIP": "budget",
    "MSA": "health",
    "CARSAT": "employment",
}


def held_per_year(today: date) -> dict[int, int]:
    """The visio sessions held each year, this year's prorated to `today`'s day of the year."""
    years = dict(HELD_PER_YEAR)
    years[today.year] = round(HELD_2026_FULL_YEAR * (today.timetuple().tm_yday / 365))
    return years


def people_accompanied_per_year(today: date) -> dict[int, int]:
    """The people accompanied each year up to `today`'s (this one whole: the caller
    prorates); 3 % more a year after 2020."""
    return _grown(PEOPLE_ACCOMPANIED_PER_YEAR, PEOPLE_ACCOMPANIED_GROWTH, today)


def desk_requests_per_year(today: date) -> dict[int, int]:
    """The desk requests of each year up to `today`'s (this one whole: the caller prorates);
    4 % more a year after 2020."""
    return _grown(DESK_REQUESTS_PER_YEAR, DESK_REQUEST_GROWTH, today)


def _grown(published: dict[int, int], growth: float, today: date) -> dict[int, int]:
    """The published years, then each year after 2020 up to `today`'s grown by `growth`."""
    counts = dict(published)
    year, count = 2020, published[2020]
    while year < today.year:
        year += 1
        count = round(count * growth)
        counts[year] = count
    return counts
