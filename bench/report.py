"""One line per figure that `python -m bench` gathers into its table.

Each bench prints its figures for people as it always did, and calls `result(...)` once
per figure: a line `RESULT {json}` with the bench, the database, the figure, the same-run
baseline it was measured beside and the share of it (figure ÷ baseline), and what was
checked (double bookings, messages lost…).
"""

from __future__ import annotations

import json

PREFIX = "RESULT "


def result(
    *,
    bench: str,
    database: str,
    figure: str,
    baseline: str = "",
    share: float | None = None,
    check: str = "",
) -> None:
    line = {"bench": bench, "database": database, "figure": figure, "baseline": baseline,
            "share": share, "check": check}  # fmt: skip
    print(PREFIX + json.dumps(line, ensure_ascii=False), flush=True)
