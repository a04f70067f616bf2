"""The five houses of the demo: four in Hautes Terres Communauté (Cantal), one in Pélussin."""

from __future__ import annotations

import dataclasses
from datetime import time

PARIS = "Europe/Paris"

# Every house opens these two half-days on its open weekdays.
MORNING = (time(9), time(12))
AFTERNOON = (time(13, 30), time(17))


@dataclasses.dataclass(frozen=True)
class SiteSpec:
    """A France Services house as the demo creates it."""

    name: str
    commune: str
    address: str
    stations: tuple[str, ...]
    # ISO weekdays (1 is Monday) the house is open.
    weekdays: tuple[int, ...]
    # The year the house started holding visio sessions.
    since: int

    @property
    def in_hautes_terres(self) -> bool:
        """Whether the house belongs to Hautes Terres Communauté (all but Pélussin)."""
        return self.commune != "Pélussin"


SITES = (
    SiteSpec(
        name="France Services Murat",
        commune="Murat",
        address="Maison des services, 15300 Murat",
        stations=("Cabine visio 1", "Cabine visio 2"),
        weekdays=(1, 2, 3, 4, 5),
        since=2019,
    ),
    SiteSpec(
        name="France Services Neussargues",
        commune="Neussargues en Pinatelle",
        address="Maison des services, 15170 Neussargues en Pinatelle",
        stations=("Poste visio",),
        weekdays=(1, 2, 4, 5),
        since=2019,
    ),
    SiteSpec(
        name="France Services Massiac",
        commune="Massiac",
        address="Maison des services, 15500 Massiac",
        stations=("Poste visio",),
        weekdays=(1, 3, 5),
        since=2020,
    ),
    SiteSpec(
        name="France Services Allanche",
        commune="Allanche",
        address="Maison des services, 15160 Allanche",
        stations=("Poste visio",),
        weekdays=(2, 4),
        since=2020,
    ),
    SiteSpec(
        name="Maison des services du Pilat rhodanien",
        commune="Pélussin",
        address="Maison des services, 42410 Pélussin",
        stations=("Bureau visio A", "Bureau visio B"),
        weekdays=(1, 2, 3, 4, 5),
        since=2021,
    ),
)
