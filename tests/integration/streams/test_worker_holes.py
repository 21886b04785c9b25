"""A hole met while the worker works through a backlog: the records after it are read again
from the hole, and none is lost, however many the consumer had fetched past it."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import schemas
from cli.spawn import start_worker, stop_worker
from producers import events as build
from rps.settings import Settings
from tests.integration.operators.conftest import publish_raw
from tests.integration.streams.conftest import audit_until

NOW = dt.datetime.now(dt.UTC)
BACKLOG = 16_000  # four partitions; one fetch of a partition (1 MiB) holds some 2,000
CLAIMS_EACH = 20


async def test_a_hole_in_a_backlog_is_read_again_and_nothing_fetched_past_it_is_lost(
    worker_settings: Settings, tmp_path: Path
) -> None:
    """The worker starts on a backlog and five records of one partition vanish before the
    agent (``RPS_FAULT_DROP_AFTER``), as Faust can drop them. The guard's seek back to them is
    made between two fetches. Made while Faust's fetcher was still handing on a batch fetched
    before it, it let Faust drop the read from the hole below that batch's last record, and
    the records between were never decided: before the change, runs of this test left 908
    (and, with the hole after the 50th input, 784) of 16,000 undecided."""
    residents = [str(uuid.uuid4()) for _ in range(BACKLOG // CLAIMS_EACH)]
    events: list[schemas.Event] = [
        build.verified(
            source="urn:org:rps-resident-app",
            resident=residents[n % len(residents)],
            attribute="email",
            value=f"r{n}@example.org",
            assurance="low",
            method="self_declared",
            verified_at=NOW - dt.timedelta(hours=2) + dt.timedelta(milliseconds=n),
            now=NOW,
        )
        for n in range(BACKLOG)
    ]
    await publish_raw(worker_settings, events)
    dropping = worker_settings.model_copy(
        update={"fault_drop_after": 2_000, "fault_drop_count": 5, "worker_stall_check_seconds": 5.0}
    )
    log = tmp_path / "worker-0.log"
    process = start_worker(dropping, log)
    try:
        ids = {e.id for e in events}
        audit = await audit_until(
            worker_settings, lambda rs: ids <= {r.data.event_id for r in rs}, wait=120
        )
        assert process.poll() is None, log.read_text()[-2000:]
    finally:
        stop_worker(process)
    output = log.read_text()
    assert output.count("fault injected: input dropped") == 5, output[-3000:]
    assert "reading from the hole again" in output, output[-3000:]
    lost = ids - {r.data.event_id for r in audit}
    assert not lost, f"{len(lost)} of {len(ids)} never decided"
    first: dict[str, int] = {}  # each input's first decision: its place in the audit trail
    for place, record in enumerate(audit):
        first.setdefault(record.data.event_id, place)
    for resident in residents:  # one resident's inputs share a partition: in publish order
        places = [first[e.id] for e in events if e.subject == resident]
        assert places == sorted(places)
