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

from collections.abc import Iterator
from contextlib import contextmanager
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
    "webhooks": "kafka_client",
    "status": "kafka_client",
    "deadletter": "kafka_client",
    "publishers": "kafka_client",  # writes the publisher registry topic
    "feed": "offline",
    "erase": "kafka_client",  # sends the erasure to the workers
    "residents": "offline",  # the export and legal holds read the hub's database
    "keys": "offline",  # rewraps data keys in the hub's database
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


_KAFKA_UNREACHABLE = frozenset({"KafkaConnectionError", "NodeNotReadyError"})
_DATABASE_STATES = {
    "28P01": "the database refused the user name or password in its URL (RPS_DATABASE_URL or --db)",
    "28000": "the database refused the user in its URL (RPS_DATABASE_URL or --db)",
    "3D000": "the database named in its URL does not exist (RPS_DATABASE_URL or --db)",
}


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's ``orig``) and what caused it, each once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        found = todo.pop()
        if found is None or id(found) in seen:
            continue
        seen.add(id(found))
        yield found
        orig = getattr(found, "orig", None)
        todo += [
            found.__cause__,
            found.__context__,
            orig if isinstance(orig, BaseException) else None,
        ]


def kafka_unreachable(error: BaseException, settings: Settings) -> str | None:
    """The sentence for "nothing answers at the Kafka address", when that is behind ``error``."""
    chain = list(_chain(error))
    if {type(found).__name__ for found in chain} & _KAFKA_UNREACHABLE or any(
        "cannot reach Kafka" in str(found) for found in chain
    ):
        return (
            f"cannot reach Kafka at {settings.bootstrap_servers} (RPS_BOOTSTRAP_SERVERS): "
            "nothing answers there; start it or correct the address"
        )
    return None


def describe_failure(error: BaseException, settings: Settings) -> str | None:
    """One sentence for a common mistake behind ``error`` (no value, no password), or None."""
    chain = list(_chain(error))
    for found in chain:
        state = getattr(found, "sqlstate", None)
        if isinstance(state, str) and state in _DATABASE_STATES:
            return _DATABASE_STATES[state]
    names = {type(found).__name__ for found in chain}
    unreachable = kafka_unreachable(error, settings)
    if unreachable is not None:
        return unreachable
    if "UnknownTopicOrPartitionError" in names:
        return "a topic does not exist on Kafka: create the topics with `rps topics create`"
    database = {"DBAPIError", "OperationalError", "InterfaceError"}
    if names & database and any(isinstance(f, ConnectionRefusedError) for f in chain):
        return (
            "cannot reach the database in its URL (RPS_DATABASE_URL or --db): "
            "connection refused; start it or correct the address"
        )
    return None


@contextmanager
def plain_failures(settings: Settings) -> Iterator[None]:
    """The common mistakes (nothing listening at the Kafka address, a wrong database
    password, a missing topic or database) as one line on stderr and exit 1: no traceback."""
    try:
        yield
    except Exception as error:
        message = describe_failure(error, settings)
        if message is None:
            raise
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(1) from None
