"""Run the portal: the one wiring point for the read model, sessions, publisher and server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

from consumers.readmodel import open_read_model
from portal._app import create_app, frontend_dir
from portal._development import dev_sign_in_refusal
from portal._oidc import OneLogin, load_resident_map
from portal._portal import Portal
from portal._session_store import SessionStore
from producers import Publisher
from producers.signing import signing_key
from rps import following, metrics
from rps.logs import get_logger
from rps.registry import RegistryFollower
from rps.settings import Settings, redact_url
from streams.worker.directory import SubscriptionDirectory

log = get_logger("portal")
T = TypeVar("T")


async def _retried(settings: Settings, what: str, opener: Callable[[], Awaitable[T]]) -> T:
    """``opener()``, retried while another process (``rps readmodel``, another portal) is
    creating or migrating the hub's database: ``consumer_db_attempts`` tries, backing off
    from ``consumer_db_backoff_seconds`` with jitter; the last failure is raised."""
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
                log.warning("database not ready, retrying", component=what, count=attempt.num - 1)
            return await opener()
    raise AssertionError("unreachable")


def _publisher(settings: Settings) -> Publisher:
    """The portal's publisher, with a warning when it would publish unsigned events that a
    worker enforcing trust dead-letters."""
    publisher = Publisher(settings, source=settings.portal_source)
    if signing_key(settings) is None and settings.trust == "enforce":
        log.warning(  # a worker that enforces trust dead-letters them as unsigned
            "portal publishes unsigned events: set RPS_SIGNING_KEY_FILE and "
            "RPS_SIGNING_KEY_ID to a resident_app key of its source",
            source=settings.portal_source,
        )
    return publisher


def _server_config(settings: Settings, portal: Portal) -> uvicorn.Config:
    """The uvicorn configuration serving the portal's app on ``portal_host:portal_port``."""
    return uvicorn.Config(
        create_app(portal),
        host=settings.portal_host,
        port=settings.portal_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        **settings.http_server_options(),
    )


def _log_start(settings: Settings, url: str, oidc: OneLogin | None) -> None:
    """Say where the portal listens, which database and which sign-in it uses."""
    log.info(
        "portal starting",
        host=settings.portal_host,
        port=settings.portal_port,
        database=redact_url(url),
        component="one_login" if oidc else "development_sign_in",
    )
    refusal = dev_sign_in_refusal(settings)
    if refusal is not None and settings.portal_development_sign_in:
        log.warning("development sign-in not offered", reason=refusal)


async def _follow_subscriptions(
    registry: RegistryFollower | None, directory: SubscriptionDirectory
) -> None:
    """Read the registry (when trust is enforced), then follow the subscriptions."""
    if registry is not None:
        await registry.start()
    await directory.run()


async def serve(settings: Settings, db_url: str | None = None) -> None:
    """Serve the portal on ``portal_host:portal_port`` until stopped (SIGINT or SIGTERM)."""
    frontend_dir()  # fail before anything starts when GOV.UK Frontend is missing
    url = db_url or settings.database_url.get_secret_value()
    residents = load_resident_map(settings.portal_resident_map)
    read_model = await _retried(settings, "read_model", lambda: open_read_model(url))
    max_age = dt.timedelta(seconds=settings.portal_session_max_age_seconds)
    sessions = await _retried(settings, "sessions", lambda: SessionStore.open(url, max_age))
    publisher = _publisher(settings)
    # Enforcing trust, only subscriptions the worker admits are shown (previews match deliveries).
    registry = RegistryFollower(settings) if settings.trust == "enforce" else None
    directory = SubscriptionDirectory(settings, following.follow, registry)
    follow = asyncio.create_task(_follow_subscriptions(registry, directory))
    oidc = (
        OneLogin(settings)
        if settings.portal_oidc_issuer and settings.portal_oidc_client_id
        else None
    )
    portal = Portal(
        settings=settings,
        read_model=read_model,
        sink=publisher,
        directory=lambda: directory.directory,
        sessions=sessions,
        oidc=oidc,
        residents=residents,
    )
    config = _server_config(settings, portal)
    _log_start(settings, url, oidc)
    health = metrics.Health({"subscriptions": directory.ready.is_set})
    beating = asyncio.create_task(metrics.heartbeat(health))
    exposed = metrics.serve(settings, health, "portal")
    try:
        await uvicorn.Server(config).serve()
    finally:
        beating.cancel()
        if exposed is not None:
            exposed.stop()
        follow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follow
        if registry is not None:
            await registry.stop()
        await publisher.close()
        await read_model.close()
        await sessions.close()
