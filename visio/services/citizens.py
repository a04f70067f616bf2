"""Citizens: finding the person already known instead of creating a duplicate."""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    """A name folded for matching: case, accents, hyphens and extra spaces ignored.

    "Élodie-Marie  CHASSANG" and "elodie marie chassang" give the same key.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    for separator in "-'’.":
        letters = letters.replace(separator, " ")
    return " ".join(letters.split())
