"""`rps publishers`: gateway API keys, and the registry of roles and signing keys.

The product is imported inside each command, so `rps --help` stays light.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from rps.registry import IssuedSigningKey
    from rps.settings import Settings

T = TypeVar("T")
ROLES = ("local_authority", "central_service", "registrar", "resident_app", "operator", "gateway")
"""The registry's roles (``schemas.registry.Role``; a test keeps the two equal)."""

publishers_app = typer.Typer(
    help="Publishers: gateway API keys, and each source's role and signing keys.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``rps publishers`` to the `rps` app."""
    app.add_typer(publishers_app, name="publishers")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _kafka(settings: Settings, call: Coroutine[Any, Any, T]) -> T:
    """Run a registry coroutine; Kafka's failure is exit 3 with the reason, never a trace."""
    from aiokafka.errors import KafkaError

    from rps.registry import RegistryRefused

    try:
        return asyncio.run(call)
    except RegistryRefused as refused:
        raise _fail(str(refused)) from None
    except (KafkaError, OSError) as error:
        raise _fail(f"Kafka at {settings.bootstrap_servers}: {type(error).__name__}", 3) from None


def _say_key(issued: IssuedSigningKey) -> None:
    typer.echo(f"role:   {issued.role}")
    typer.echo(f"key id: {issued.key_id}")
    typer.echo(f"private key written to {issued.path} (mode 0600): keep it there, copy it nowhere")
    typer.echo(f"valid from {_when(issued.valid_from)} (the registry's grace period)")
    typer.echo(f"sign with RPS_SIGNING_KEY_FILE={issued.path} RPS_SIGNING_KEY_ID={issued.key_id}")


@publishers_app.command("add")
def publishers_add(
    source: str = typer.Argument(
        ..., help="The publisher's source: urn:gss:<GSS> or urn:org:<name>."
    ),
    role: str | None = typer.Option(
        None,
        help="Register SOURCE in the publisher registry with this role and create its first "
        f"signing key pair (a role never changes): one of {', '.join(ROLES)}.",
    ),
) -> None:
    """Issue an API key bound to SOURCE: printed once, here, and stored only as a hash.

    With --role, first register SOURCE with that role and create its signing
    key pair (the private key goes to a 0600 file under the state directory).
    The gateway's own source (--role gateway) gets no API key.
    """
    from producers.credentials import add_publisher
    from producers.errors import InvalidSource
    from producers.events import check_source
    from rps import registry
    from schemas.registry import Role

    settings = settings_and_logging()
    try:
        check_source(source)
    except InvalidSource as error:
        raise _fail(f"SOURCE: {error}") from None
    if role is not None:
        if role not in ROLES:
            raise _fail(f"--role: must be one of {', '.join(ROLES)}")
        issued = _kafka(settings, registry.register(settings, source, Role(role)))
        _say_key(issued)
        if role == Role.GATEWAY:
            return
    api_key = asyncio.run(add_publisher(settings, source))
    typer.echo(f"id:     {api_key.credential.id}")
    typer.echo(f"source: {api_key.credential.source}")
    typer.echo(f"key:    {api_key.key}")
    typer.echo("Keep the key safe: it is shown only now. Send it as `Authorization: Bearer <key>`.")


@publishers_app.command("rotate")
def publishers_rotate(
    source: str = typer.Argument(..., help="A registered source."),
) -> None:
    """Create one more signing key for SOURCE; its other keys stay valid until revoked."""
    from rps import registry

    settings = settings_and_logging()
    issued = _kafka(settings, registry.rotate(settings, source))
    assert isinstance(issued, IssuedSigningKey)
    _say_key(issued)


@publishers_app.command("list")
def publishers_list() -> None:
    """List API key credentials (never the key), then the registry: roles and signing keys."""
    from producers.credentials import list_publishers
    from rps.registry import read_entries
    from schemas.registry import KeyRecorded, PublisherRegistered, record_key

    settings = settings_and_logging()
    credentials = asyncio.run(list_publishers(settings))
    typer.echo(f"{'ID':<18} {'SOURCE':<30} {'CREATED':<20} STATUS")
    for credential in credentials:
        status = (
            "active"
            if credential.revoked_at is None
            else f"revoked {credential.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        )
        created = f"{credential.created_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo(f"{credential.id:<18} {credential.source:<30} {created:<20} {status}")
    typer.echo(f"{len(credentials)} credential(s)")
    entries = _kafka(settings, read_entries(settings))
    latest = {record_key(entry.record): entry.record for entry in entries}  # as compaction keeps
    roles = {r.source: r.role for r in latest.values() if isinstance(r, PublisherRegistered)}
    keys = [record for record in latest.values() if isinstance(record, KeyRecorded)]
    typer.echo("")
    typer.echo(f"{'SOURCE':<30} {'ROLE':<16} {'KEY ID':<52} {'VALID FROM':<20} REVOKED FROM")
    for key in sorted(keys, key=lambda k: (k.source, k.added_at)):
        role = str(roles.get(key.source, "?"))
        typer.echo(
            f"{key.source:<30} {role:<16} {key.key_id:<52} {_when(key.added_at):<20} "
            f"{_when(key.revoked_at)}"
        )
    typer.echo(f"{len(roles)} registered source(s), {len(keys)} signing key(s)")


@publishers_app.command("revoke")
def publishers_revoke(
    target: str = typer.Argument(
        ..., metavar="ID|SOURCE", help="An API key credential id, or a source with KEY_ID."
    ),
    key_id: str | None = typer.Argument(
        None, metavar="[KEY_ID]", help="Revoke this signing key of SOURCE instead."
    ),
) -> None:
    """Revoke an API key by its credential id, or a signing key of SOURCE.

    A revoked API key gets 401 from the gateway from then on; a revoked signing
    key proves nothing stamped from now + RPS_REGISTRY_GRACE_SECONDS on.
    """
    from producers.credentials import revoke_publisher
    from producers.errors import UnknownCredential
    from rps import registry
    from schemas.signing import is_key_id

    settings = settings_and_logging()
    if key_id is None:
        try:
            credential = asyncio.run(revoke_publisher(settings, target))
        except UnknownCredential as error:
            raise _fail(f"ID: {error}") from None
        typer.echo(f"revoked {credential.id} ({credential.source})")
        return
    if not is_key_id(key_id):
        raise _fail("KEY_ID: must be <source>#<label>")
    revoked = _kafka(settings, registry.revoke(settings, target, key_id))
    typer.echo(f"revoked {revoked.key_id}: events stamped from {_when(revoked.revoked_at)} fail")


@publishers_app.command("history")
def publishers_history() -> None:
    """Every change the registry holds, oldest first: registrations, keys added, revocations.

    Each record holds its own history (a revoked key keeps its added_at), so
    the latest record per key, all that compaction keeps, tells it all.
    """
    from rps.registry import read_entries
    from schemas.registry import KeyRecorded, PublisherRegistered, record_key

    settings = settings_and_logging()
    entries = _kafka(settings, read_entries(settings))
    latest = {record_key(entry.record): entry.record for entry in entries}  # as compaction keeps
    lines: list[tuple[dt.datetime, str]] = []
    for record in latest.values():
        if isinstance(record, PublisherRegistered):
            lines.append(
                (
                    record.registered_at,
                    f"registered  {record.source} as {record.role} by {record.registered_by}",
                )
            )
        elif isinstance(record, KeyRecorded):
            lines.append((record.added_at, f"key valid   {record.key_id}"))
            if record.revoked_at is not None:
                lines.append(
                    (record.revoked_at, f"key revoked {record.key_id} by {record.changed_by}")
                )
    for moment, text in sorted(lines):
        typer.echo(f"{_when(moment)}  {text}")
    typer.echo(f"{len(lines)} change(s)")
