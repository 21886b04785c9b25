"""CSV in: the column mapping and each row's checks, without Kafka."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from producers.csv_input import MappingError, check_file, load_mapping, read_row, read_rows
from producers.errors import EventRejected
from schemas import AttributeVerified

EXAMPLES = Path(__file__).parents[3] / "docs" / "examples"
MAPPING = EXAMPLES / "council-tax-change-of-address.toml"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
HEADER = "Change Ref,Account,Hub ID,UPRN,Address 1,Address 2,Address 3,Town,Postcode,Effective Date"
GOOD = (
    "CT-1,ACC-1,3f1c6a4e-8b2d-4c7e-9a15-2d6b8e0f4a31,38012345,Flat 2,1 Dale St,,Liverpool,L2 2DH,"
    "28/11/2026"
)


def _rows(*lines: str) -> list[tuple[int, EventRejected | None]]:
    mapping = load_mapping(MAPPING)
    _headers, rows = read_rows(io.StringIO("\n".join((HEADER, *lines)) + "\n"), mapping)
    out: list[tuple[int, EventRejected | None]] = []
    for row in rows:
        try:
            read_row(row, mapping, source=mapping.source, now=NOW)
        except EventRejected as rejected:
            out.append((row.line, rejected))
        else:
            out.append((row.line, None))
    return out


def test_the_documented_example_maps_every_row_to_an_address_claim() -> None:
    """The example export under docs/examples is valid, row for row, as documented."""
    results = list(
        check_file(
            EXAMPLES / "council-tax-change-of-address.csv",
            load_mapping(MAPPING),
            source="urn:gss:E08000012",
            now=NOW,
        )
    )
    assert [(line, rejected) for line, rejected in results] == [(2, None), (3, None)]


def test_a_row_becomes_the_event_the_mapping_describes() -> None:
    """Columns, fixed values, non-empty address lines and a UK date become the simple form."""
    mapping = load_mapping(MAPPING)
    _headers, rows = read_rows(io.StringIO(f"{HEADER}\n{GOOD}\n"), mapping)
    event = read_row(next(rows), mapping, source="urn:gss:E08000012", now=NOW)
    assert isinstance(event, AttributeVerified)
    assert event.id == "CT-1"
    assert event.source == "urn:gss:E08000012"
    assert event.data.verified_at == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    value = event.data.model_dump(mode="json")["value"]
    assert value["lines"] == ["Flat 2", "1 Dale St"]
    assert value["local_authority"] == "E08000012"


def test_each_rejected_row_names_its_line_column_and_rule_never_the_value() -> None:
    """A bad postcode, a bad hub id and a date in the wrong format: line, column, rule."""
    planted = "ZZ9 PLURAL"
    results = _rows(
        GOOD,
        GOOD.replace("L2 2DH", planted),
        GOOD.replace("3f1c6a4e-8b2d-4c7e-9a15-2d6b8e0f4a31", "not-a-hub-id"),
        GOOD.replace("28/11/2026", "2026.11.28"),
    )
    assert results[0] == (2, None)
    described = {
        line: [(e.field, e.rule) for e in rejected.errors] for line, rejected in results if rejected
    }
    assert described[3] == [("column Postcode", "postcode_format")]
    assert described[4] == [("column Hub ID", "uuid_format")]
    assert described[5] == [("column Effective Date", "date_format")]
    text = repr(described) + "".join(e.message for _, r in results if r for e in r.errors)
    assert planted not in text
    assert "not-a-hub-id" not in text


def test_a_mapped_column_missing_from_the_header_is_refused(tmp_path: Path) -> None:
    """A file without a column the mapping reads is refused before any row is read."""
    with pytest.raises(MappingError, match="column Postcode: is not in the file's header"):
        read_rows(
            io.StringIO(HEADER.replace("Postcode", "Post Code") + "\n"), load_mapping(MAPPING)
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fixed]\nattribute = 'address'\n", "columns.resident: is required"),
        ("not toml = = =", "MAPPING: is not TOML"),
        ("[sheet]\n", "[sheet]: is not a section of a mapping"),
        ("[columns]\nnickname = 'Nick'\n", "columns.nickname: is not a field of the simple form"),
    ],
)
def test_a_broken_mapping_names_the_key_and_the_rule(
    tmp_path: Path, text: str, message: str
) -> None:
    """Mapping mistakes are reported by key and rule."""
    path = tmp_path / "mapping.toml"
    path.write_text(text)
    with pytest.raises(MappingError) as raised:
        load_mapping(path)
    assert str(raised.value).startswith(message)
