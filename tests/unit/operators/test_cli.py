"""The operators' commands refuse bad input with the field and rule, never echoing the value,
and `rps replay` fails on a refused subscription change the audit trail lacks."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from cli.audit import subject_of
from cli.main import app
from cli.replay import _print_result
from streams.operators.refusals import Refusals
from streams.operators.replay import Comparison, Rebuilt, Replayed


def test_audit_show_refuses_a_resident_that_is_not_a_hub_id() -> None:
    """A national-insurance-like value is refused as RESIDENT without being printed back."""
    result = CliRunner().invoke(app, ["audit", "show", "QQ123456C"])
    assert result.exit_code == 2
    assert "RESIDENT|AUTHORITY: must be a hub id (a UUID) or an authority id" in result.output
    assert "QQ123456C" not in result.output


def test_audit_show_takes_a_hub_id_or_an_authority_id() -> None:
    """A hub id is read as a resident (in its canonical form), a GSS code or urn:org: name
    as an authority; a source (urn:gss:...) is neither."""
    resident = "3F0C2A8E-1B2C-4D3E-8F90-A1B2C3D4E5F6"
    assert subject_of(resident) == ("resident", resident.lower())
    assert subject_of("E08000015") == ("authority", "E08000015")
    assert subject_of("urn:org:dwp") == ("authority", "urn:org:dwp")
    with pytest.raises(typer.Exit):
        subject_of("urn:gss:E08000015")


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


def _replayed(refusals: Refusals, written: int | None = None) -> Replayed:
    rebuilt = Rebuilt({}, 0, 0)
    return Replayed(Comparison(0, 0, 0, 0, [], [], False, rebuilt, refusals), written)


def test_replay_fails_on_a_refused_subscription_change_live_did_not_audit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refusal missing from the audit trail is printed by its position and exits 1; all
    found, the count is printed and replay equals live."""
    with pytest.raises(typer.Exit) as failed:
        _print_result(_replayed(Refusals(3, ("1:17",), 0)), 0.0)
    assert failed.value.exit_code == 1
    out = capsys.readouterr().out
    assert "3 subscription changes refused, 2 audited as replayed" in out
    assert "not audited as replayed: subscription change at 1:17" in out
    assert "replay equals live" not in out
    _print_result(_replayed(Refusals(3, (), 1)), 0.0)
    out = capsys.readouterr().out
    assert "3 subscription changes refused, 2 audited as replayed, 1 not checkable" in out
    assert "replay equals live" in out


def test_a_rebuild_still_fails_on_a_refused_subscription_change_live_did_not_audit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--rebuild` writes the state, and still exits 1 while the audit trail lacks a refusal;
    with every refusal found it exits 0."""
    with pytest.raises(typer.Exit) as failed:
        _print_result(_replayed(Refusals(3, ("1:17",), 0), written=4), 0.0)
    assert failed.value.exit_code == 1
    out = capsys.readouterr().out
    assert "rebuilt: 4 changelog records written" in out
    assert "not audited as replayed: subscription change at 1:17" in out
    _print_result(_replayed(Refusals(3, (), 0), written=4), 0.0)
    assert "rebuilt: 4 changelog records written" in capsys.readouterr().out
