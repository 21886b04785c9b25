"""What a process refuses to start with in production: a pure check over the settings.

With ``RPS_ENVIRONMENT=production`` every process that holds a secret or talks
to Kafka checks its settings first, and refuses to start, naming every setting
to fix at once, when:

* a secret it uses is still the development default, or shorter than
  :data:`MIN_SECRET_LENGTH` characters (the pseudonym and audit keys, the
  portal's session secret, retired audit keys, the OIDC client secret);
* its Kafka connection is unencrypted (``PLAINTEXT`` or ``SASL_PLAINTEXT``) to a
  bootstrap server off loopback, unless ``RPS_ALLOW_PLAINTEXT_KAFKA=true`` says
  the network itself is trusted;
* it is the portal and would offer the development sign-in or send its session
  cookie without ``Secure``;
* it is the demo, which publishes made-up residents;
* it talks to Kafka with ``RPS_TRUST=off`` (events would take effect unproven).

Each process is checked only for what it uses, so a council running
``rps publish`` or ``rps subscribe`` needs no secret of the hub's. Messages name
settings and rules, never a secret's value. Nothing here reads the environment
or the clock: the command line calls :func:`problems` with the settings it built.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Final

from pydantic import SecretStr

from rps.settings import Settings

MIN_SECRET_LENGTH: Final = 32
"""The shortest secret accepted in production, in characters (256 bits of random hex)."""


class Process(StrEnum):
    """The kinds of process, by what they hold and whom they talk to."""

    WORKER = "worker"
    """The stream worker: pseudonym key, audit key, Kafka."""
    AUDIT = "audit"
    """``rps audit``: the audit keys, Kafka."""
    PORTAL = "portal"
    """The resident portal: session secret, sign-in, Kafka."""
    KAFKA_CLIENT = "kafka_client"
    """Any other process that talks to Kafka (gateway, publish, subscriber, read model...)."""
    DEMO = "demo"
    """The demo: never in production."""
    OFFLINE = "offline"
    """Talks to neither Kafka nor anyone else (validate, contracts, local services)."""
    ANY = "any"
    """A process this module does not know: everything is checked."""


_SECRETS: Final[dict[Process, tuple[str, ...]]] = {
    Process.WORKER: ("pseudonym_key", "audit_key", "audit_keys"),
    Process.AUDIT: ("audit_key", "audit_keys"),
    Process.PORTAL: ("portal_session_secret", "portal_oidc_client_secret"),
    Process.ANY: (
        "pseudonym_key",
        "audit_key",
        "audit_keys",
        "portal_session_secret",
        "portal_oidc_client_secret",
    ),
}
_USES_KAFKA: Final = frozenset(
    {Process.WORKER, Process.AUDIT, Process.PORTAL, Process.KAFKA_CLIENT, Process.ANY}
)
_UNENCRYPTED: Final = frozenset({"PLAINTEXT", "SASL_PLAINTEXT"})


def problems(settings: Settings, process: Process) -> list[str]:
    """Every reason ``process`` must not start with ``settings``: empty outside production."""
    if settings.environment != "production" or process is Process.OFFLINE:
        return []
    if process is Process.DEMO:
        return ["RPS_ENVIRONMENT: the demo publishes made-up residents; never in production"]
    found = [problem for name in _SECRETS.get(process, ()) for problem in _secret(settings, name)]
    if process in _USES_KAFKA:
        found += _kafka(settings)
        if settings.trust == "off":
            found.append("RPS_TRUST: off lets events take effect unproven; use enforce")
    if process in (Process.PORTAL, Process.ANY):
        found += _portal(settings)
    return found


def _secret(settings: Settings, name: str) -> list[str]:
    value = getattr(settings, name)
    if value is None:
        return []
    env = _env(name)
    if name == "audit_keys":
        return _retired_audit_keys(value.get_secret_value(), env)
    default = Settings.model_fields[name].default
    if isinstance(default, SecretStr) and value.get_secret_value() == default.get_secret_value():
        return [f"{env}: is the development default; set a random secret of its own"]
    if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
        return [f"{env}: must be at least {MIN_SECRET_LENGTH} characters"]
    return []


def _retired_audit_keys(value: str, env: str) -> list[str]:
    """``id:secret,...``: each retired secret must be as strong as a current one."""
    pairs = [pair.partition(":") for pair in value.split(",") if pair.strip()]
    weak = [key_id.strip() for key_id, _, secret in pairs if len(secret) < MIN_SECRET_LENGTH]
    if not weak:
        return []
    return [f"{env}: the secret of key {', '.join(weak)} is under {MIN_SECRET_LENGTH} characters"]


def _kafka(settings: Settings) -> list[str]:
    if settings.security_protocol not in _UNENCRYPTED or settings.allow_plaintext_kafka:
        return []
    remote = [server for server in _servers(settings.bootstrap_servers) if not _loopback(server)]
    if not remote:
        return []
    return [
        f"RPS_SECURITY_PROTOCOL: {settings.security_protocol} is unencrypted and "
        f"{', '.join(remote)} is not loopback; use SSL or SASL_SSL "
        "(or set RPS_ALLOW_PLAINTEXT_KAFKA=true on a network you trust)"
    ]


def _portal(settings: Settings) -> list[str]:
    found = []
    if settings.portal_development_sign_in or settings.portal_development_sign_in_enabled:
        found.append("RPS_PORTAL_DEVELOPMENT_SIGN_IN: the development sign-in is never offered")
    if not settings.portal_cookie_secure:
        found.append("RPS_PORTAL_COOKIE_SECURE: the session cookie must be Secure (true)")
    return found


def _env(name: str) -> str:
    return f"RPS_{name.upper()}"


def _servers(bootstrap_servers: str) -> list[str]:
    return [server.strip() for server in bootstrap_servers.split(",") if server.strip()]


def _loopback(server: str) -> bool:
    """Whether ``host:port`` (``[v6]:port`` too) names this machine."""
    host = server.rsplit(":", 1)[0] if server.count(":") == 1 or "]" in server else server
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
