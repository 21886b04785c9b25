"""The ``rps`` entry point. Each sub-command parses, builds settings, calls one function.

The command modules import only typer at module level, so ``rps --help`` starts
without loading the product; each command imports what it uses when it runs
(``tests/unit/cli/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import typer

from cli import (
    audit,
    consumers,
    deadletter,
    feed,
    infra,
    keys,
    portal,
    producers,
    publishers,
    replay,
    residents,
    schemas,
    status,
    streams,
    webhooks,
)
from cli.common import remember_command

app = typer.Typer(
    name="rps",
    help="Resident Profile Sync: tell us once, for UK local government.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.callback()(remember_command)

for module in (
    infra,
    schemas,
    streams,
    producers,
    publishers,
    consumers,
    replay,
    audit,
    residents,
    keys,
    status,
    deadletter,
    portal,
    webhooks,
    feed,
):
    module.register(app)


def main() -> None:
    app()
