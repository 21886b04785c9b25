"""`rps deadletter list|show|redrive`: read dead letters and send a fixed one back, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from streams.operators.deadletters import DeadLetter

deadletter_app = typer.Typer(
    help="Dead letters: list them, look at one, send one back to its topic.",
    no_args_is_help=True,
)


@contextmanager
def _reported() -> Iterator[None]:
    """Known failures become one line on stderr and an exit code."""
    from aiokafka.errors import KafkaConnectionError, KafkaError

    from rps.topic_admin import TopicAdminError
    from streams.operators.deadletters import DeadLetterError

    try:
        yield
    except DeadLetterError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    except (KafkaConnectionError, TopicAdminError) as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    except KafkaError as error:
        typer.echo(f"error: Kafka refused: {type(error).__name__}", err=True)
        raise typer.Exit(1) from error


def _line(letter: DeadLetter) -> str:
    origin = f"{letter.origin_topic}:{letter.origin_partition}:{letter.origin_offset}"
    redriven = f" redriven {letter.redriven_at.isoformat()}" if letter.redriven_at else ""
    return (
        f"{letter.position:>8}  {letter.time.isoformat()}  {letter.reason}  from {origin}  "
        f"{letter.size} bytes  {letter.event_type or '-'}  {letter.event_id or '-'}{redriven}"
    )


@deadletter_app.command("list")
def list_command(
    reason: str | None = typer.Option(None, "--reason", help="Only dead letters with this reason."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List dead letters: position (PARTITION:OFFSET), time, reason, origin, size, event type
    and id, and whether it was redriven. Never a key's or value's content."""
    import asyncio

    from streams.operators.deadletters import list_dead_letters

    settings = settings_and_logging()
    with _reported():
        letters = asyncio.run(list_dead_letters(settings))
    shown = [letter for letter in letters if reason is None or letter.reason == reason]
    for letter in shown:
        typer.echo(json.dumps(letter.as_json()) if as_json else _line(letter))
    if not as_json:
        typer.echo(f"{len(shown)} dead letters")


@deadletter_app.command("show")
def show_command(
    position: str = typer.Argument(..., help="The dead letter, as PARTITION:OFFSET."),
    values: bool = typer.Option(
        False,
        "--values",
        help="Print the key and value too (personal data). The viewing is recorded on the "
        "operations topic and logged, with your user name.",
    ),
) -> None:
    """Show one dead letter: where it came from, why, its header names; its key and value only
    with --values."""
    import asyncio

    from streams.operators.deadletters import show

    settings = settings_and_logging()
    with _reported():
        shown = asyncio.run(show(settings, position, values=values))
    for name, value in shown.letter.as_json().items():
        typer.echo(f"{name}: {value}")
    typer.echo(f"headers: {', '.join(shown.header_names) or '-'}")
    if values:
        typer.echo(f"key: {(shown.key or b'').decode('utf-8', 'replace')}")
        typer.echo(f"value: {(shown.value or b'').decode('utf-8', 'replace')}")
    else:
        typer.echo("key and value not shown (--values shows them, and records that you looked)")


@deadletter_app.command("redrive")
def redrive_command(
    position: str = typer.Argument(..., help="The dead letter, as PARTITION:OFFSET."),
    value_file: Path | None = typer.Option(
        None,
        "--value-file",
        exists=True,
        dir_okay=False,
        help="Send this file's bytes as the value instead of the dead letter's own (a fix).",
    ),
) -> None:
    """Send a dead letter back to the topic it came from, once (after its cause was cleared
    or its value fixed). A second redrive of the same dead letter is refused (exit 1)."""
    import asyncio

    from streams.operators.deadletters import redrive

    settings = settings_and_logging()
    fixed = value_file.read_bytes() if value_file is not None else None
    with _reported():
        letter = asyncio.run(redrive(settings, position, fixed))
    typer.echo(f"redriven {letter.position} to {letter.origin_topic}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(deadletter_app, name="deadletter")
