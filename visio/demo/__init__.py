"""The demo: the houses of Hautes Terres Communauté and Pélussin, their partners, agents and
seven years of visio history (12 sessions held in 2019, 110 in 2020, then growing).

Everything is generated from a fixed seed, so two demos show the same figures; only the
passwords and the API token are drawn afresh at each start and printed once.

- `houses`, `partners`, `people`: the data, as frozen records;
- `figures`: the yearly counts the history follows;
- `history`: the generator, drawing typed records (`records`) that `storage` writes;
- `population`: `populate`, filling an empty database;
- `command`: `prepare_demo`, what `visio demo` runs before serving.
"""

from visio.demo.command import DemoAccount, prepare_demo
from visio.demo.figures import SEED
from visio.demo.population import populate

__all__ = ["SEED", "DemoAccount", "populate", "prepare_demo"]
