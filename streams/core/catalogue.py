"""The catalogue facts the core needs, as plain strings: the attributes and the assurance levels.

The contracts (``schemas.AttributeName``, ``schemas.AssuranceLevel``) own these
lists; the core keeps its own copy so it imports nothing but the standard
library, and ``tests/unit/core/test_catalogue.py`` fails when the two differ.
"""

from __future__ import annotations

ATTRIBUTES: tuple[str, ...] = (
    "full_name",
    "date_of_birth",
    "address",
    "email",
    "phone",
    "date_of_death",
)
"""Every attribute the hub carries, in the catalogue's order."""

LEVELS: tuple[str, ...] = ("low", "medium", "high", "very_high")
"""The assurance levels (after GPG 45), lowest first: a level's rank is its index."""

ALL_ATTRIBUTES = "*"
"""A consent or withdrawal that covers every attribute."""


def level_name(level: int) -> str:
    """The name of the level ranked ``level``."""
    return LEVELS[level]
