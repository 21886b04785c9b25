"""`rps audit verify|show`: check the audit trail's chains and read the decisions about one
resident (or the refused subscription changes naming one authority)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from streams.operators.auditing import Decision

audit_app = typer.Typer(help="Check and read the audit trail.", no_args_is_help=True)

_COLUMNS = (
    "time",
    "decision",
    "event",
    "reported by",
    "attribute",
    "assurance",
    "to",
    "reason",
    "acknowledged",
)


@contextmanager
def _reported() -> Iterator[None]:
    """Known failures of the audit commands become one line on stderr and an exit code."""
    from aiokafka.errors import KafkaConnectionError

    try:
        yield
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    except ValueError as error:  # a malformed RPS_AUDIT_KEYS names the setting, not the secret
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@audit_app.command("verify")
def verify_command(
    topic: str | None = typer.Option(
        None, "--topic", help="Verify this topic instead of the audit topic (e.g. a copy)."
    ),
) -> None:
    """Walk every partition of the audit topic; report the first break in each chain.

    Exits 1 when any chain breaks: a changed, removed or reordered record, or a bad
    signature, named by partition and offset.
    """
    import asyncio

    from streams.operators.auditing import verify_trail

    settings = settings_and_logging()
    with _reported():
        reports = asyncio.run(verify_trail(settings, topic))
    broken = [r for r in reports if r.first_break is not None]
    for report in reports:
        state = "intact"
        if report.first_break is not None:
            b = report.first_break
            state = f"BROKEN at offset {b.offset}: {b.kind}"
        typer.echo(f"partition {report.partition}: {report.records} records, {state}")
    total = sum(r.records for r in reports)
    if broken:
        typer.echo(f"audit trail broken in {len(broken)} of {len(reports)} partitions")
        raise typer.Exit(1)
    typer.echo(f"audit trail intact: {total} records in {len(reports)} partitions")


@audit_app.command("show")
def show_command(
    subject: str = typer.Argument(
        ...,
        metavar="RESIDENT|AUTHORITY",
        help="A resident's hub id (a UUID), or an authority id (a GSS code or urn:org:<name>) "
        "for the subscription changes refused in its name.",
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON document, for tools."),
) -> None:
    """Every decision about RESIDENT in time order: who reported what, at what assurance,
    where it went, what was withheld and why, and who acknowledged it. Given an AUTHORITY,
    the subscription changes naming it that were refused, who sent them and why."""
    import asyncio
    import json

    from streams.operators.auditing import history

    kind, subject = subject_of(subject)
    settings = settings_and_logging()
    with _reported():
        lines = asyncio.run(history(settings, subject))
    if as_json:
        document = {kind: subject, "decisions": [d.as_json() for d in lines]}
        typer.echo(json.dumps(document, indent=2))
        return
    _print_table(subject, lines)
    typer.echo(f"{len(lines)} decisions")


def subject_of(value: str) -> tuple[str, str]:
    """``("resident", hub id)`` or ``("authority", authority id)``; anything else is refused
    (exit 2) without being echoed, since it may be a personal value typed by mistake."""
    import re

    from schemas.ids import AUTHORITY_PATTERN

    try:
        return "resident", str(uuid.UUID(value))
    except ValueError:
        if re.match(AUTHORITY_PATTERN, value):
            return "authority", value
    typer.echo(
        "error: RESIDENT|AUTHORITY: must be a hub id (a UUID) or an authority id "
        "(a GSS code, or urn:org:<name>)",
        err=True,
    )
    raise typer.Exit(2)


def _print_table(resident: str, lines: list[Decision]) -> None:
    """One row per decision; acknowledgements in the last column."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"audit trail of {resident}")
    for column in _COLUMNS:
        table.add_column(column)
    for d in lines:
        table.add_row(
            d.time.isoformat(timespec="seconds"),
            d.decision,
            d.event_type.removeprefix("uk.gov.rps."),
            d.reported_by + (f" via {d.vouched_by}" if d.vouched_by else ""),
            d.attribute or "",
            d.assurance or "",
            d.authority or "",
            d.reason or "",
            f"{d.acknowledged_by} {d.acknowledged_at.isoformat(timespec='seconds')}"
            + (" CONFLICT (not applied)" if d.conflict else "")
            if d.acknowledged_by and d.acknowledged_at
            else (f"refused ({d.refused})" if d.refused else ""),
        )
    Console(width=200).print(table)
    for key in sorted({d.signed_with for d in lines if d.signed_with}):
        typer.echo(f"origin proven by key {key}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(audit_app, name="audit")
