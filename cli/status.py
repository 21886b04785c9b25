"""`rps status`: consumer groups, their members and lag, dead letters, workers' readiness."""

from __future__ import annotations

import json

import typer

from cli.common import settings_and_logging


def status_command(
    worker: list[str] = typer.Option(
        [],
        "--worker",
        help="A worker's metrics address (http://127.0.0.1:PORT, its RPS_METRICS_PORT): its "
        "readiness and state restore progress are shown. Repeat for each worker.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show consumer groups (state, members, lag per partition), dead letters by reason, and
    workers' readiness and restore progress."""
    import asyncio

    from aiokafka.errors import KafkaConnectionError

    from rps.topic_admin import TopicAdminError
    from streams.operators.status import status

    settings = settings_and_logging()
    try:
        report = asyncio.run(status(settings, worker))
    except (KafkaConnectionError, TopicAdminError) as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    for group in report.groups:
        typer.echo(
            f"group {group.group}: {group.state}, {len(group.members)} members, lag {group.lag}"
        )
        for member in group.members:
            typer.echo(f"  member {member.client_id} on {member.host}")
        for p in group.partitions:
            typer.echo(
                f"  {p.topic}[{p.partition}] committed {p.committed} end {p.end} lag {p.lag}"
            )
    if not report.groups:
        typer.echo("no consumer group has committed on these topics yet")
    total = sum(report.dead_letters.values())
    reasons = ", ".join(f"{reason} {count}" for reason, count in report.dead_letters.items())
    typer.echo(
        f"dead letters: {total}" + (f" ({reasons}); {report.redriven} redriven" if total else "")
    )
    for health in report.workers:
        if health.ready is None:
            typer.echo(f"worker {health.url}: not answering")
            continue
        state = "ready" if health.ready else f"not ready ({', '.join(health.unmet)})"
        restore = (
            f", {health.restore_remaining:.0f} changelog records to restore"
            if health.restore_remaining
            else ""
        )
        typer.echo(f"worker {health.url}: {state}{restore}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("status")(status_command)
