"""`rps` sub-commands: consumers (`subscribe`, `holdings`, `readmodel`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from cli.common import plain_failures, settings_and_logging

PIPE_WIDTH = 1000
"""Columns a table may take when the output is not a terminal, so a pipe never cuts it."""


@contextmanager
def _reported() -> Iterator[None]:
    """Turn our known failures into a message on stderr (field and rule) and an exit code."""
    from aiokafka.errors import KafkaConnectionError

    from consumers import ConfigurationError, TransientFailure

    try:
        yield
    except ConfigurationError as error:
        typer.echo(f"error: {error.field}: {error.rule}", err=True)
        raise typer.Exit(2) from error
    except TransientFailure as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error


def subscribe_command(
    authority: str = typer.Argument(
        ..., help="The subscribing authority: a GSS code (E08000012) or urn:org:<name>."
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="The authority's database: sqlite+aiosqlite:///path.db or "
        "postgresql+asyncpg://user@host/db. Default: SQLite under the state directory.",
    ),
    stop_at_end: bool = typer.Option(
        False, "--stop-at-end", help="Exit once caught up with the topic as it was at start."
    ),
    retention_days: int | None = typer.Option(
        None,
        "--retention-days",
        min=0,
        help="On consent ended keep values this many days before deleting them "
        "(0: delete at once). Default: RPS_SUBSCRIBER_RETENTION_DAYS.",
    ),
    group: str | None = typer.Option(
        None,
        "--group",
        help="The Kafka consumer group. Default: RPS_SUBSCRIBER_GROUP_ID, else "
        "<RPS_TOPIC_PREFIX>-subscriber-<authority>.",
    ),
) -> None:
    """Apply AUTHORITY's deliveries into its own database and acknowledge each to the hub."""
    import asyncio

    from consumers.subscriber import default_db_url, subscribe

    settings = settings_and_logging()
    if retention_days is not None:
        settings = settings.model_copy(update={"subscriber_retention_days": retention_days})
    if group is not None:
        settings = settings.model_copy(update={"subscriber_group_id": group})
    with plain_failures(settings), _reported():
        url = db or default_db_url(settings, authority)
        stats = asyncio.run(subscribe(settings, authority, url, stop_at_end=stop_at_end))
    typer.echo(
        f"{authority}: {stats.records} records read, {stats.written} applied, "
        f"{stats.dead_lettered} dead-lettered"
    )


def holdings_command(
    authority: str = typer.Argument(..., help="The authority whose database to show."),
    db: str | None = typer.Option(
        None, "--db", help="The authority's database URL (as given to `rps subscribe`)."
    ),
    values: bool = typer.Option(
        False, "--values", help="Show the values too (personal data: mind who is watching)."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print a JSON array, one object per holding, for programs."
    ),
) -> None:
    """Print what AUTHORITY's database holds: reference, attribute, version and provenance."""
    import asyncio

    from rich.console import Console

    from consumers.subscriber import default_db_url, holdings, holdings_json, holdings_table

    settings = settings_and_logging()
    with _reported():
        url = db or default_db_url(settings, authority)
        rows = asyncio.run(holdings(url, with_values=values))
    if as_json:
        typer.echo(holdings_json(rows, with_values=values).decode())
        return
    console = Console()  # the terminal's width; wide enough for any table in a pipe or file
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    console.print(holdings_table(rows, title=f"{authority} holds", with_values=values))


def readmodel_command(
    db: str | None = typer.Option(
        None, "--db", help="The hub's database URL. Default: RPS_DATABASE_URL."
    ),
    stop_at_end: bool = typer.Option(
        False,
        "--stop-at-end",
        help="Exit once caught up with the topics as they were at start.",
    ),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Empty the read model first and read the facts log, audit and acks again.",
    ),
) -> None:
    """Keep the hub's read model (profiles, consents, deliveries, acknowledgements) current."""
    import asyncio

    from consumers.readmodel import run_read_model

    settings = settings_and_logging()
    with plain_failures(settings), _reported():
        stats = asyncio.run(run_read_model(settings, db, stop_at_end=stop_at_end, rebuild=rebuild))
    typer.echo(
        f"read model: {stats.records} records read, {stats.written} recorded, "
        f"{stats.skipped} passed by ({stats.forgotten} of erased residents), "
        f"{stats.dead_lettered} dead-lettered"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("subscribe")(subscribe_command)
    app.command("holdings")(holdings_command)
    app.command("readmodel")(readmodel_command)
