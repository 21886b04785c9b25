"""`rps` sub-commands: operators and auditors (`replay`, `audit verify`, `audit show`)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from aiokafka.errors import KafkaConnectionError
from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from cli.common import settings_and_logging
from streams.auditing import history, verify_trail
from streams.replay import RebuildRefused, replay


class _Rate(ProgressColumn):
    """Events per second, as measured by the progress bar."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} events/s" if speed else "- events/s")


class _Count(ProgressColumn):
    """Records read so far, of how many."""

    def render(self, task: Task) -> Text:
        total = f"{task.total:,.0f}" if task.total is not None else "?"
        return Text(f"{task.completed:,.0f}/{total} events")


@contextmanager
def _reported() -> Iterator[None]:
    """Known failures become one line on stderr and a non-zero exit."""
    try:
        yield
    except RebuildRefused as error:
        typer.echo(f"error: --rebuild refused: {error}", err=True)
        raise typer.Exit(2) from error
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    except ValueError as error:  # a malformed RPS_AUDIT_KEYS names the setting, not the secret
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        typer.echo("error: --from: must be an ISO 8601 time, e.g. 2026-01-31T09:00:00Z", err=True)
        raise typer.Exit(2) from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""

    @app.command("replay")
    def replay_command(
        since: str | None = typer.Option(
            None,
            "--from",
            help="Replay only the inbound records written at or after this ISO 8601 time, and "
            "check that each is in the live state (default: everything, compared exactly).",
        ),
        rebuild: bool = typer.Option(
            False,
            "--rebuild",
            help="Write the rebuilt state as the new live state (recovery). Refused while any "
            "worker runs, and with --from.",
        ),
    ) -> None:
        """Rebuild every resident from the inbound topics and compare with the live state.

        Exits 1 when a resident differs (ids only are printed), 0 when all agree.
        """
        settings = settings_and_logging()
        start = _parse_time(since)
        console = Console(stderr=True)
        columns = (
            TextColumn("replaying"),
            BarColumn(),
            _Count(),
            _Rate(),
            TimeElapsedColumn(),
        )
        with _reported(), Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("replay", total=None)
            result = asyncio.run(
                replay(
                    settings,
                    start,
                    rebuild_state=rebuild,
                    on_total=lambda n: bar.update(task, total=n),
                    on_read=lambda n: bar.advance(task, n),
                )
            )
            rate = bar.tasks[0].finished_speed or bar.tasks[0].speed or 0.0
        found = result.comparison
        typer.echo(
            f"compared {found.residents} residents, {found.events} events "
            f"({found.rejected} rejected) in {found.partitions} partitions; "
            f"{rate:,.0f} events/s"
        )
        for resident in found.differing:
            typer.echo(f"differs: resident {resident}")
        if found.differing:
            typer.echo(
                f"{len(found.differing)} residents differ "
                f"(partitions {', '.join(map(str, found.differing_partitions))})"
            )
        if result.written is not None:
            typer.echo(f"rebuilt: {result.written} changelog records written")
            return
        if found.differing:
            raise typer.Exit(1)
        typer.echo("replay equals live" if not found.partial else "every replayed event is live")

    audit = typer.Typer(help="Check and read the audit trail.", no_args_is_help=True)
    app.add_typer(audit, name="audit")

    @audit.command("verify")
    def verify_command(
        topic: str | None = typer.Option(
            None, "--topic", help="Verify this topic instead of the audit topic (e.g. a copy)."
        ),
    ) -> None:
        """Walk every partition of the audit topic; report the first break in each chain.

        Exits 1 when any chain breaks: a changed, removed or reordered record, or a bad
        signature, named by partition and offset.
        """
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

    @audit.command("show")
    def show_command(
        resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document, for tools."),
    ) -> None:
        """Every decision about RESIDENT in time order: who reported what, at what assurance,
        where it went, what was withheld and why, and who acknowledged it."""
        try:
            resident = str(uuid.UUID(resident))
        except ValueError as error:
            typer.echo("error: RESIDENT: must be a hub id (a UUID)", err=True)
            raise typer.Exit(2) from error
        settings = settings_and_logging()
        with _reported():
            lines = asyncio.run(history(settings, resident))
        if as_json:
            typer.echo(
                json.dumps(
                    {"resident": resident, "decisions": [d.as_json() for d in lines]}, indent=2
                )
            )
            return
        table = Table(title=f"audit trail of {resident}")
        for column in (
            "time",
            "decision",
            "event",
            "reported by",
            "attribute",
            "assurance",
            "to",
            "reason",
            "acknowledged",
        ):
            table.add_column(column)
        for d in lines:
            table.add_row(
                d.time.isoformat(timespec="seconds"),
                d.decision,
                d.event_type.removeprefix("uk.gov.rps."),
                d.reported_by,
                d.attribute or "",
                d.assurance or "",
                d.authority or "",
                d.reason or "",
                f"{d.acknowledged_by} {d.acknowledged_at.isoformat(timespec='seconds')}"
                if d.acknowledged_by and d.acknowledged_at
                else (f"refused ({d.refused})" if d.refused else ""),
            )
        Console(width=200).print(table)
        typer.echo(f"{len(lines)} decisions")
