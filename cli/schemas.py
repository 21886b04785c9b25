"""`rps` sub-commands: schemas (``rps validate``, ``rps contracts generate|check``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli.common import settings_and_logging

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
) -> None:
    """Check events (one JSON object a line) against the contracts without sending anything.

    Prints one line per bad event on stderr (file:line, event id, field, rule)
    and a summary on stdout; exits 0 only when every event is valid.
    """
    from schemas.report import Report, check_files

    settings_and_logging()
    missing = [name for name in files if name != "-" and not Path(name).is_file()]
    if missing:
        for name in missing:
            typer.echo(f"error: FILE: no such file: {name}", err=True)
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
