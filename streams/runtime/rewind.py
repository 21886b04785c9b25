"""After a rebalance, input partitions the group never committed go back to the start of the log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import faust
from faust.types import TP

from rps.logs import get_logger

log = get_logger("worker")


def rewind_uncommitted_inputs(
    app: faust.App, inputs: set[str], sought: Callable[[Mapping[TP, int]], None]
) -> None:
    """Make Faust's "seek to committed offsets" also rewind partitions with no committed offset.

    After a rebalance Faust drops the records its consumer fetched while the flow
    was stopped, then relies on seeking every partition back to its committed
    offset. aiokafka's ``seek_to_committed`` only moves partitions whose committed
    offset is above zero, so an input partition the group has never committed (a
    worker that crashed before its first commit) stayed past the dropped records:
    the new owner sat idle with its inputs unprocessed. Those partitions go back
    to the start of the log instead, which is where ``earliest`` would put them.
    Where each input partition was sought is reported to ``sought``.
    """
    consumer: Any = app.consumer
    seek_to_committed = consumer.seek_to_committed

    async def seek_to_committed_or_beginning() -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await seek_to_committed()
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic in inputs]
        starts: Mapping[TP, int] = {}
        if uncommitted:
            starts = await consumer.earliest_offsets(*uncommitted)
            await consumer.seek_wait(starts)
            log.info(
                "inputs without a committed offset read from the start", count=len(uncommitted)
            )
        sought({**{tp: o for tp, o in committed.items() if o}, **starts})
        return committed

    consumer.seek_to_committed = seek_to_committed_or_beginning
