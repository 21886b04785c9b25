"""`rps residents export|hold|release` and `rps erase`: a resident's own copy, legal holds,
and erasure (operators only: these run on the hub, with its settings)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import settings_and_logging

if TYPE_CHECKING:
    from streams.operators.erasure import Plan

residents_app = typer.Typer(help="What the hub holds about one resident.", no_args_is_help=True)


def _resident_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as error:
        typer.echo("error: RESIDENT: must be a hub id (a UUID)", err=True)
        raise typer.Exit(2) from error


@residents_app.command("export")
def export_command(
    resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
    db: str | None = typer.Option(
        None, "--db", help="The hub's database URL (the read model). Default: RPS_DATABASE_URL."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the document to this new file (mode 0600), not to stdout."
    ),
) -> None:
    """Write one JSON document of everything held about RESIDENT (UK GDPR article 15).

    Every value held with its provenance and assurance, every consent and its
    history, every delivery, withholding (with its reason) and acknowledgement,
    every erasure. It holds personal data: send it to the resident only.
    """
    import asyncio
    import os
    from datetime import UTC, datetime

    import orjson

    from consumers.readmodel import export, open_read_model

    resident = _resident_id(resident)
    settings = settings_and_logging()

    async def produce() -> bytes:
        model = await open_read_model(db or settings.database_url.get_secret_value())
        try:
            document = await export(model, resident, datetime.now(UTC))
        finally:
            await model.close()
        return orjson.dumps(document, option=orjson.OPT_INDENT_2)

    document = asyncio.run(produce())
    if out is None:
        typer.echo(document.decode())
        return
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        typer.echo(f"error: --out: cannot create the file ({error.strerror})", err=True)
        raise typer.Exit(2) from error
    with os.fdopen(descriptor, "wb") as file:
        file.write(document + b"\n")
    typer.echo(f"wrote the subject-access document of {resident} to {out}")


_REASON_HELP = (
    "Why, as a code: resident_request, retention_schedule, deceased_retention_ended, "
    "court_order or duplicate_record."
)


@residents_app.command("hold")
def hold_command(
    resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
    reason: str = typer.Option(
        ..., "--reason", help="The legal obligation, as a code (e.g. court_order)."
    ),
) -> None:
    """Keep RESIDENT's data under a legal obligation: `rps erase` refuses until released."""
    import asyncio
    import re

    from rps.holds import LegalHolds
    from rps.keystore import hub_engine

    resident = _resident_id(resident)
    if not re.fullmatch(r"[a-z0-9_]{1,64}", reason):
        typer.echo("error: --reason: must be a code of 1-64 characters a-z 0-9 _", err=True)
        raise typer.Exit(2)
    settings = settings_and_logging()

    async def place() -> None:
        engine = hub_engine(settings.database_url.get_secret_value())
        try:
            holds = LegalHolds(engine)
            await holds.prepare()
            await holds.hold(resident, reason)
        finally:
            await engine.dispose()

    asyncio.run(place())
    typer.echo(f"legal hold placed on {resident} ({reason})")


@residents_app.command("release")
def release_command(
    resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
) -> None:
    """Lift the legal hold on RESIDENT."""
    import asyncio

    from rps.holds import LegalHolds
    from rps.keystore import hub_engine

    resident = _resident_id(resident)
    settings = settings_and_logging()

    async def lift() -> bool:
        engine = hub_engine(settings.database_url.get_secret_value())
        try:
            holds = LegalHolds(engine)
            await holds.prepare()
            return await holds.release(resident)
        finally:
            await engine.dispose()

    if not asyncio.run(lift()):
        typer.echo(f"error: RESIDENT: {resident} has no legal hold", err=True)
        raise typer.Exit(1)
    typer.echo(f"legal hold on {resident} released")


def erase_command(
    resident: str = typer.Argument(..., help="The resident's hub id (a UUID)."),
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would go (ids and names only) and change nothing."
    ),
) -> None:
    """Erase RESIDENT (UK GDPR article 17): forget their data key, drop their profile, tell
    every authority holding anything to delete (consent.ended, reason erased). Audited.

    Refused while the resident's data is under a legal hold (`rps residents hold`).
    """
    import asyncio

    from aiokafka.errors import KafkaConnectionError

    from rps.sealing import SealingError
    from streams.operators.erasure import REASONS, ErasureRefused, erase, plan

    resident = _resident_id(resident)
    if reason not in REASONS:
        typer.echo(f"error: --reason: must be one of {', '.join(REASONS)}", err=True)
        raise typer.Exit(2)
    settings = settings_and_logging()
    try:
        found = asyncio.run(plan(settings, resident))
        _print_plan(found)
        if found.hold is not None:
            typer.echo(
                f"error: refused: the resident's data is under a legal hold ({found.hold})",
                err=True,
            )
            raise typer.Exit(3)
        if dry_run:
            typer.echo("dry run: nothing was changed")
            return
        erasure = asyncio.run(erase(settings, resident, reason))
    except ErasureRefused as error:
        typer.echo(f"error: refused: {error}", err=True)
        raise typer.Exit(3) from error
    except KafkaConnectionError as error:
        typer.echo("error: bootstrap_servers: Kafka cannot be reached", err=True)
        raise typer.Exit(1) from error
    except SealingError as error:  # the key store is unreachable, or a master key is missing
        typer.echo(f"error: database_url: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"erasure {erasure} sent: data key forgotten; the worker ends every holding")


def _print_plan(found: Plan) -> None:
    """What an erasure removes: ids, attribute names and authorities, never a value."""
    typer.echo(f"resident {found.resident}:")
    typer.echo(f"  data key: {'held (will be forgotten)' if found.has_key else 'none'}")
    for attribute, claim_id, source in found.claims:
        typer.echo(f"  claim {claim_id}: {attribute} from {source}")
    for authority in found.consents:
        typer.echo(f"  consent for {authority}")
    for authority, attributes in found.holders.items():
        typer.echo(f"  {authority} holds {', '.join(attributes)}: sent consent.ended (erased)")
    if found.already_erased:
        typer.echo("  already erased")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(residents_app, name="residents")
    app.command("erase")(erase_command)
