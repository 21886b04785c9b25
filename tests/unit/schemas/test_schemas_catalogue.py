"""The identifiers and the attribute catalogue: formats, normalisation and ordering."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from pydantic import ValidationError

from schemas import (
    EVENT_TYPES,
    MODELS,
    Address,
    AssuranceLevel,
    AttributeName,
    DateOfDeath,
    FullName,
    authority_of_source,
    source_of_authority,
)

LIVERPOOL = "E08000012"


def test_source_and_authority_convert_both_ways() -> None:
    """A council's source strips to its GSS code and back; a central body's source is its id."""
    assert authority_of_source("urn:gss:E08000012") == LIVERPOOL
    assert source_of_authority(LIVERPOOL) == "urn:gss:E08000012"
    assert authority_of_source("urn:org:dwp") == "urn:org:dwp"
    assert source_of_authority("urn:org:dvla") == "urn:org:dvla"


@pytest.mark.parametrize(
    "bad", ["urn:gss:X08000012", "E08000012", "urn:org:DWP", "urn:gss:E0800001"]
)
def test_authority_of_source_refuses_malformed_sources(bad: str) -> None:
    """A source that is neither urn:gss:<GSS> nor urn:org:<name> is refused."""
    with pytest.raises(ValueError, match="source must be"):
        authority_of_source(bad)


def test_assurance_levels_compare_by_rank() -> None:
    """Levels order low < medium < high < very_high, whatever their spelling sorts as."""
    assert [level.rank for level in AssuranceLevel] == [0, 1, 2, 3]
    assert (
        AssuranceLevel.LOW < AssuranceLevel.MEDIUM < AssuranceLevel.HIGH < AssuranceLevel.VERY_HIGH
    )
    assert AssuranceLevel.VERY_HIGH >= AssuranceLevel.HIGH
    assert max(AssuranceLevel) is AssuranceLevel.VERY_HIGH
    assert (
        sorted([AssuranceLevel.VERY_HIGH, AssuranceLevel.LOW, AssuranceLevel.HIGH])[0]
        is AssuranceLevel.LOW
    )


def test_catalogue_is_closed_and_has_no_national_insurance_number() -> None:
    """The catalogue holds exactly the six attributes; an NI number is never one of them."""
    assert {name.value for name in AttributeName} == {
        "full_name", "date_of_birth", "address", "email", "phone", "date_of_death",
    }  # fmt: skip


def test_postcode_is_normalised_to_upper_case_with_one_space() -> None:
    """Lower case and odd spacing become the canonical form ``CH41 5AG``."""
    address = Address(
        uprn="41200098765",
        lines=["17 Hamilton Square"],
        town="Birkenhead",
        postcode="ch41  5ag",
        local_authority="E08000015",
    )
    assert address.postcode == "CH41 5AG"


@pytest.mark.parametrize(
    "postcode", ["L1 8JQ", "CH41 5AG", "SW1A 2AA", "EC1A 1BB", "M1 1AE", "GIR 0AA"]
)
def test_real_postcode_shapes_are_accepted(postcode: str) -> None:
    """Every UK outward-code shape (A9, A99, AA9, AA99, A9A, AA9A) is accepted."""
    address = Address(uprn="1", lines=["x"], town="y", postcode=postcode, local_authority=LIVERPOOL)
    assert address.postcode == postcode


@pytest.mark.parametrize("postcode", ["L1 8J", "QQ1 1AA", "L1 8JC", "12345", "L1-8JQ", ""])
def test_impossible_postcodes_are_refused(postcode: str) -> None:
    """Shapes no UK postcode takes are refused with the postcode rule."""
    with pytest.raises(ValidationError) as caught:
        Address(uprn="1", lines=["x"], town="y", postcode=postcode, local_authority=LIVERPOOL)
    assert caught.value.errors()[0]["type"] == "postcode_format"


@pytest.mark.parametrize("uprn", ["0", "0123", "1234567890123", "12a"])
def test_malformed_uprns_are_refused(uprn: str) -> None:
    """A UPRN is 1-12 digits without a leading zero."""
    with pytest.raises(ValidationError) as caught:
        Address(uprn=uprn, lines=["x"], town="y", postcode="L1 8JQ", local_authority=LIVERPOOL)
    assert caught.value.errors()[0]["type"] == "uprn_format"


def test_names_are_stripped_and_must_not_be_blank() -> None:
    """Surrounding spaces are dropped and a blank name part is refused."""
    assert FullName(given_names="  Margaret ", family_name="Whitfield").given_names == "Margaret"
    with pytest.raises(ValidationError):
        FullName(given_names="   ", family_name="Whitfield")


def test_death_before_birth_is_refused() -> None:
    """The registrar's date of death may not precede the date of birth it carries."""
    with pytest.raises(ValidationError) as caught:
        DateOfDeath(date=dt.date(1930, 1, 1), date_of_birth=dt.date(1931, 11, 2))
    assert caught.value.errors()[0]["type"] == "death_before_birth"
    assert (
        DateOfDeath(date=dt.date(1931, 11, 2), date_of_birth=dt.date(1931, 11, 2)).date.year == 1931
    )


def test_model_type_literals_match_the_type_constants() -> None:
    """Each model's ``type`` literal is the constant it is registered under."""
    assert list(MODELS) == list(EVENT_TYPES)
    for event_type, model in MODELS.items():
        assert model.model_fields["type"].annotation.__args__ == (event_type,)  # type: ignore[union-attr]


def test_importing_schemas_does_not_import_hypothesis() -> None:
    """Production code can import the contracts without the test-only hypothesis package."""
    probe = "import sys, schemas, schemas.contracts; print('hypothesis' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
