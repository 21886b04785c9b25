"""One trace from the gateway through a real worker to the subscriber: W3C trace context
carried as the CloudEvents distributed-tracing extension, with spans publish, decide, apply."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import schemas
from cli.spawn import start_worker
from consumers.subscriber import subscribe
from producers.credentials import open_store
from producers.gateway import running
from rps.settings import Settings
from schemas.topics import Topics
from tests.integration.operations.probe import until
from tests.integration.streams.conftest import PublishAs, Workers, audit_until, records_of
from tests.unit.producers.support import SOURCE, line, simple

WIRRAL = "E08000015"


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    """Spans this test process finishes (the gateway's and the subscriber's), in memory."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def exported(log: Path) -> list[dict[str, Any]]:
    """The spans a process's console exporter wrote into its log file."""
    text, found, at = log.read_text(), [], 0
    decoder = json.JSONDecoder()
    while (start := text.find("{\n", at)) >= 0:
        try:
            span, at = decoder.raw_decode(text, start)
        except ValueError:
            at = start + 1
            continue
        if isinstance(span, dict) and "context" in span:
            found.append(span)
    return found


def hexid(value: int, width: int) -> str:
    return f"0x{value:0{width}x}"


async def test_a_trace_spans_gateway_worker_and_subscriber(
    worker_settings: Settings,
    workers: Workers,
    publish_as: PublishAs,
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    """The gateway's publish span, the worker's decide span (exported by the worker process
    through OTEL_TRACES_EXPORTER=console) and the subscriber's apply span share one trace id,
    each the child of the one before, and the delivery carries the decide span's context."""
    resident = str(uuid.uuid4())
    council = await publish_as(schemas.source_of_authority(WIRRAL))
    await council.change_subscription(authority=WIRRAL, attribute="phone", minimum_assurance="low")
    resident_app = await publish_as("urn:org:resident-app")
    grant = await resident_app.grant_consent(
        resident=resident,
        authority=WIRRAL,
        attributes=["phone"],
        purpose="council_tax",
        local_reference="WIR-1",
    )
    log = tmp_path / "traced-worker.log"
    worker = start_worker(
        worker_settings,
        log,
        OTEL_TRACES_EXPORTER="console",
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_SERVICE_NAME="worker",
    )
    workers.processes.append(worker)  # stopped with the others after the test
    await audit_until(
        worker_settings, lambda rs: any(r.data.event_id == grant.event_id for r in rs)
    )

    async with open_store(worker_settings) as store:
        key = (await store.add(SOURCE)).key
    spans.clear()
    async with running(worker_settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answer = await client.post(
                "/v1/events",
                content=line(simple(resident=resident)),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
    assert answer.status_code == 202, answer.text
    (publish,) = [s for s in spans.get_finished_spans() if s.name == "publish"]
    trace_id = publish.context.trace_id

    topic = Topics(worker_settings.topic_prefix).deliveries(WIRRAL)
    (delivery,) = await records_of(worker_settings, topic, at_least=1)
    carried = json.loads(delivery.value)["traceparent"]
    assert carried.split("-")[1] == f"{trace_id:032x}"

    decided: list[dict[str, Any]] = []

    def decide_exported() -> bool:
        decided[:] = [
            s
            for s in exported(log)
            if s["name"] == "decide" and s["context"]["trace_id"] == hexid(trace_id, 32)
        ]
        return bool(decided)

    assert await until(decide_exported, wait=60, check=workers.check), log.read_text()[-2000:]
    (decide,) = decided
    assert decide["parent_id"] == hexid(publish.context.span_id, 16)
    assert carried.split("-")[2] == decide["context"]["span_id"].removeprefix("0x")

    db = f"sqlite+aiosqlite:///{tmp_path / 'wirral.db'}"
    await subscribe(worker_settings, WIRRAL, db, stop_at_end=True)
    (apply,) = [s for s in spans.get_finished_spans() if s.name == "apply"]
    assert apply.context.trace_id == trace_id
    assert apply.parent is not None
    assert hexid(apply.parent.span_id, 16) == decide["context"]["span_id"]
