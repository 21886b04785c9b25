"""`rps replay`: rebuild every resident from the facts log and compare with the live state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from streams.operators.refusals import Refusals
    from streams.operators.replay import Replayed


@contextmanager
def _reported() -> Iterator[None]:
    """Known failures of a replay become one line on stderr and an exit code."""
    from aiokafka.errors import KafkaConnectionError

    from rps.keystore import KeyStoreUnavailable
    from streams.operators.replay import RebuildRefused

    try:
        yield
    except RebuildRefused as error:
        typer.echo(f"error: --rebuild refused: {error}", err=True)
        raise typer.Exit(2) from error
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    except KeyStoreUnavailable as error:
        typer.echo("error: database_url: the key store cannot be reached", err=True)
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


def _print_result(result: Replayed, rate: float) -> None:
    """The summary, every differing resident (by id only), and the exit status."""
    found = result.comparison
    typer.echo(
        f"compared {found.residents} residents, {found.events} events "
        f"({found.rejected} rejected) in {found.partitions} partitions; "
        f"{rate:,.0f} events/s"
    )
    if found.rebuilt.forgotten:
        typer.echo(f"{found.rebuilt.forgotten} events of erased residents stay sealed")
    for resident in found.differing:
        typer.echo(f"differs: resident {resident}")
    if found.differing:
        typer.echo(
            f"{len(found.differing)} residents differ "
            f"(partitions {', '.join(map(str, found.differing_partitions))})"
        )
    _print_refusals(found.refusals)
    if result.written is not None:
        typer.echo(f"rebuilt: {result.written} changelog records written")
        if found.refusals.missing:  # the state is rebuilt; the audit trail still lacks them
            raise typer.Exit(1)
        return
    if found.differing or found.refusals.missing:
        raise typer.Exit(1)
    typer.echo("replay equals live" if not found.partial else "every replayed event is live")


def _print_refusals(refusals: Refusals) -> None:
    """How many subscription changes replay refused, and each whose audit live lacks."""
    if not refusals.refused:
        return
    unchecked = f", {refusals.unchecked} not checkable" if refusals.unchecked else ""
    typer.echo(
        f"{refusals.refused} subscription changes refused, "
        f"{refusals.audited} audited as replayed{unchecked}"
    )
    for position in refusals.missing:
        typer.echo(f"not audited as replayed: subscription change at {position}")


def replay_command(
    since: str | None = typer.Option(
        None,
        "--from",
        help="Replay only the facts logged at or after this ISO 8601 time, and check that "
        "each is in the live state (default: everything, compared exactly).",
    ),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Write the rebuilt state as the new live state (recovery). Refused while any "
        "worker runs, and with --from.",
    ),
) -> None:
    """Rebuild every resident from the facts log and compare with the live state.

    Exits 1 when a resident differs (ids only are printed), or when a subscription change
    it refuses is not in the audit trail as the worker writes it; 0 when all agree.
    """
    import asyncio

    from cli._replay_bar import replay_bar
    from streams.operators.replay import replay

    settings = settings_and_logging()
    start = _parse_time(since)
    with _reported(), replay_bar() as bar:
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
    _print_result(result, rate)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("replay")(replay_command)
