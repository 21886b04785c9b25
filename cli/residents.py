"""`rps residents export` and `rps erase`: a resident's own copy, and erasure."""

from __future__ import annotations

import uuid
from pathlib import Path

import typer

from cli.common import settings_and_logging

residents_app = typer.Typer(help="What the hub holds about one resident.", no_args_is_help=True)


def _resident_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as error:
        typer.echo("error: RESIDENT: must be a hub id (a UUID)", err=True)
        raise typer.Exit(2) from error


@residents_app.command("export")
def export_command(
    resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
    db: str | None = typer.Option(
        None, "--db", help="The hub's database URL (the read model). Default: RPS_DATABASE_URL."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the document to this new file (mode 0600), not to stdout."
    ),
) -> None:
    """Write one JSON document of everything held about RESIDENT (UK GDPR article 15).

    Every value held with its provenance and assurance, every consent and its
    history, every delivery, withholding (with its reason) and acknowledgement,
    every erasure. It holds personal data: send it to the resident only.
    """
    import asyncio
    import os
    from datetime import UTC, datetime

    import orjson

    from consumers.readmodel import export, open_read_model

    resident = _resident_id(resident)
    settings = settings_and_logging()

    async def produce() -> bytes:
        model = await open_read_model(db or settings.database_url.get_secret_value())
        try:
            document = await export(model, resident, datetime.now(UTC))
        finally:
            await model.close()
        return orjson.dumps(document, option=orjson.OPT_INDENT_2)

    document = asyncio.run(produce())
    if out is None:
        typer.echo(document.decode())
        return
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        typer.echo(f"error: --out: cannot create the file ({error.strerror})", err=True)
        raise typer.Exit(2) from error
    with os.fdopen(descriptor, "wb") as file:
        file.write(document + b"\n")
    typer.echo(f"wrote the subject-access document of {resident} to {out}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(residents_app, name="residents")
