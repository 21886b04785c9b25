"""Run the gateway: the one place its publisher, credential store and web server are built."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from producers.credentials import CachedAuthenticator, open_store
from producers.errors import InvalidSigningKey, PublishFailed
from producers.feed_keys import open_feed_keys
from producers.gateway.app import create_app
from producers.gateway.feed import Feed
from producers.gateway.feed_routes import FeedWiring
from producers.gateway.trust import Permit, Roles, gateway_key
from producers.publisher import Publisher
from rps import metrics, tracing
from rps.logs import get_logger
from rps.settings import Settings

_log = get_logger("producers.gateway")


@asynccontextmanager
async def running(settings: Settings, *, permit: Permit | None = None) -> AsyncIterator[FastAPI]:
    """The gateway app with its publisher and credential store open; both closed on exit.

    Kafka need not be up: the gateway answers 503 until it is. With the
    gateway's signing key configured, ``permit`` (the permission check) is
    required: the gateway then refuses what a caller's role forbids and vouches
    for what it sends.
    """
    key = gateway_key(settings)
    if key is not None and permit is None:
        raise ValueError("a gateway with a signing key needs the permission check (permit)")
    if key is None and settings.environment == "production":
        raise InvalidSigningKey("a production gateway needs RPS_GATEWAY_SIGNING_KEY_FILE and _ID")
    if key is None:
        _log.warning("gateway neither checks roles nor vouches: no signing key configured")
    async with open_store(settings) as store, open_feed_keys(settings) as keys:
        authenticator = CachedAuthenticator(store, settings.gateway_credential_cache_seconds)
        publisher = Publisher(settings, signing=key)
        feed = Feed(settings)
        try:
            await publisher.start()
        except PublishFailed:
            _log.warning("kafka unavailable at start", bootstrap_servers=settings.bootstrap_servers)
        try:
            roles = None if key is None or permit is None else Roles(settings, permit)
            yield create_app(
                settings, publisher, authenticator, roles=roles, feed=FeedWiring(feed, keys)
            )
        finally:
            await feed.close()
            await publisher.close()


class _Server(uvicorn.Server):
    """uvicorn's server, leaving SIGINT and SIGTERM to :func:`serve`.

    uvicorn re-raises a captured signal once it has stopped, which would end the
    process before the publisher is closed; here a signal only asks it to stop.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, *, permit: Permit | None = None) -> None:
    """Serve the gateway on ``gateway_host:gateway_port`` until SIGINT or SIGTERM, then close."""
    tracing.configure("gateway")
    async with running(settings, permit=permit) as app:
        config = uvicorn.Config(
            app,
            host=settings.gateway_host,
            port=settings.gateway_port,
            lifespan="off",
            access_log=False,
            log_config=None,
            **settings.http_server_options(),
        )
        server = _Server(config)
        health = metrics.Health()
        health.require("producing")
        watching = asyncio.create_task(_watch(app.state.wiring.publisher, health))
        exposed = metrics.serve(settings, health, "gateway")
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(stop, server.handle_exit, stop, None)
        _log.info(
            "gateway listening",
            host=settings.gateway_host,
            port=settings.gateway_port,
            database=settings.database_url_for_logs(),
        )
        try:
            await server.serve()
        finally:
            watching.cancel()
            if exposed is not None:
                exposed.stop()
            for stop in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(stop)
    _log.info("gateway stopped")


async def _watch(publisher: Publisher, health: metrics.Health, every: float = 5.0) -> None:
    """Keep the gateway's readiness (Kafka answers) and liveness (the loop beats) current."""
    while True:
        health.beat()
        health.met("producing", await publisher.reachable())
        await asyncio.sleep(every)
