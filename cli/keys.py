"""`rps keys rotate-master`: rewrap every resident's data key under the current master key."""

from __future__ import annotations

import typer

from cli.common import settings_and_logging

keys_app = typer.Typer(help="Look after the residents' data keys.", no_args_is_help=True)


@keys_app.command("rotate-master")
def rotate_master_command() -> None:
    """Rewrap every data key under RPS_MASTER_KEY_ID's key.

    Give the retired master keys in RPS_MASTER_KEYS ("id:secret,...") while this
    runs; once it reports 0 left, they may be removed.
    """
    import asyncio

    from rps.keystore import KeyStoreUnavailable, SqlKeyStore
    from rps.sealing import SealingError

    settings = settings_and_logging()

    async def rotate() -> int:
        store = await SqlKeyStore.open(settings)
        try:
            return await store.rotate_master()
        finally:
            await store.close()

    try:
        count = asyncio.run(rotate())
    except KeyStoreUnavailable as error:
        typer.echo(f"error: database_url: {error}", err=True)
        raise typer.Exit(1) from error
    except SealingError as error:  # a data key under a master key not given
        typer.echo(f"error: master_keys: {error}", err=True)
        raise typer.Exit(2) from error
    typer.echo(f"rewrapped {count} data keys under master key {settings.master_key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
