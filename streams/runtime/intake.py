"""The agent's step for each record it is handed: past the fault injection and the stall guard,
to the processor, and the decision on to the stages."""

from __future__ import annotations

import os
from typing import Any, cast

from faust.types import EventT

from rps.logs import get_logger
from streams.runtime.faults import FetchedButDropped
from streams.runtime.stall import StallGuard
from streams.worker.outbox import Pending
from streams.worker.ports import InputRecord
from streams.worker.processor import Processor
from streams.worker.stages import Stages

log = get_logger("worker")


class Intake:
    """Takes each Faust event the agent is handed, in order."""

    def __init__(
        self, processor: Processor, stages: Stages, guard: StallGuard, dropper: FetchedButDropped
    ) -> None:
        self._processor = processor
        self._stages = stages
        self._guard = guard
        self._dropper = dropper

    async def take(self, event: EventT[Any]) -> bool:
        """Decide ``event`` (a Faust ``Event``) and hand it to the stages; False when it was
        passed over (it comes again)."""
        message = event.message
        if self._dropper.drops(message.tp, message.offset):
            return False
        if not self._guard.handing(message.tp, message.offset):
            # Beyond a hole: it comes again, in order. Released, not acknowledged: its
            # offset is not committed, and a rebalance does not wait for it.
            message.acked = True
            return False
        try:
            # Faust types headers as pairs or a mapping; its aiokafka driver gives pairs.
            decision = await self._processor.handle(cast(InputRecord, message))
            await self._stages.put(Pending(event, decision))
        except Exception as error:  # unknown: stop, so the group hands the partitions on
            log.error("worker stopping on an unexpected error", error_type=type(error).__name__)
            os._exit(70)
        finally:
            self._guard.done()
        return True
