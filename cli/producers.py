"""`rps` sub-commands for publishing: ``publish``, ``gateway`` (``openapi``), ``publishers``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

from cli.common import kafka_unreachable, plain_failures, settings_and_logging

gateway_app = typer.Typer(
    help="The HTTP publishing gateway. With no sub-command, serve it.",
    invoke_without_command=True,
)
publishers_app = typer.Typer(
    help="Publisher credentials for the HTTP gateway: one API key per publisher source.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("publish")(publish)
    app.add_typer(gateway_app, name="gateway")
    app.add_typer(publishers_app, name="publishers")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def publish(
    file: str = typer.Argument(..., help="JSON-lines file of events; '-' reads standard input."),
    source: str | None = typer.Option(
        None,
        help="Your source, e.g. urn:gss:E08000012 (default RPS_PUBLISHER_SOURCE): fills the "
        "simple form, and CloudEvent lines naming any other source are rejected.",
    ),
    rejected: Path | None = typer.Option(
        None, help="Where rejected lines go (default FILE.rejected.jsonl, or rejected.jsonl)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every line; send nothing."),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Show a progress bar (default: long files)."
    ),
) -> None:
    """Check and send events, one a line: CloudEvents, or the simple form of a verified attribute.

    Every line is validated first; valid lines are sent and counted once Kafka
    acknowledges them, invalid ones are written with their errors to the
    rejected file. Prints a summary. Exit status: 0 all sent, 1 some lines
    rejected, 2 bad usage, 3 Kafka did not acknowledge.
    """
    from producers.errors import InvalidSource, PublishFailed
    from producers.events import check_source
    from producers.files import publish_file
    from rps import tracing

    settings = settings_and_logging()
    tracing.configure("publish")
    if file != "-" and not Path(file).is_file():
        raise _fail("FILE: no such file")
    chosen = source if source is not None else settings.publisher_source
    if chosen is not None:
        try:
            check_source(chosen)
        except InvalidSource as error:
            raise _fail(f"--source: {error}") from None
    try:
        summary = asyncio.run(
            publish_file(
                settings,
                file,
                source=chosen,
                rejected_path=rejected,
                dry_run=dry_run,
                progress=progress,
            )
        )
    except PublishFailed as error:
        raise _fail(kafka_unreachable(error, settings) or str(error), 3) from None
    for rejection in summary.first_rejections:
        typer.echo(f"rejected {rejection.describe()}", err=True)
    if summary.rejected > len(summary.first_rejections):
        typer.echo(f"... and {summary.rejected - len(summary.first_rejections)} more", err=True)
    for line in summary.lines():
        typer.echo(line)
    if summary.rejected:
        raise typer.Exit(1)


@gateway_app.callback()
def gateway(
    context: typer.Context,
    host: str | None = typer.Option(None, help="Address to listen on (default RPS_GATEWAY_HOST)."),
    port: int | None = typer.Option(
        None, min=0, max=65535, help="Port to listen on (default RPS_GATEWAY_PORT, 8080)."
    ),
) -> None:
    """Serve the HTTP publishing gateway until interrupted (Ctrl-C).

    Publishers send events with their API key (`rps publishers add`); each
    answer is 202 only once Kafka has acknowledged, 503 when Kafka is down.
    """
    if context.invoked_subcommand is not None:
        return
    from producers.gateway import serve

    settings = settings_and_logging()
    changes: dict[str, object] = {}
    if host is not None:
        changes["gateway_host"] = host
    if port is not None:
        changes["gateway_port"] = port
    with plain_failures(settings):
        asyncio.run(serve(settings.model_copy(update=changes)))


@gateway_app.command("openapi")
def openapi(
    write: bool = typer.Option(
        False, "--write", help="Write producers/gateway/openapi.json instead of printing it."
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit 1 when the checked-in document is out of date."
    ),
) -> None:
    """Print the gateway's OpenAPI document (or regenerate, or check, the checked-in copy)."""
    from producers.gateway import openapi as document

    settings_and_logging()
    if check:
        if document.drifted():
            raise _fail(
                f"{document.OPENAPI_PATH} is out of date: run `rps gateway openapi --write`", 1
            )
        typer.echo(f"{document.OPENAPI_PATH} is current")
    elif write:
        changed = document.write()
        typer.echo(f"{'wrote' if changed else 'unchanged'}: {document.OPENAPI_PATH}")
    else:
        typer.echo(document.render(), nl=False)


@publishers_app.command("add")
def publishers_add(
    source: str = typer.Argument(
        ..., help="The publisher's source: urn:gss:<GSS> or urn:org:<name>."
    ),
) -> None:
    """Issue an API key bound to SOURCE: printed once, here, and stored only as a hash."""
    from producers.credentials import add_publisher
    from producers.errors import InvalidSource

    settings = settings_and_logging()
    try:
        issued = asyncio.run(add_publisher(settings, source))
    except InvalidSource as error:
        raise _fail(f"SOURCE: {error}") from None
    typer.echo(f"id:     {issued.credential.id}")
    typer.echo(f"source: {issued.credential.source}")
    typer.echo(f"key:    {issued.key}")
    typer.echo("Keep the key safe: it is shown only now. Send it as `Authorization: Bearer <key>`.")


@publishers_app.command("list")
def publishers_list() -> None:
    """List publisher credentials: id, source, when issued, and whether revoked (never the key)."""
    from producers.credentials import list_publishers

    settings = settings_and_logging()
    credentials = asyncio.run(list_publishers(settings))
    typer.echo(f"{'ID':<18} {'SOURCE':<30} {'CREATED':<20} STATUS")
    for credential in credentials:
        status = (
            "active"
            if credential.revoked_at is None
            else f"revoked {credential.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        )
        created = f"{credential.created_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo(f"{credential.id:<18} {credential.source:<30} {created:<20} {status}")
    typer.echo(f"{len(credentials)} credential(s)")


@publishers_app.command("revoke")
def publishers_revoke(
    credential_id: str = typer.Argument(..., metavar="ID", help="The credential id to revoke."),
) -> None:
    """Revoke a credential by its id; the gateway refuses its key from then on (401)."""
    from producers.credentials import revoke_publisher
    from producers.errors import UnknownCredential

    settings = settings_and_logging()
    try:
        credential = asyncio.run(revoke_publisher(settings, credential_id))
    except UnknownCredential as error:
        raise _fail(f"ID: {error}") from None
    typer.echo(f"revoked {credential.id} ({credential.source})")
