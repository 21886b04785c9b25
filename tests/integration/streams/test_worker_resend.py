"""A simple-form file sent twice through `rps publish` reaches a real worker as duplicates.

Before event ids were derived from the content, each run gave every line a new
random id, so the worker accepted the second run as new claims.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import schemas
from rps.settings import Settings
from tests.integration.streams.conftest import Workers, audit_until
from tests.unit.producers.support import line, simple

RPS = str(Path(sys.executable).with_name("rps"))
SOURCE = "urn:gss:E08000012"


async def publish(settings: Settings, path: Path) -> str:
    """Run `rps publish PATH` as a publisher would; its standard output."""
    env = {
        **os.environ,
        "RPS_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "RPS_TOPIC_PREFIX": settings.topic_prefix,
        "RPS_PUBLISHER_SOURCE": SOURCE,
    }
    process = await asyncio.create_subprocess_exec(
        RPS,
        "publish",
        str(path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_a_file_sent_twice_makes_no_second_claim(
    worker_settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    """The second run's events are the first run's: the worker records no new claim.

    It either audits them ``duplicate`` or, while it still keeps the first
    decision's outbox (it cannot tell a resend from a redelivery after a
    restart), sends that decision's records again, byte for byte: the same
    audit record ids, never a second ``accepted`` decision.
    """
    residents = [str(uuid.uuid4()) for _ in range(3)]
    events = tmp_path / "changes.jsonl"
    events.write_bytes(b"".join(line(simple(resident=r)) + b"\n" for r in residents))
    workers()
    for _ in range(2):
        assert "sent 3, rejected 0" in await publish(worker_settings, events)

    def inbound(records: list[schemas.AuditRecorded]) -> list[schemas.AuditRecorded]:
        return [r for r in records if r.data.event_source == SOURCE]

    audit = inbound(await audit_until(worker_settings, lambda r: len(inbound(r)) >= 6, workers))
    assert len(audit) >= 6  # both runs decided
    claims = {record.data.event_id for record in audit}
    assert len(claims) == 3
    for claim in claims:
        about = [record for record in audit if record.data.event_id == claim]
        accepted = {r.id for r in about if r.data.decision is schemas.AuditDecision.ACCEPTED}
        others = {r.data.decision for r in about} - {schemas.AuditDecision.ACCEPTED}
        assert len(accepted) == 1, about
        assert others <= {schemas.AuditDecision.DUPLICATE}, about
