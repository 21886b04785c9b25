"""`rps` sub-command: `portal`, the residents' web pages."""

from __future__ import annotations

import typer

from cli.common import plain_failures, settings_and_logging


def portal_command(
    db: str | None = typer.Option(
        None, "--db", help="The hub's read-model database URL. Default: RPS_DATABASE_URL."
    ),
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port on 127.0.0.1. Default: RPS_PORTAL_PORT."
    ),
) -> None:
    """Serve the resident portal (GOV.UK style) on loopback until stopped."""
    import asyncio

    from portal import PortalError, serve

    settings = settings_and_logging()
    if port is not None:
        settings = settings.model_copy(update={"portal_port": port})
    if db is not None and not db.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        typer.echo(
            "error: --db: must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL", err=True
        )
        raise typer.Exit(2)
    try:
        with plain_failures(settings):
            asyncio.run(serve(settings, db))
    except PortalError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("portal")(portal_command)
