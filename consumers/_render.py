"""What an authority holds, as ``rps holdings`` and the demo print it: a table for people,
JSON for programs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

import orjson
from rich.table import Table

from consumers._repository import Holding


def holdings_table(rows: Sequence[Holding], *, title: str, with_values: bool = False) -> Table:
    """One row per (local reference, attribute) with provenance; values only if asked."""
    table = Table(title=title)
    for column in ("local reference", "attribute", "version", "claim id", "source", "assurance"):
        table.add_column(column)
    table.add_column("method")
    table.add_column("verified at")
    table.add_column("status")
    if with_values:
        table.add_column("value")
    for row in rows:
        cells = [
            row.local_reference,
            row.attribute,
            str(row.version),
            row.claim_id or "",
            row.source or "",
            row.assurance or "",
            row.method or "",
            _when(row.verified_at),
            "held" if row.retain_until is None else f"retained until {_when(row.retain_until)}",
        ]
        if with_values:
            cells.append(orjson.dumps(row.value).decode())
        table.add_row(*cells)
    return table


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else ""


def holdings_json(rows: Sequence[Holding], *, with_values: bool = False) -> bytes:
    """A JSON array, one object per holding (every field of ``Holding``; ``value`` if asked)."""
    documents = []
    for row in rows:
        document = asdict(row)
        if not with_values:
            del document["value"]
        documents.append(document)
    return orjson.dumps(documents, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z)
