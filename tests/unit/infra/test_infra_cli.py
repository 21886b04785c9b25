"""The `rps infra` and `rps topics` commands: help text and clear failures."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from cli.main import app


@pytest.mark.parametrize(
    "command", [["infra", "up"], ["infra", "down"], ["infra", "status"], ["topics", "create"]]
)
def test_every_command_has_help(command: list[str]) -> None:
    """Each infra command answers --help with a description."""
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
    assert len(result.output.splitlines()) > 4


def test_topics_create_without_a_broker_fails_clearly() -> None:
    """With nothing listening, `rps topics create` names the setting and exits non-zero."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(
        app, ["topics", "create"], env={"RPS_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}"}
    )
    assert result.exit_code == 1
    assert "RPS_BOOTSTRAP_SERVERS" in result.output
    assert "Traceback" not in result.output
