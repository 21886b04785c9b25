"""What Faust and aiokafka cost on their own: a Faust agent with no logic, timed like the worker.

The worker is measured against the raw aiokafka passthrough (``tests.perf.passthrough``).
This measures the floor in between: a Faust app with the worker's settings and topics,
whose agent decides nothing. In ``ack`` mode it only acks each input; in ``send`` mode it
also writes ``--outputs`` records per input (awaited, then acked, as the worker does); in
``table`` mode it first writes one changelog record per input and waits for it, as the
worker records a decision before sending. Each mode gets fresh topics and its own
process; the figure is its CPU time per input event::

    .venv/bin/python -m tests.perf.floor --events 4000

against the local broker (``rps infra up``). The figure is CPU time, not a rate: the
inputs are all sent first and the app's group is polled until it has committed them.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import faust

import infra
from cli.spawn import environment
from rps.logs import configure
from rps.settings import Settings
from schemas.topics import Topics
from streams.runtime.app import faust_app, quiet_libraries
from tests.perf import broker, scenario, workload

MODES = ("ack", "send", "table")


def agent(mode: str, outputs: int) -> None:
    """Run the no-logic Faust app, with the worker's own app settings (the child process)."""
    settings = Settings()
    topics = Topics(settings.topic_prefix)
    app = faust_app(settings)
    table = app.Table(
        "profiles", default=None, partitions=settings.partitions, key_type=bytes, value_type=bytes
    )
    inbound = app.topic(topics.attributes, topics.consents, key_type=bytes, value_type=bytes)

    @app.agent(inbound)
    async def process(stream: Any) -> Any:
        quiet_libraries()
        async for event in stream.noack().events():
            message = event.message
            if mode == "table":
                await table.send_changelog(message.partition, message.key, message.value)
            if mode in ("send", "table"):
                sent = [
                    await app.producer.send(
                        topics.audit, message.key, message.value, None, None, None
                    )
                    for _ in range(outputs)
                ]
                for ack in sent:
                    await ack
            event.ack()
            yield None

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def _start_agent(settings: Settings, mode: str, outputs: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.perf.floor", "--agent", mode, "--outputs", str(outputs)],
            env=environment(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


async def measure(
    mode: str, events: int, outputs: int, scratch: Path, base: Settings | None = None
) -> dict[str, Any]:
    """Start the app in ``mode`` on fresh topics and time ``events`` inputs through it."""
    base = base or Settings()
    tag = uuid.uuid4().hex[:8]
    settings = base.model_copy(
        update={"topic_prefix": f"floor{tag}", "app_id": "floor", "state_dir": scratch / tag}
    )
    await infra.ensure_topics(settings)
    topics = Topics(settings.topic_prefix)
    councils = workload.authorities(5)
    log = scratch / f"floor-{mode}.log"
    await broker.send(settings, [workload.warmup(topics, councils)])
    process = _start_agent(settings, mode, outputs, log)
    running = scenario.Running(settings, councils, process, log, base)
    try:
        await scenario.settle(running, limit=120)
        records = workload.mix(events, 10_000, councils, topics)
        before, cpu = await broker.total(settings, [topics.audit]), running.cpu_seconds()
        await broker.send(settings, records)
        await scenario.settle(running)
        used = running.cpu_seconds() - cpu
        written = await broker.total(settings, [topics.audit]) - before
    finally:
        scenario.stop(running)
        await broker.delete_prefixed(base, settings.topic_prefix)
    return {"events": events, "outputs": written, "cpu_us_per_event": used / events * 1e6}


async def run(events: int, outputs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rps-floor-") as temporary:
        for mode in MODES:
            result = await measure(mode, events, outputs, Path(temporary))
            print(
                f"{mode:<6} {result['cpu_us_per_event']:>7,.0f} us CPU per event "
                f"({result['events']:,} events, {result['outputs']:,} outputs)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4_000)
    parser.add_argument("--outputs", type=int, default=6, help="records written per input")
    parser.add_argument("--agent", choices=MODES, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.agent:
        sys.argv = [sys.argv[0], "worker"]  # what Faust's command line reads
        agent(args.agent, args.outputs)
        return
    configure(level="warning")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(run(args.events, args.outputs))


if __name__ == "__main__":
    main()
