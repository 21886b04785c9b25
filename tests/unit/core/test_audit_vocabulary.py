"""The audit contract and the docs promise only the decisions and reasons the worker writes."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given, settings

import streams.core
from schemas.audit import AuditDecision as ContractDecision
from streams.core import AuditDecision, Directory, Fact, Profile, Withheld, decide_all
from tests.unit.core.strategies import NOW, RESIDENT, directories, worlds

ROOT = Path(__file__).resolve().parents[3]
CORE = Path(streams.core.__file__).parent

WRITTEN_REASONS = {str(reason) for reason in Withheld} - {str(Withheld.NOT_SUBSCRIBED)}
"""Withholding reasons a ``withheld`` audit record can carry: only subscribers are judged."""


@settings(max_examples=200)
@given(worlds(), directories())
def test_withheld_records_name_subscribers_with_a_written_reason(
    facts: list[Fact], directory: Directory
) -> None:
    """Each ``withheld`` record is about a subscriber of the attribute: never ``not_subscribed``."""
    for outcome in decide_all(Profile(RESIDENT), facts, directory, NOW):
        for entry in outcome.audit:
            assert entry.decision.value in {d.value for d in ContractDecision}
            if entry.decision is AuditDecision.WITHHELD:
                assert entry.attribute is not None
                assert entry.authority is not None
                assert entry.authority in directory.subscribers(entry.attribute)
                assert entry.reason in WRITTEN_REASONS


def test_every_decision_in_the_audit_contract_is_written_by_the_worker() -> None:
    """Each decision the contract lists has a place in the worker's core that writes it."""
    sources = "\n".join(
        path.read_text() for path in CORE.glob("*.py") if path.name != "outputs.py"
    ) + _writers_in(CORE / "outputs.py")
    never_written = [
        decision.value
        for decision in ContractDecision
        if f"AuditDecision.{decision.name}" not in sources
    ]
    assert never_written == []


def test_the_docs_list_exactly_the_withholding_reasons_the_worker_writes() -> None:
    """docs/worker.md and the README name every reason a withheld record carries, and no other."""
    worker_page = (ROOT / "docs" / "worker.md").read_text()
    gate = worker_page[worker_page.index("**The gate.**") :].split("\n\n", 1)[0]
    readme = (ROOT / "README.md").read_text()
    listed = readme[readme.index("**The consent gate**") :].split("\n- ", 1)[0]
    for text in (gate, listed):
        assert set(re.findall(r"`([a-z_]+)`", text)) == WRITTEN_REASONS


def _writers_in(path: Path) -> str:
    """``outputs.py`` without its enum definitions (members are defined there, not written)."""
    return "\n".join(
        line for line in path.read_text().splitlines() if not re.match(r"\s+[A-Z_]+ = ", line)
    )
