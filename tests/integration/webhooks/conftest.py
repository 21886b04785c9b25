"""Fixtures of the webhook tests: the real broker, an endpoint registered in the hub database,
and a real HTTP receiver on loopback."""

from __future__ import annotations

import pytest

from consumers.webhooks import add_endpoint
from rps.settings import Settings
from tests.integration.consumers.conftest import KafkaIO, kafka_io  # noqa: F401  (shared fixture)
from tests.integration.streams.conftest import (  # noqa: F401  (the worker fixtures, shared)
    publish_as,
    worker_settings,
    workers,
)
from tests.unit.consumers.events import AUTHORITY

__all__ = ["AUTHORITY", "KafkaIO", "fast", "register"]


def fast(settings: Settings) -> Settings:
    """Settings whose retries wait little, so a test of an outage takes seconds."""
    return settings.model_copy(
        update={
            "webhook_backoff_initial_seconds": 0.1,
            "webhook_backoff_max_seconds": 1.0,
            "webhook_timeout_seconds": 1.0,
        }
    )


async def register(settings: Settings, url: str, authority: str = AUTHORITY) -> str:
    """Register ``url`` as ``authority``'s endpoint; the signing secret."""
    return (await add_endpoint(settings, authority, url)).secret


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    """The test's settings with quick retries."""
    return fast(settings)
