"""The ``rps`` entry point. Each sub-command parses, builds settings, calls one function."""

from __future__ import annotations

import typer

from cli import consumers, feed, infra, operators, portal, producers, schemas, streams, webhooks

app = typer.Typer(
    name="rps",
    help="Resident Profile Sync: tell us once, for UK local government.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (infra, schemas, streams, producers, consumers, operators, portal, webhooks, feed):
    module.register(app)


def main() -> None:
    app()
