"""`rps` sub-commands of the stream processor: `rps worker` and `rps demo`."""

from __future__ import annotations

import typer

from cli.common import plain_failures, settings_and_logging


def worker() -> None:
    """Run one stream worker (several may run; they share the partitions).

    Reads the attributes, consents, control and subscriptions topics, keeps one
    profile per resident, and writes deliveries, consent endings, audit records
    and dead letters. Stop it with Ctrl-C or SIGTERM.
    """
    import asyncio

    import infra
    from streams.runtime.app import run

    settings = settings_and_logging()
    with plain_failures(settings):
        asyncio.run(infra.ensure_topics(settings))
        run(settings)


def demo(
    keep_running: bool = typer.Option(
        False, help="Leave the worker and subscribers running at the end."
    ),
) -> None:
    """Run the whole story against the local broker, on fresh topics, and print who got what.

    Liverpool, Wirral, DWP and DVLA subscribe; three residents consent
    differently; an address change, a low-assurance email, a registered
    death, a death reported in error and retracted, and a withdrawn consent
    flow through a real worker. Exits non-zero if any authority received
    something other than what it may see.
    """
    import asyncio
    import os

    from cli.demo import run_demo
    from rps.logs import configure

    settings = settings_and_logging()
    if "RPS_LOG_LEVEL" not in os.environ:
        configure(settings.log_format, "warning")  # the story's tables are the output
    ok = asyncio.run(run_demo(settings, keep_running=keep_running))
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.command()(worker)
    app.command()(demo)
