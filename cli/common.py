"""Helpers shared by the command modules: settings and logging set up once per command.

Nothing here imports the product at module level: ``rps --help`` loads only
typer and the command modules, and each command imports what it uses when it
runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rps.settings import Settings


def settings_and_logging() -> Settings:
    """Build the settings from the environment and configure logging from them."""
    from rps.logs import configure
    from rps.settings import Settings

    try:
        settings = Settings()
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        typer.echo(f"error: invalid RPS_* settings: {error}", err=True)
        raise typer.Exit(2) from error
    configure(settings.log_format, settings.log_level)
    return settings
