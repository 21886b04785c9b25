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
    infra,
    keys,
    portal,
    producers,
    replay,
    residents,
    schemas,
    streams,
)

app = typer.Typer(
    name="rps",
    help="Resident Profile Sync: tell us once, for UK local government.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (
    infra,
    schemas,
    streams,
    producers,
    consumers,
    replay,
    audit,
    residents,
    keys,
    portal,
):
    module.register(app)


def main() -> None:
    app()
