"""`rps` sub-commands: schemas (``rps validate``, ``rps contracts generate|check``)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from rps.settings import Settings

contracts_app = typer.Typer(
    help="The JSON Schema and AsyncAPI contracts generated from the event models.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("validate")(validate)
    app.add_typer(contracts_app, name="contracts")


def validate(
    files: list[str] = typer.Argument(
        ..., help="JSON-lines files of CloudEvents to check; '-' reads standard input."
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="Check CSV files through this TOML column mapping instead."
    ),
) -> None:
    """Check events (one JSON object a line) against the contracts without sending anything.

    Prints one line per bad event on stderr (file:line, event id, field, rule)
    and a summary on stdout; exits 0 only when every event is valid.
    """
    from schemas.report import Report, check_files

    settings = settings_and_logging()
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        for name in missing:
            typer.echo(f"error: FILE: no such file: {name}", err=True)
        raise typer.Exit(2)
    if mapping is not None:
        _validate_csv(settings, files, mapping)
        return
    if any(name.lower().endswith(".csv") for name in files):
        typer.echo("error: --mapping: is required to read a CSV file", err=True)
        raise typer.Exit(2)
    report = Report()
    for bad in check_files(files, sys.stdin.buffer, report):
        typer.echo(str(bad), err=True)
    typer.echo(report.summary(len(files)))
    if not report.ok:
        raise typer.Exit(1)


@contracts_app.command("generate")
def generate(
    root: Path | None = typer.Option(
        None, help="Directory to write the contracts to (default: schemas/contracts/)."
    ),
) -> None:
    """Regenerate the checked-in JSON Schemas and AsyncAPI document from the models."""
    from schemas import contracts

    settings_and_logging()
    root = root or contracts.CONTRACTS_DIR
    changed = contracts.write(root)
    for relative in changed:
        typer.echo(f"wrote {root / relative}")
    typer.echo(f"{len(changed)} contract file(s) changed under {root}")


@contracts_app.command("check")
def check(
    root: Path | None = typer.Option(
        None, help="Directory holding the contracts (default: schemas/contracts/)."
    ),
) -> None:
    """Fail (exit 1) and name every contract file that differs from what the models generate."""
    from schemas import contracts

    settings_and_logging()
    root = root or contracts.CONTRACTS_DIR
    drifted = contracts.check(root)
    if drifted:
        for relative in drifted:
            typer.echo(f"drifted: {root / relative}", err=True)
        typer.echo("run `rps contracts generate` and commit the result", err=True)
        raise typer.Exit(1)
    typer.echo(f"contracts are current ({len(contracts.generate())} files under {root})")


def _validate_csv(settings: Settings, files: list[str], mapping: Path) -> None:
    """`rps validate --mapping`: every CSV row checked as `rps publish --dry-run` checks it."""
    from producers.csv_input import MappingError, check_file, load_mapping

    try:
        columns = load_mapping(mapping)
        # Checking needs some source to fill the simple form; none given, a placeholder does.
        source = columns.source or settings.publisher_source or "urn:org:rps-validate"
        valid = bad = 0
        for name in files:
            for line, rejected in check_file(
                Path(name), columns, source=source, now=dt.datetime.now(dt.UTC)
            ):
                if rejected is None:
                    valid += 1
                    continue
                bad += 1
                described = "; ".join(f"{e.field}: {e.rule}" for e in rejected.errors)
                typer.echo(f"{name}:{line}: {described}", err=True)
    except MappingError as error:
        typer.echo(f"error: --mapping: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"{valid} valid, {bad} invalid rows in {len(files)} file(s)")
    if bad:
        raise typer.Exit(1)
