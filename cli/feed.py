"""`rps feed`: the keys authorities use to read their deliveries from the gateway's pull feed."""

from __future__ import annotations

import asyncio

import typer

from cli.common import settings_and_logging

feed_app = typer.Typer(
    help="Pull-feed keys: one per authority, for GET /v1/deliveries on the gateway.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `rps` app."""
    app.add_typer(feed_app, name="feed")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@feed_app.command("add")
def add_command(
    authority: str = typer.Argument(..., help="A GSS code (E08000012) or urn:org:<name>."),
) -> None:
    """Issue AUTHORITY a feed key: printed once, here, and stored only as a hash."""
    from producers.feed_keys import open_feed_keys

    async def add() -> tuple[str, str]:
        async with open_feed_keys(settings) as store:
            issued = await store.add(authority)
            return issued.record.id, issued.key

    settings = settings_and_logging()
    try:
        key_id, key = asyncio.run(add())
    except ValueError:
        raise _fail("AUTHORITY: must be a 9-character GSS code or urn:org:<name>") from None
    typer.echo(f"id:        {key_id}")
    typer.echo(f"authority: {authority}")
    typer.echo(f"key:       {key}")
    typer.echo("Keep the key safe: it is shown only now. Send it as `Authorization: Bearer <key>`.")


@feed_app.command("list")
def list_command() -> None:
    """List feed keys: id, authority, when issued, whether revoked (never the key)."""
    from producers.feed_keys import FeedKey, open_feed_keys

    async def listed() -> list[FeedKey]:
        async with open_feed_keys(settings) as store:
            return await store.list()

    settings = settings_and_logging()
    keys = asyncio.run(listed())
    typer.echo(f"{'ID':<18} {'AUTHORITY':<24} {'CREATED':<20} STATUS")
    for k in keys:
        status = "active" if k.revoked_at is None else f"revoked {k.revoked_at:%Y-%m-%dT%H:%M:%SZ}"
        typer.echo(f"{k.id:<18} {k.authority:<24} {k.created_at:%Y-%m-%dT%H:%M:%SZ}  {status}")
    typer.echo(f"{len(keys)} key(s)")


@feed_app.command("revoke")
def revoke_command(
    key_id: str = typer.Argument(..., metavar="ID", help="The feed key id to revoke."),
) -> None:
    """Revoke a feed key; the gateway refuses it from then on (401)."""
    from producers.errors import UnknownCredential
    from producers.feed_keys import FeedKey, open_feed_keys

    async def revoke() -> FeedKey:
        async with open_feed_keys(settings) as store:
            return await store.revoke(key_id)

    settings = settings_and_logging()
    try:
        key = asyncio.run(revoke())
    except UnknownCredential as error:
        raise _fail(f"ID: {error}") from None
    typer.echo(f"revoked {key.id} ({key.authority})")
