"""`rps` sub-commands: `rps infra up|down|status` and topic administration, `rps topics`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from infra import Service, TopicState
    from infra.services import Report
    from rps.settings import Settings

infra_app = typer.Typer(
    help="The local Kafka broker and PostgreSQL used for development, the demo and the tests.",
    no_args_is_help=True,
)
topics_app = typer.Typer(help="Topic administration on the configured Kafka.", no_args_is_help=True)


@contextmanager
def _failing_cleanly() -> Iterator[None]:
    """Show an infra error as one clear message on stderr and exit non-zero."""
    from infra import InfraError

    try:
        yield
    except InfraError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error


@contextmanager
def _progress(first: str) -> Iterator[Report]:
    """A spinner on stderr naming the step in hand (silent when stderr is not a terminal)."""
    from rich.console import Console

    with Console(stderr=True).status(first) as spinner:
        yield lambda message: spinner.update(message)


def _service_line(service: Service) -> str:
    line = f"{service.name:<9} {service.state:<9} {service.where}"
    extras = [service.detail] if service.detail else []
    if service.pid is not None:
        extras.append(f"pid {service.pid}" + (", started now" if service.started else ""))
    if extras:
        line += f"  ({'; '.join(extras)})"
    if service.log is not None:
        line += f"\n{'':<20}log {service.log}"
    return line


def _topic_line(topic: TopicState) -> str:
    if topic.retention_ms is None:
        keeps = "compacted"
    elif topic.retention_ms < 0:
        keeps = "kept for ever"
    else:
        keeps = f"kept {topic.retention_ms / 86_400_000:g} days"
    verb = "created" if topic.created else "exists "
    return f"{verb}  {topic.name}  {topic.partitions} partitions, {keeps}"


_BROKERS = typer.Option(
    1,
    "--brokers",
    min=1,
    max=5,
    help="Run a KRaft cluster of this many brokers (3: replication factor 3, "
    "min.insync.replicas 2) on RPS_KAFKA_PORT, +2, +4 ... instead of the one broker.",
)


@infra_app.command("up")
def up_command(brokers: int = _BROKERS) -> None:
    """Start (or reuse) Kafka and PostgreSQL on 127.0.0.1, wait until both answer, create topics.

    The first run fetches the Kafka jars with Maven and may install PostgreSQL
    with apt; later runs take seconds. Running it twice is harmless.
    """
    from infra import up

    settings = settings_and_logging()
    if brokers > 1:
        _cluster_up(settings, brokers)
        return
    with _failing_cleanly(), _progress("starting") as report:
        result = asyncio.run(up(settings, report))
    for service in result.services:
        typer.echo(_service_line(service))
    created = sum(topic.created for topic in result.topics)
    typer.echo(
        f"{'topics':<9} {'ready':<9} {len(result.topics)} under prefix '{settings.topic_prefix}'"
        f" ({created} created now)"
    )
    typer.echo(f"ready in {result.elapsed_seconds:.1f} s")


def _cluster_up(settings: Settings, brokers: int) -> None:
    from infra import cluster, ensure_topics

    replicated = settings.model_copy(
        update={
            "bootstrap_servers": cluster.bootstrap(settings, brokers),
            "replication_factor": min(3, brokers),
        }
    )

    async def up() -> list[TopicState]:
        await cluster.start(replicated, brokers)
        return await ensure_topics(replicated)

    with _failing_cleanly(), _progress(f"starting {brokers} Kafka brokers"):
        topics = asyncio.run(up())
    for node in cluster.nodes(settings, brokers):
        typer.echo(f"kafka     running   {node.address}  (node {node.id}, log {node.paths.log})")
    typer.echo(f"{'topics':<9} {'ready':<9} {len(topics)} under prefix '{settings.topic_prefix}'")
    typer.echo(
        f"export RPS_BOOTSTRAP_SERVERS={replicated.bootstrap_servers} "
        f"RPS_REPLICATION_FACTOR={replicated.replication_factor}"
    )


@infra_app.command("down")
def down_command(brokers: int = _BROKERS) -> None:
    """Stop the Kafka and PostgreSQL that `rps infra up` started, and nothing else. Data is kept."""
    from infra import down

    settings = settings_and_logging()
    if brokers > 1:
        from infra import cluster

        for pid in cluster.stop(settings, brokers):
            typer.echo(f"kafka     stopped   (pid {pid})")
        return
    with _failing_cleanly(), _progress("stopping"):
        services = asyncio.run(down(settings))
    for service in services:
        if service.pid is None:
            typer.echo(f"{service.name:<9} was not running")
        else:
            typer.echo(f"{service.name:<9} stopped   (pid {service.pid})")


@infra_app.command("status")
def status_command() -> None:
    """Say whether the local Kafka and PostgreSQL run and answer. Exits 3 when one does not."""
    from infra import status

    settings = settings_and_logging()
    with _failing_cleanly():
        services = asyncio.run(status(settings))
    for service in services:
        typer.echo(_service_line(service))
    if any(service.state in ("stopped", "no answer") for service in services):
        raise typer.Exit(3)


@topics_app.command("create")
def create_command() -> None:
    """Create every topic of the design that is missing, on RPS_BOOTSTRAP_SERVERS.

    Refuses, changing nothing, when co-partitioned topics (attributes, consents,
    control) would disagree on their partition count or a topic has the wrong
    clean-up policy.
    """
    from infra import ensure_topics

    settings = settings_and_logging()
    with _failing_cleanly():
        topics = asyncio.run(ensure_topics(settings))
    for topic in topics:
        typer.echo(_topic_line(topic))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(infra_app, name="infra")
    app.add_typer(topics_app, name="topics")
