"""The core's copy of the catalogue facts matches the contracts it was copied from."""

from __future__ import annotations

import schemas
from streams.core import catalogue


def test_the_core_knows_every_attribute_of_the_catalogue_in_its_order() -> None:
    """``ATTRIBUTES`` lists exactly ``schemas.AttributeName``'s values, in the same order."""
    assert tuple(name.value for name in schemas.AttributeName) == catalogue.ATTRIBUTES


def test_the_core_ranks_the_levels_as_the_contracts_do() -> None:
    """``LEVELS`` lists ``schemas.AssuranceLevel``'s values lowest first: index == rank."""
    assert tuple(level.value for level in schemas.AssuranceLevel) == catalogue.LEVELS
    for level in schemas.AssuranceLevel:
        assert catalogue.LEVELS.index(level.value) == level.rank


def test_all_attributes_is_not_an_attribute_name() -> None:
    """The wildcard for "every attribute" can never be mistaken for one attribute."""
    assert catalogue.ALL_ATTRIBUTES not in {name.value for name in schemas.AttributeName}
