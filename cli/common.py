"""Helpers shared by the command modules: settings and logging set up once per command.

Nothing here imports the product at module level: ``rps --help`` loads only
typer and the command modules, and each command imports what it uses when it
runs.

Building the settings is also where production refuses unsafe ones (see
:mod:`rps.production`): each command is checked for what it uses, found by its
name in :data:`PROCESSES` (the root callback in :mod:`cli.main` notes the name);
a command not listed there is checked for everything.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Final, NoReturn

import typer

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    from rps.production import Process
    from rps.settings import Settings

PROCESSES: Final[dict[str, str]] = {
    "worker": "worker",
    "demo": "demo",
    "audit": "audit",
    "portal": "portal",
    "gateway": "kafka_client",
    "publish": "kafka_client",
    "subscribe": "kafka_client",
    "readmodel": "kafka_client",
    "replay": "kafka_client",
    "topics": "kafka_client",
    "publishers": "offline",
    "holdings": "offline",
    "validate": "offline",
    "contracts": "offline",
    "infra": "offline",
}
"""What each command of ``rps`` is (a :class:`rps.production.Process` value); its
sub-commands (``rps audit verify``) are the same."""

_command: ContextVar[str | None] = ContextVar("command", default=None)


def remember_command(context: typer.Context) -> None:
    """Note which command runs, from the root callback (see :mod:`cli.main`)."""
    if context.invoked_subcommand is not None:
        _command.set(context.invoked_subcommand)


def settings_and_logging() -> Settings:
    """Build the settings from the environment and configure logging from them.

    Exits 2, naming each setting to fix, when the settings are invalid or, in
    production, unsafe for the command being run.
    """
    from pydantic import ValidationError

    from rps.logs import configure
    from rps.production import problems
    from rps.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:
        _refuse("invalid RPS_* settings:", [_setting_error(e) for e in error.errors()])
    except ValueError as error:
        typer.echo(f"error: invalid RPS_* settings: {error}", err=True)
        raise typer.Exit(2) from error
    command = _command.get()
    found = problems(settings, process_of(command))
    if found:
        name = f"rps {command}" if command else "rps"
        _refuse(f"RPS_ENVIRONMENT=production: `{name}` will not start until you fix:", found)
    configure(settings.log_format, settings.log_level)
    return settings


def process_of(command: str | None) -> Process:
    """The kind of process a command is (one nobody listed is checked for everything)."""
    from rps.production import Process

    return Process(PROCESSES.get(command or "", Process.ANY))


def _setting_error(error: ErrorDetails) -> str:
    """``RPS_NAME: rule``, never the value given (it may be a secret)."""
    location = ".".join(str(part) for part in error["loc"])
    rule = error["msg"].removeprefix("Value error, ")
    return f"{f'RPS_{location.upper()}' if location else 'RPS_*'}: {rule}"


def _refuse(headline: str, lines: list[str]) -> NoReturn:
    typer.echo(f"error: {headline}", err=True)
    for line in lines:
        typer.echo(f"  {line}", err=True)
    raise typer.Exit(2)
