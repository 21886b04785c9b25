"""Signed webhooks: an authority's deliveries POSTed to its HTTPS endpoint (Standard Webhooks).

``rps webhooks run AUTHORITY`` runs ``run``: it reads the authority's delivery
topic and POSTs each delivery as a CloudEvent (HTTP binding, structured mode),
signed with the ``standardwebhooks`` package; a 2xx is acknowledged to the hub
as ``delivery.applied``, a refusal (4xx other than 408 and 429) is
dead-lettered with its status, anything else is retried (see
``consumers.webhooks._sender``). Operators keep the endpoints and their secrets
in the hub database with ``add_endpoint``, ``rotate_secret``, ``list_endpoints``
and ``remove_endpoint``.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from consumers.webhooks._answers import Answer, Verdict, judge
from consumers.webhooks._endpoints import Endpoint, EndpointStore, check_url, open_endpoints
from consumers.webhooks._relay import RelayStats, run_webhooks
from consumers.webhooks._sender import CONTENT_TYPE, signed_headers, webhook_id
from consumers.webhooks.errors import (
    EndpointExists,
    InsecureEndpoint,
    UnknownEndpoint,
    WebhookError,
)
from rps.settings import Settings

__all__ = [
    "CONTENT_TYPE",
    "Answer",
    "Endpoint",
    "EndpointExists",
    "EndpointStore",
    "InsecureEndpoint",
    "RelayStats",
    "UnknownEndpoint",
    "Verdict",
    "WebhookError",
    "add_endpoint",
    "check_url",
    "judge",
    "list_endpoints",
    "open_endpoints",
    "remove_endpoint",
    "rotate_secret",
    "run",
    "signed_headers",
    "webhook_id",
]


async def add_endpoint(settings: Settings, authority: str, url: str) -> Endpoint:
    """Register ``url`` for ``authority`` with a new secret (``rps webhooks add``)."""
    async with open_endpoints(settings) as store:
        return await store.add(authority, url)


async def rotate_secret(settings: Settings, authority: str, grace: timedelta) -> Endpoint:
    """A new secret for ``authority``; the old one signs too for ``grace``."""
    async with open_endpoints(settings) as store:
        return await store.rotate(authority, grace=grace)


async def list_endpoints(settings: Settings) -> list[Endpoint]:
    """Every registered endpoint (``rps webhooks list``)."""
    async with open_endpoints(settings) as store:
        return await store.list()


async def remove_endpoint(settings: Settings, authority: str) -> None:
    """Forget ``authority``'s endpoint and secrets (``rps webhooks remove``)."""
    async with open_endpoints(settings) as store:
        await store.remove(authority)


async def run(
    settings: Settings,
    authority: str,
    *,
    stop_at_end: bool = False,
    client: aiohttp.ClientSession | None = None,
) -> RelayStats:
    """Deliver ``authority``'s topic to its endpoint until stopped (``rps webhooks run``)."""
    async with open_endpoints(settings) as store:
        return await run_webhooks(
            settings, authority, store, stop_at_end=stop_at_end, client=client
        )
