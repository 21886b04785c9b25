"""The demo's tables of decisions: who got what and what was withheld and why, per authority,
and the refused events (ids, attribute names and reasons, never a value)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

import schemas
from cli._demo_story import AUTHORITIES, NAMES, Story


def print_decisions(console: Console, s: Story, audit: list[schemas.AuditRecorded]) -> None:
    """Print each authority's deliveries, withholdings and endings, then the refused events."""
    console.rule("Who got what, and what was withheld and why")
    for authority in AUTHORITIES:
        console.print(_authority_table(authority, s, audit))
    console.print(_refused_table(s, audit))


def _authority_table(authority: str, s: Story, audit: list[schemas.AuditRecorded]) -> Table:
    table = Table(title=f"{NAMES[authority]} ({authority})", title_justify="left")
    for column in ("resident", "attribute", "decision", "reason", "claim", "assurance"):
        table.add_column(column)
    for record in sorted(audit, key=lambda r: r.time):
        data = record.data
        if data.authority != authority or data.decision not in (
            "delivered",
            "withheld",
            "consent_ended",
        ):
            continue
        table.add_row(
            s.residents.get(record.subject, record.subject[:8]),
            str(data.attribute or ""),
            str(data.decision),
            data.reason or "",
            (data.claim_id or "")[:8],
            str(data.assurance or ""),
        )
    return table


def _refused_table(s: Story, audit: list[schemas.AuditRecorded]) -> Table:
    refused = Table(title="Refused: who may say what", title_justify="left")
    for column in ("resident", "event", "source", "reason"):
        refused.add_column(column)
    for record in audit:
        if record.data.decision == "rejected":
            refused.add_row(
                s.residents.get(record.subject, record.subject[:8]),
                record.data.event_type.removeprefix("uk.gov.rps."),
                record.data.event_source,
                record.data.reason or "",
            )
    return refused
