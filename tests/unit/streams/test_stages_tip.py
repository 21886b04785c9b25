"""The worker's read of an audit partition's newest record cannot hold its outputs for ever."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from rps.settings import Settings
from streams.worker import stages
from streams.worker.stages import Stages

pytestmark = pytest.mark.asyncio


def _stages(last_audit: Any) -> Stages:
    unused = cast(Any, None)  # the read under test touches nothing else
    return Stages(Settings(), unused, "changelog", unused, unused, last_audit)


async def test_a_read_that_stalls_is_abandoned_and_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stages, "_TIP_SECONDS", 0.05)
    calls: list[int] = []

    async def last_audit(partition: int) -> bytes | None:
        calls.append(partition)
        if len(calls) < 3:
            await asyncio.sleep(3600)  # stalls, as one was seen to under load
        return b"newest"

    assert await _stages(last_audit)._newest_audit(2) == b"newest"
    assert calls == [2, 2, 2]


async def test_a_read_that_never_finishes_stops_with_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stages, "_TIP_SECONDS", 0.02)
    calls: list[int] = []

    async def last_audit(partition: int) -> bytes | None:
        calls.append(partition)
        await asyncio.sleep(3600)
        return None

    with pytest.raises(TimeoutError):
        await _stages(last_audit)._newest_audit(0)
    assert len(calls) == stages._TIP_ATTEMPTS


async def test_the_read_waits_for_this_workers_own_latest_send_to_that_partition() -> None:
    """The newest record is read only once what this worker sent there is in the log."""
    reads: list[int] = []

    async def last_audit(partition: int) -> bytes | None:
        reads.append(partition)
        return b"newest"

    outputs = _stages(last_audit)
    sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    outputs._audit_sent[1] = sent
    read = asyncio.create_task(outputs._newest_audit(1))
    await asyncio.sleep(0.05)
    assert reads == []  # still in flight
    sent.set_result(None)
    assert await read == b"newest"
    assert reads == [1]
    assert await outputs._newest_audit(0) == b"newest"  # nothing sent there: no wait
