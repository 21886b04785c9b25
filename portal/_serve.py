"""Run the portal: the one wiring point for the read model, publisher, directory and server."""

from __future__ import annotations

import asyncio
import contextlib

import stamina
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from consumers.readmodel import ReadModel, open_read_model
from portal._app import Portal, create_app, frontend_dir
from portal._oidc import OidcClient
from portal._session import load_resident_map
from producers import Publisher
from rps.logs import get_logger
from rps.settings import Settings, redact_url
from streams.directory import SubscriptionDirectory

log = get_logger("portal")


async def _open(settings: Settings, url: str) -> ReadModel:
    """The read model, retried while another process (``rps readmodel``) is migrating it:
    ``consumer_db_attempts`` tries, backing off from ``consumer_db_backoff_seconds`` with
    jitter; the last failure is raised."""
    backoff = settings.consumer_db_backoff_seconds
    async for attempt in stamina.retry_context(
        on=SQLAlchemyError,
        attempts=settings.consumer_db_attempts,
        timeout=None,
        wait_initial=backoff,
        wait_max=30.0,
        wait_jitter=backoff,
    ):
        with attempt:
            if attempt.num > 1:
                log.warning("read model not ready, retrying", count=attempt.num - 1)
            return await open_read_model(url)
    raise AssertionError("unreachable")


async def serve(settings: Settings, db_url: str | None = None) -> None:
    """Serve the portal on ``portal_host:portal_port`` until stopped (SIGINT or SIGTERM)."""
    frontend_dir()  # fail before anything starts when GOV.UK Frontend is missing
    url = db_url or settings.database_url.get_secret_value()
    residents = load_resident_map(settings.portal_resident_map)
    read_model = await _open(settings, url)
    publisher = Publisher(settings, source=settings.portal_source)
    directory = SubscriptionDirectory(settings)
    follow = asyncio.create_task(directory.run())
    oidc = (
        OidcClient(settings)
        if settings.portal_oidc_issuer and settings.portal_oidc_client_id
        else None
    )
    portal = Portal(
        settings=settings,
        read_model=read_model,
        sink=publisher,
        directory=lambda: directory.directory,
        oidc=oidc,
        residents=residents,
    )
    config = uvicorn.Config(
        create_app(portal),
        host=settings.portal_host,
        port=settings.portal_port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    log.info(
        "portal starting",
        host=settings.portal_host,
        port=settings.portal_port,
        database=redact_url(url),
        component="one_login" if oidc else "development_sign_in",
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
        await publisher.close()
        await read_model.close()
        if oidc is not None:
            await oidc.close()
