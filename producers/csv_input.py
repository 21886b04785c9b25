"""CSV in: a back office's export, turned row by row into verified-attribute events.

A small TOML mapping says which column holds which field of the simple form
(see ``docs/publishing.md`` and ``docs/examples/council-tax-change-of-address.toml``)::

    [fixed]                 # the same for every row
    attribute = "address"
    assurance = "medium"
    method = "council_tax_record"

    [columns]               # simple-form field -> CSV column header
    resident = "Hub ID"
    verified_at = "Effective Date"
    id = "Change Ref"       # optional

    [value]                 # a structured value: its fields from columns
    uprn = "UPRN"
    lines = ["Address 1", "Address 2", "Address 3"]  # the non-empty cells, in order
    town = "Town"
    postcode = "Postcode"

    [value_fixed]
    local_authority = "E08000012"

    [dates]                 # columns written as dates in another format
    "Effective Date" = "%d/%m/%Y"

A simple attribute (email, phone) maps ``value`` under ``[columns]`` instead.
Each row goes through the same checks as a JSON line (``producers.inputs``);
every error names the row's line, the CSV column and the rule, never a value.
"""

from __future__ import annotations

import csv
import datetime as dt
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from producers.errors import EventRejected, InvalidInput
from producers.inputs import SIMPLE_FIELDS, read_document
from schemas import ROOT, Event, FieldError

_FIXED_FIELDS: Final = ("attribute", "assurance", "method", "source")
_SECTIONS: Final = ("fixed", "columns", "value", "value_fixed", "dates", "csv")


class MappingError(ValueError):
    """The mapping file is unreadable or breaks a rule; names the key and the rule."""

    def __init__(self, key: str, rule: str) -> None:
        super().__init__(f"{key}: {rule}")
        self.key = key
        self.rule = rule


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Where each field of the simple form comes from: a fixed value or a CSV column."""

    fixed: Mapping[str, str]
    columns: Mapping[str, str]
    value: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    value_fixed: Mapping[str, Any] = field(default_factory=dict)
    dates: Mapping[str, str] = field(default_factory=dict)
    delimiter: str = ","

    @property
    def source(self) -> str | None:
        """The publisher's source when the mapping names one (``[fixed] source``)."""
        return self.fixed.get("source")

    def needed(self) -> set[str]:
        """Every column header the mapping reads."""
        names = set(self.columns.values())
        for column in self.value.values():
            names.update((column,) if isinstance(column, str) else column)
        return names


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a TOML mapping file, or raise ``MappingError``."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        raise MappingError("MAPPING", "cannot be read") from None
    except tomllib.TOMLDecodeError:
        raise MappingError("MAPPING", "is not TOML") from None
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise MappingError(f"[{unknown[0]}]", "is not a section of a mapping")
    fixed = _strings(raw.get("fixed", {}), "fixed")
    columns = _strings(raw.get("columns", {}), "columns")
    for name in fixed:
        if name not in _FIXED_FIELDS:
            raise MappingError(f"fixed.{name}", "may only be attribute, assurance, method, source")
    for name in columns:
        if name not in (*SIMPLE_FIELDS, "id"):
            raise MappingError(f"columns.{name}", "is not a field of the simple form")
    value = _value_columns(raw.get("value", {}))
    value_fixed = raw.get("value_fixed", {})
    if not isinstance(value_fixed, dict):
        raise MappingError("[value_fixed]", "must be a table")
    has_value = "value" in columns or bool(value) or bool(value_fixed)
    if "value" in columns and (value or value_fixed):
        raise MappingError("columns.value", "give either a value column or a [value] table")
    for name in ("resident", "attribute", "assurance", "method", "verified_at"):
        if name not in fixed and name not in columns:
            raise MappingError(f"columns.{name}", "is required (a column, or under [fixed])")
    if not has_value:
        raise MappingError("columns.value", "is required (a column, or a [value] table)")
    dates = _strings(raw.get("dates", {}), "dates")
    options = raw.get("csv", {})
    delimiter = options.get("delimiter", ",") if isinstance(options, dict) else None
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise MappingError("csv.delimiter", "must be one character")
    return ColumnMapping(fixed, columns, value, value_fixed, dates, delimiter)


def _strings(table: Any, section: str) -> dict[str, str]:
    if not isinstance(table, dict):
        raise MappingError(f"[{section}]", "must be a table")
    for key, text in table.items():
        if not isinstance(text, str) or not text:
            raise MappingError(f"{section}.{key}", "must be a non-empty string")
    return dict(table)


def _value_columns(table: Any) -> dict[str, str | tuple[str, ...]]:
    if not isinstance(table, dict):
        raise MappingError("[value]", "must be a table")
    out: dict[str, str | tuple[str, ...]] = {}
    for key, column in table.items():
        if isinstance(column, str) and column:
            out[key] = column
        elif isinstance(column, list) and column and all(isinstance(c, str) for c in column):
            out[key] = tuple(column)
        else:
            raise MappingError(f"value.{key}", "must be a column or a list of columns")
    return out


@dataclass(frozen=True, slots=True)
class Row:
    """One CSV record: the line it starts on and its cells by column header."""

    line: int
    cells: Mapping[str, str]


def read_rows(stream: Any, mapping: ColumnMapping) -> tuple[list[str], Iterator[Row]]:
    """The header and the data rows of a CSV stream; a missing column is a ``MappingError``."""
    reader = csv.DictReader(stream, delimiter=mapping.delimiter)
    headers = list(reader.fieldnames or [])
    missing = sorted(mapping.needed() - set(headers))
    if missing:
        raise MappingError(f"column {missing[0]}", "is not in the file's header")

    def rows() -> Iterator[Row]:
        line = reader.line_num + 1
        for cells in reader:
            yield Row(line, {k: v or "" for k, v in cells.items() if isinstance(k, str)})
            line = reader.line_num + 1

    return headers, rows()


def read_row(row: Row, mapping: ColumnMapping, *, source: str | None, now: dt.datetime) -> Event:
    """The event a row states, or ``InvalidInput`` whose errors name columns and rules."""
    document: dict[str, Any] = dict(mapping.fixed)
    document.pop("source", None)
    where: dict[str, str] = {}
    errors: list[FieldError] = []
    for name, column in mapping.columns.items():
        cell = row.cells.get(column, "").strip()
        if name == "id" and not cell:
            continue
        document[name] = _cell(cell, column, mapping, errors, as_date=name == "value")
        where[name] = column
    if mapping.value or mapping.value_fixed:
        value: dict[str, Any] = dict(mapping.value_fixed)
        for name, columns in mapping.value.items():
            if isinstance(columns, str):
                cell = row.cells.get(columns, "").strip()
                value[name] = _cell(cell, columns, mapping, errors, as_date=True)
                where[f"value.{name}"] = columns
                continue
            filled = [c for c in columns if row.cells.get(c, "").strip()]
            value[name] = [row.cells[c].strip() for c in filled]
            where[f"value.{name}"] = columns[0]
            for index, column in enumerate(filled):
                where[f"value.{name}.{index}"] = column
        document["value"] = value
    if errors:
        raise InvalidInput(tuple(errors))
    try:
        return read_document(document, source=source, now=now)
    except EventRejected as rejected:
        named = tuple(_in_column(error, where) for error in rejected.errors)
        raise InvalidInput(named, rejected.event_id) from None


def _cell(
    cell: str, column: str, mapping: ColumnMapping, errors: list[FieldError], *, as_date: bool
) -> Any:
    """A cell as the simple form wants it: dates in another format turned into ISO 8601 (a
    date in a value, a time at midnight UTC for ``verified_at`` unless the format has one)."""
    fmt = mapping.dates.get(column)
    if fmt is None or not cell:
        return cell
    try:
        parsed = dt.datetime.strptime(cell, fmt)
    except ValueError:
        errors.append(FieldError(f"column {column}", "date_format", f"must match {fmt}"))
        return cell
    if as_date:
        return parsed.date().isoformat()
    return parsed.replace(tzinfo=dt.UTC).isoformat()


def _in_column(error: FieldError, where: Mapping[str, str]) -> FieldError:
    """The error with the CSV column it came from in place of the simple-form field."""
    path = error.field
    while path and path != ROOT:
        if path in where:
            return FieldError(f"column {where[path]}", error.rule, error.message)
        path = path.rpartition(".")[0]
    return FieldError(f"mapping {error.field}", error.rule, error.message)


def check_file(
    path: Path, mapping: ColumnMapping, *, source: str | None, now: dt.datetime
) -> Iterator[tuple[int, EventRejected | None]]:
    """Each row's line and its rejection (None when valid): ``rps validate --mapping``."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        _headers, rows = read_rows(stream, mapping)
        for row in rows:
            try:
                read_row(row, mapping, source=source, now=now)
            except EventRejected as rejected:
                yield row.line, rejected
            else:
                yield row.line, None
