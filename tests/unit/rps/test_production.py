"""Production refuses unsafe settings: each refusal, all at once; a safe configuration passes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from cli.common import PROCESSES, process_of
from cli.main import app
from rps.production import MIN_SECRET_LENGTH, Process, problems
from rps.settings import Settings

STRONG = "k" * MIN_SECRET_LENGTH
SAFE: dict[str, Any] = {
    "environment": "production",
    "pseudonym_key": SecretStr("p" * 40),
    "audit_key": SecretStr("a" * 40),
    "portal_session_secret": SecretStr("s" * 40),
    "bootstrap_servers": "kafka-1.council.example:9093,kafka-2.council.example:9093",
    "security_protocol": "SASL_SSL",
}


def production(**changes: Any) -> Settings:
    return Settings(**{**SAFE, **changes})


def named(found: list[str]) -> set[str]:
    """The settings a list of problems names (the word before the first colon)."""
    return {problem.split(":", 1)[0] for problem in found}


@pytest.mark.parametrize("process", list(Process))
def test_a_safe_production_configuration_has_no_problem(process: Process) -> None:
    """Strong secrets, TLS to Kafka and no development sign-in: every process may start."""
    expected = ["RPS_ENVIRONMENT"] if process is Process.DEMO else []
    assert sorted(named(problems(production(), process))) == expected


@pytest.mark.parametrize("process", list(Process))
def test_development_checks_nothing(process: Process) -> None:
    """Outside production the development defaults are what they are for."""
    assert problems(Settings(environment="development"), process) == []


def test_the_worker_names_every_default_secret_at_once() -> None:
    """The pseudonym and audit keys left at their defaults are both named, in one list."""
    found = problems(Settings(environment="production"), Process.WORKER)
    assert named(found) == {"RPS_PSEUDONYM_KEY", "RPS_AUDIT_KEY"}
    assert all("development default" in problem for problem in found)


@pytest.mark.parametrize("name", ["pseudonym_key", "audit_key"])
def test_a_short_worker_secret_is_refused(name: str) -> None:
    """A secret one character under the minimum is refused, at the minimum it passes."""
    short = production(**{name: SecretStr(STRONG[1:])})
    assert named(problems(short, Process.WORKER)) == {f"RPS_{name.upper()}"}
    assert problems(production(**{name: SecretStr(STRONG)}), Process.WORKER) == []


def test_a_weak_retired_audit_key_is_named_by_its_id_not_its_secret() -> None:
    """RPS_AUDIT_KEYS with a short secret names the key id; the secret never appears."""
    settings = production(audit_keys=SecretStr(f"old-1:{STRONG},old-2:tiny-secret"))
    (problem,) = problems(settings, Process.AUDIT)
    assert problem.startswith("RPS_AUDIT_KEYS:")
    assert "old-2" in problem
    assert "tiny-secret" not in problem
    assert "old-1" not in problem


def test_the_portal_session_secret_default_is_refused() -> None:
    """The portal's development session secret would let anyone forge a resident's cookie."""
    defaults = production(portal_session_secret=Settings().portal_session_secret)
    assert named(problems(defaults, Process.PORTAL)) == {"RPS_PORTAL_SESSION_SECRET"}
    short = production(portal_session_secret=SecretStr("short"))
    assert named(problems(short, Process.PORTAL)) == {"RPS_PORTAL_SESSION_SECRET"}


def test_a_short_oidc_client_secret_is_refused() -> None:
    """The portal's OIDC client secret, when set, must be as long as any other secret."""
    settings = production(portal_oidc_client_secret=SecretStr("short"))
    assert named(problems(settings, Process.PORTAL)) == {"RPS_PORTAL_OIDC_CLIENT_SECRET"}


def test_the_portal_refuses_the_development_sign_in_and_an_insecure_cookie() -> None:
    """Development sign-in on (past the settings' own check) and a non-Secure cookie: both named."""
    settings = production().model_copy(
        update={"portal_development_sign_in": True, "portal_cookie_secure": False}
    )
    assert named(problems(settings, Process.PORTAL)) == {
        "RPS_PORTAL_DEVELOPMENT_SIGN_IN",
        "RPS_PORTAL_COOKIE_SECURE",
    }


@pytest.mark.parametrize("protocol", ["PLAINTEXT", "SASL_PLAINTEXT"])
def test_unencrypted_kafka_off_loopback_is_refused_for_every_kafka_client(protocol: str) -> None:
    """PLAINTEXT (or SASL_PLAINTEXT) to a remote broker is refused, naming the server."""
    settings = production(security_protocol=protocol, bootstrap_servers="127.0.0.1:9092,k2:9092")
    for process in (Process.WORKER, Process.AUDIT, Process.PORTAL, Process.KAFKA_CLIENT):
        (problem,) = problems(settings, process)
        assert problem.startswith("RPS_SECURITY_PROTOCOL:")
        assert "k2:9092" in problem
        assert "127.0.0.1" not in problem


@pytest.mark.parametrize(
    "servers", ["127.0.0.1:9092", "localhost:9092", "[::1]:9092", "127.0.0.2:1,localhost"]
)
def test_unencrypted_kafka_on_loopback_is_allowed(servers: str) -> None:
    """A broker on this machine may be reached in plain text."""
    settings = production(security_protocol="PLAINTEXT", bootstrap_servers=servers)
    assert problems(settings, Process.KAFKA_CLIENT) == []


def test_unencrypted_kafka_can_be_allowed_explicitly() -> None:
    """RPS_ALLOW_PLAINTEXT_KAFKA=true accepts a trusted network's plain connection."""
    settings = production(security_protocol="PLAINTEXT", allow_plaintext_kafka=True)
    assert problems(settings, Process.KAFKA_CLIENT) == []


def test_processes_are_checked_only_for_what_they_use() -> None:
    """`rps publish` needs none of the hub's secrets; offline commands need nothing at all."""
    settings = Settings(environment="production")  # every secret a default, Kafka on loopback
    assert problems(settings, Process.KAFKA_CLIENT) == []
    assert problems(settings, Process.OFFLINE) == []
    assert named(problems(settings, Process.AUDIT)) == {"RPS_AUDIT_KEY"}
    assert named(problems(settings, Process.ANY)) == {
        "RPS_PSEUDONYM_KEY",
        "RPS_AUDIT_KEY",
        "RPS_PORTAL_SESSION_SECRET",
    }


def test_no_problem_repeats_a_secret() -> None:
    """Refusals name settings and rules; the values given never appear."""
    secrets = {"pseudonym_key": "planted-pseudonym", "audit_key": "planted-audit"}
    settings = production(**{k: SecretStr(v) for k, v in secrets.items()})
    text = "\n".join(problems(settings, Process.ANY))
    assert text
    assert not any(value in text for value in secrets.values())


@pytest.mark.parametrize(
    ("command", "process"),
    [
        ("worker", Process.WORKER),
        ("audit", Process.AUDIT),
        ("gateway", Process.KAFKA_CLIENT),
        ("publishers", Process.KAFKA_CLIENT),
        ("holdings", Process.OFFLINE),
        ("some-new-command", Process.ANY),
        (None, Process.ANY),
    ],
)
def test_commands_map_to_processes(command: str | None, process: Process) -> None:
    """Each command has its kind; a command nobody listed is checked for everything."""
    assert process_of(command) is process


def test_every_command_of_rps_is_listed() -> None:
    """A new long-running command is noticed here rather than silently checked for everything."""
    import typer.main

    group = typer.main.get_command(app)
    top = set(group.commands)  # type: ignore[attr-defined]
    listed = set(PROCESSES)
    assert top <= listed, f"add to cli.common.PROCESSES: {sorted(top - listed)}"


def test_rps_worker_in_production_with_default_secrets_exits_2_naming_each() -> None:
    """`rps worker` refuses before it connects: exit 2, every setting named, no secret shown."""
    env = {"RPS_ENVIRONMENT": "production", "RPS_BOOTSTRAP_SERVERS": "kafka.example:9092"}
    result = CliRunner().invoke(app, ["worker"], env=env)
    assert result.exit_code == 2
    for name in ("RPS_PSEUDONYM_KEY", "RPS_AUDIT_KEY", "RPS_SECURITY_PROTOCOL"):
        assert name in result.output
    assert "local-development" not in result.output
    assert "`rps worker`" in result.output


def test_rps_audit_verify_in_production_is_checked_as_an_audit_command() -> None:
    """A sub-command takes its group's kind: `rps audit verify` needs the audit key."""
    result = CliRunner().invoke(app, ["audit", "verify"], env={"RPS_ENVIRONMENT": "production"})
    assert result.exit_code == 2
    assert "`rps audit`" in result.output
    assert "RPS_AUDIT_KEY:" in result.output
    assert "RPS_PSEUDONYM_KEY" not in result.output


def test_rps_portal_in_production_with_the_development_sign_in_exits_2() -> None:
    """`rps portal` with the development sign-in switched on in production refuses to start."""
    env = {
        "RPS_ENVIRONMENT": "production",
        "RPS_PORTAL_SESSION_SECRET": "s" * 40,
        "RPS_PORTAL_DEVELOPMENT_SIGN_IN": "true",
    }
    result = CliRunner().invoke(app, ["portal"], env=env)
    assert result.exit_code == 2
    assert "RPS_" in result.output
    assert "development_sign_in" in result.output.lower()


def test_rps_demo_never_runs_in_production() -> None:
    """The demo publishes made-up residents: production refuses it."""
    result = CliRunner().invoke(app, ["demo"], env={"RPS_ENVIRONMENT": "production"})
    assert result.exit_code == 2
    assert "RPS_ENVIRONMENT" in result.output


def test_invalid_settings_name_the_variable_and_never_echo_the_value() -> None:
    """A malformed RPS_* value is named with its rule; what was given is not repeated."""
    result = CliRunner().invoke(app, ["worker"], env={"RPS_PARTITIONS": "planted-value"})
    assert result.exit_code == 2
    assert "RPS_PARTITIONS:" in result.output
    assert "planted-value" not in result.output


@pytest.mark.parametrize("process", [Process.WORKER, Process.KAFKA_CLIENT, Process.PORTAL])
def test_trust_off_is_refused_in_production(process: Process) -> None:
    """RPS_TRUST=off (events taking effect unproven) is named for every process on Kafka."""
    assert named(problems(production(trust="off"), process)) == {"RPS_TRUST"}
