"""`rps` sub-commands for publishing: ``publish`` and ``gateway`` (``openapi``).

``rps publishers`` lives in cli/publishers.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import kafka_unreachable, plain_failures, settings_and_logging

if TYPE_CHECKING:
    from producers.files import Summary
    from rps.settings import Settings

gateway_app = typer.Typer(
    help="The HTTP publishing gateway. With no sub-command, serve it.",
    invoke_without_command=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command("publish")(publish)
    app.add_typer(gateway_app, name="gateway")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def publish(
    file: str = typer.Argument(
        ..., help="JSON-lines file of events ('-' reads standard input), or a CSV file."
    ),
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
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="Read FILE as CSV with this TOML column mapping (see docs/publishing.md).",
    ),
) -> None:
    """Check and send events, one a line: CloudEvents, or the simple form of a verified attribute;
    or the rows of a CSV file through a column mapping (--mapping).

    Every line is validated first; valid lines are sent and counted once Kafka
    acknowledges them, invalid ones are written with their errors to the
    rejected file. Prints a summary. Exit status: 0 all sent, 1 some lines
    rejected, 2 bad usage, 3 Kafka did not acknowledge.
    """
    from rps import tracing

    settings = settings_and_logging()
    tracing.configure("publish")
    if file != "-" and not Path(file).is_file():
        raise _fail("FILE: no such file")
    if mapping is not None or file.lower().endswith(".csv"):
        _publish_csv(settings, file, mapping, source, rejected, dry_run=dry_run)
        return
    _publish_lines(settings, file, source, rejected, dry_run=dry_run, progress=progress)


def _publish_lines(
    settings: Settings,
    file: str,
    source: str | None,
    rejected: Path | None,
    *,
    dry_run: bool,
    progress: bool | None,
) -> None:
    """`rps publish FILE`: the JSON-lines path of ``publish`` (CloudEvents or the simple form)."""
    from producers.errors import InvalidSigningKey, InvalidSource, PublishFailed
    from producers.events import check_source
    from producers.files import publish_file

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
    except InvalidSigningKey as error:
        raise _fail(str(error)) from None
    _report(summary)


def _publish_csv(
    settings: Settings,
    file: str,
    mapping: Path | None,
    source: str | None,
    rejected: Path | None,
    *,
    dry_run: bool,
) -> None:
    """`rps publish FILE.csv --mapping MAPPING`: the CSV path of ``publish``."""
    from producers.csv_input import MappingError, load_mapping
    from producers.csv_publishing import publish_csv
    from producers.errors import InvalidSigningKey, InvalidSource, PublishFailed
    from producers.events import check_source

    if mapping is None:
        raise _fail("--mapping: is required to read a CSV file")
    if file == "-":
        raise _fail("FILE: a CSV file is read from a path, not standard input")
    try:
        columns = load_mapping(mapping)
        chosen = source or columns.source or settings.publisher_source
        if chosen is not None:
            check_source(chosen)
        summary = asyncio.run(
            publish_csv(
                settings, file, columns, source=chosen, rejected_path=rejected, dry_run=dry_run
            )
        )
    except MappingError as error:
        raise _fail(f"--mapping: {error}") from None
    except InvalidSource as error:
        raise _fail(f"--source: {error}") from None
    except PublishFailed as error:
        raise _fail(str(error), 3) from None
    except InvalidSigningKey as error:
        raise _fail(str(error)) from None
    _report(summary)


def _report(summary: Summary) -> None:
    """Print the first rejections (line, field or column, rule), the summary, and exit."""
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
    from producers.errors import InvalidSigningKey
    from producers.gateway import serve
    from streams.worker.trust import allowed

    settings = settings_and_logging()
    changes: dict[str, object] = {}
    if host is not None:
        changes["gateway_host"] = host
    if port is not None:
        changes["gateway_port"] = port
    try:
        with plain_failures(settings):
            asyncio.run(serve(settings.model_copy(update=changes), permit=allowed))
    except InvalidSigningKey as error:
        raise _fail(str(error)) from None


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
