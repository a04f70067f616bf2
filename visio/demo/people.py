"""The demo's accounts, and the names its citizens are drawn from."""

from __future__ import annotations

import dataclasses

from visio.db.models import Role


@dataclasses.dataclass(frozen=True)
class DemoUser:
    """One account of the demo, one per role; its password is drawn at each start."""

    role: Role
    email: str
    # An agent account's name is that of its agent record.
    name: str
    # The communes of the houses a desk or coordinator account works for.
    communes: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser(Role.ADMIN, "admin@visio.example", "Administratrice visio"),
    DemoUser(
        Role.DESK,
        "accueil.murat@visio.example",
        "Agnès Chastel (accueil Murat)",
        communes=("Murat", "Neussargues en Pinatelle"),
    ),
    DemoUser(
        Role.COORDINATOR,
        "coordination@hautesterres.example",
        "Coordination Hautes Terres",
        communes=("Murat", "Neussargues en Pinatelle", "Massiac", "Allanche"),
    ),
    DemoUser(Role.AGENT, "isabelle.delmas@caf.example", "Isabelle Delmas"),
)

FIRST_NAMES = (
    "Marie", "Jean", "Monique", "Pierre", "Nathalie", "Michel", "Sophie", "Alain", "Lucie",
    "Gérard", "Camille", "Louis", "Chantal", "Julien", "Léa", "Bernard", "Inès", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Chassang", "Rigal", "Vermenouze", "Boudon", "Delort",
    "Malbec", "Teyssier", "Fournier", "Girard", "Bonal", "Chabaud", "Mercier", "Roche",
)  # fmt: skip


def email_address(name: str, domain: str) -> str:
    """A plausible address for `name` at `domain`: "Hélène Brunet" gives helene.brunet@…

    Only "é" and "è" lose their accent: the demo's names carry no other.
    """
    plain = name.lower().replace("é", "e").replace("è", "e").replace(" ", ".")
    return f"{plain}@{domain}"
