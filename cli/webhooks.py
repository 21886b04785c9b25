"""`rps webhooks`: signed webhooks for authorities without Kafka (``run``, ``add``, ``rotate``,
``list``, ``remove``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer

from cli.common import settings_and_logging

webhooks_app = typer.Typer(
    help="Signed webhooks (Standard Webhooks): deliveries POSTed to an authority's HTTPS endpoint.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(webhooks_app, name="webhooks")


@contextmanager
def _reported() -> Iterator[None]:
    """Our known failures as a message on stderr (argument and rule) and an exit code."""
    from aiokafka.errors import KafkaConnectionError

    from consumers.webhooks import WebhookError

    try:
        yield
    except WebhookError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    except ValueError as error:  # an authority that is neither a GSS code nor urn:org:<name>
        typer.echo("error: AUTHORITY: must be a 9-character GSS code or urn:org:<name>", err=True)
        raise typer.Exit(2) from error
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error


@webhooks_app.command("run")
def run_command(
    authority: str = typer.Argument(..., help="The authority whose deliveries to POST."),
    stop_at_end: bool = typer.Option(
        False, "--stop-at-end", help="Exit once caught up with the topic as it was at start."
    ),
) -> None:
    """POST AUTHORITY's deliveries to its endpoint, signed; acknowledge each 2xx to the hub.

    A refusal (4xx other than 408 and 429) is dead-lettered with its status;
    anything else is retried with backoff until the endpoint answers. Offsets
    are committed only once every answer is final.
    """
    from consumers.webhooks import run

    settings = settings_and_logging()
    with _reported():
        stats = asyncio.run(run(settings, authority, stop_at_end=stop_at_end))
    typer.echo(
        f"{authority}: {stats.records} records read, {stats.applied} applied, "
        f"{stats.refused} refused, {stats.dead_lettered} dead-lettered, {stats.retries} retries"
    )


@webhooks_app.command("add")
def add_command(
    authority: str = typer.Argument(..., help="A GSS code (E08000012) or urn:org:<name>."),
    url: str = typer.Argument(..., help="The endpoint: https:// (http:// only on loopback)."),
) -> None:
    """Register AUTHORITY's endpoint and issue its signing secret (printed once, here)."""
    from consumers.webhooks import add_endpoint

    settings = settings_and_logging()
    with _reported():
        endpoint = asyncio.run(add_endpoint(settings, authority, url))
    typer.echo(f"authority: {endpoint.authority}")
    typer.echo(f"url:       {endpoint.url}")
    typer.echo(f"secret:    {endpoint.secret}")
    typer.echo("Give the secret to the receiver over a safe channel: it is shown only now.")


@webhooks_app.command("rotate")
def rotate_command(
    authority: str = typer.Argument(..., help="The authority whose secret to replace."),
    grace_hours: float = typer.Option(
        24.0, "--grace-hours", min=0, help="Hours the old secret keeps signing beside the new."
    ),
) -> None:
    """Issue AUTHORITY a new signing secret (printed once); the old one signs too for a while."""
    from consumers.webhooks import rotate_secret

    settings = settings_and_logging()
    with _reported():
        endpoint = asyncio.run(rotate_secret(settings, authority, timedelta(hours=grace_hours)))
    typer.echo(f"secret:    {endpoint.secret}")
    until = endpoint.previous_until
    typer.echo(
        f"the old secret signs too until {until:%Y-%m-%dT%H:%M:%SZ}"
        if until
        else "the old secret no longer signs"
    )


@webhooks_app.command("list")
def list_command() -> None:
    """List webhook endpoints: authority, URL, when registered and rotated (never a secret)."""
    from consumers.webhooks import list_endpoints

    settings = settings_and_logging()
    endpoints = asyncio.run(list_endpoints(settings))
    typer.echo(f"{'AUTHORITY':<24} {'CREATED':<20} {'ROTATED':<20} URL")
    for e in endpoints:
        rotated = f"{e.rotated_at:%Y-%m-%dT%H:%M:%SZ}" if e.rotated_at else "-"
        typer.echo(f"{e.authority:<24} {e.created_at:%Y-%m-%dT%H:%M:%SZ}  {rotated:<20} {e.url}")
    typer.echo(f"{len(endpoints)} endpoint(s)")


@webhooks_app.command("remove")
def remove_command(
    authority: str = typer.Argument(..., help="The authority whose endpoint to forget."),
) -> None:
    """Forget AUTHORITY's endpoint and its secrets; its webhook process stops at its next read."""
    from consumers.webhooks import remove_endpoint

    settings = settings_and_logging()
    with _reported():
        asyncio.run(remove_endpoint(settings, authority))
    typer.echo(f"removed the endpoint of {authority}")
