"""A minimal Faust app for the smoke test: a table, and an agent that counts and forwards.

Run as ``python -m faust -A faust_probe_app worker``; where it connects and what
it is called come from ``RPS_*`` settings like any of our processes.
"""

from __future__ import annotations

from typing import Any

import faust

from rps.settings import Settings

settings = Settings()
app = faust.App(
    settings.app_id,
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    web_enabled=False,
    topic_partitions=2,
    topic_replication_factor=1,
)
source = app.topic(
    f"{settings.topic_prefix}.probe.in",
    key_type=str,
    value_type=str,
    key_serializer="json",
    value_serializer="json",
)
sink = app.topic(
    f"{settings.topic_prefix}.probe.out",
    key_type=str,
    value_type=str,
    key_serializer="json",
    value_serializer="json",
)
counts = app.Table("probe-counts", default=int, partitions=2)


@app.agent(source)
async def count(stream: Any) -> None:
    """Count each key's messages in the table and forward ``value:count`` to the sink."""
    async for key, value in stream.items():
        counts[key] += 1
        await sink.send(key=key, value=f"{value}:{counts[key]}")
