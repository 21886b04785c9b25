"""The README's first command ends with ``rps demo``: it must run end to end and check itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rps.settings import Settings


def test_demo_runs_the_whole_story_and_every_authority_holds_what_it_may(
    local_services: Settings, tmp_path: Path
) -> None:
    """`rps demo` publishes the story, runs a worker, four subscribers and a webhook authority
    (Sefton, signed deliveries to a loopback receiver), and exits 0."""
    env = {**os.environ, "RPS_STATE_DIR": str(tmp_path), "RPS_TOPIC_PREFIX": "e2e"}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "every authority holds exactly what it may" in done.stdout
    for name in ("Liverpool (E08000012) holds", "Wirral (E08000015) holds", "DWP", "DVLA"):
        assert name in done.stdout
    assert "Sefton (E08000014) received by webhook (signed, verified)" in done.stdout
    assert "signatures refused: 0" in done.stdout
    assert "below_minimum_assurance" in done.stdout
    assert "consent_ended" in done.stdout
    # Every event is signed; one forged consent (a council's own) is refused, with its reason.
    assert "refused: Wirral signed a consent for resident C itself" in done.stdout
    assert "not_permitted_event_type" in done.stdout
    for planted in ("1 Dale Street", "L2 2DH", "resident.a@example.org", "1941-05-17"):
        assert planted not in done.stdout + done.stderr
