"""Postage classes and the DVLA `despatchMethod` each one is printed with.

Second class is DVLA's default, so a second-class print job carries no `despatchMethod` at all.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["INTERNATIONAL_POSTAGE", "POSTAGE_CLASSES", "UnknownPostage", "despatch_method"]

FIRST, SECOND, ECONOMY, EUROPE, REST_OF_WORLD = "first", "second", "economy", "europe", "rest-of-world"
POSTAGE_CLASSES = frozenset({FIRST, SECOND, ECONOMY, EUROPE, REST_OF_WORLD})
INTERNATIONAL_POSTAGE = frozenset({EUROPE, REST_OF_WORLD})

DESPATCH_METHODS: Mapping[str, str | None] = {
    FIRST: "FIRST",
    SECOND: None,
    ECONOMY: "ECONOMY",
    EUROPE: "INTERNATIONAL_EU",
    REST_OF_WORLD: "INTERNATIONAL_ROW",
}


class UnknownPostage(ValueError):
    """The letter's postage is not one DVLA can print."""

    def __init__(self, postage: str) -> None:
        super().__init__(f"postage {postage!r} is not one of {sorted(POSTAGE_CLASSES)}")


def despatch_method(postage: str) -> str | None:
    """DVLA's despatchMethod for a postage class; None for second class, which DVLA assumes."""
    if postage not in DESPATCH_METHODS:
        raise UnknownPostage(postage)
    return DESPATCH_METHODS[postage]
