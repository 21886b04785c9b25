"""The operators' commands refuse bad input with the field and rule, never echoing the value."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app


def test_audit_show_refuses_a_resident_that_is_not_a_hub_id() -> None:
    """A national-insurance-like value is refused as RESIDENT without being printed back."""
    result = CliRunner().invoke(app, ["audit", "show", "QQ123456C"])
    assert result.exit_code == 2
    assert "RESIDENT: must be a hub id" in result.output
    assert "QQ123456C" not in result.output


def test_replay_refuses_a_malformed_time() -> None:
    """`--from` must be an ISO 8601 time; the refusal names the option."""
    result = CliRunner().invoke(app, ["replay", "--from", "last tuesday"])
    assert result.exit_code == 2
    assert "--from: must be an ISO 8601 time" in result.output


def test_every_operator_command_has_help() -> None:
    """`replay`, `audit verify` and `audit show` each explain themselves under --help."""
    for args in (["replay"], ["audit", "verify"], ["audit", "show"]):
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0
        assert "Usage" in result.output
