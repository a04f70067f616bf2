"""Every setting visio reads is explained in deploy/visio.env.example, the file operators
copy: a setting added to the code without a word there fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_setting_read_by_visio_is_in_the_environment_template() -> None:
    read = set()
    for source in (ROOT / "visio").rglob("*.py"):
        read |= set(re.findall(r"\"(VISIO_[A-Z0-9_]+)\"", source.read_text()))
    template = (ROOT / "deploy" / "visio.env.example").read_text()
    documented = set(re.findall(r"^#?(VISIO_[A-Z0-9_]+)=", template, re.MULTILINE))
    assert read, "no setting found: the search is broken"
    assert sorted(read - documented) == []
    assert sorted(documented - read) == []
