"""Topic names, built from the configured prefix, and what each topic is for.

The one place a topic name is spelled. Topics joined by resident (attributes,
consents, the worker's own control topic and the facts log it appends to) must
share one partition count; ``rps topics create`` refuses to go on when they do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Cleanup = Literal["delete", "compact"]

_AUTHORITY_GSS = re.compile(r"^[EWSN]\d{8}$")
_AUTHORITY_ORG = re.compile(r"^urn:org:([a-z0-9][a-z0-9-]{0,62})$")


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic the product owns: its name, clean-up policy and whether the workers' group reads
    it with the others, so it must share their partition count."""

    name: str
    cleanup: Cleanup
    co_partitioned: bool
    description: str


@dataclass(frozen=True, slots=True)
class Topics:
    """Every topic name for one prefix."""

    prefix: str = "rps"

    @property
    def attributes(self) -> str:
        return f"{self.prefix}.attributes.v1"

    @property
    def consents(self) -> str:
        return f"{self.prefix}.consents.v1"

    @property
    def control(self) -> str:
        """Worker-to-worker instructions keyed by resident (expiry and backfill re-evaluation)."""
        return f"{self.prefix}.control.v1"

    @property
    def facts(self) -> str:
        """Every inbound record the worker decided, sealed under its resident's data key:
        what replay reads (retained; the inbound topics are not)."""
        return f"{self.prefix}.facts.v1"

    @property
    def subscriptions(self) -> str:
        return f"{self.prefix}.subscriptions.v1"

    @property
    def publishers(self) -> str:
        """The publisher registry: roles and signing keys (compacted, never tombstoned)."""
        return f"{self.prefix}.publishers.v1"

    @property
    def signed(self) -> tuple[str, ...]:
        """The topics whose events must be signed; the broker stamps them (LogAppendTime)."""
        return (self.attributes, self.consents, self.subscriptions)

    @property
    def passing(self) -> tuple[str, ...]:
        """The topics that hold what arrived in plain text, and the dead letters: kept for
        days (``RPS_INBOUND_RETENTION_MS``), the facts log keeping what was decided."""
        return (self.attributes, self.consents, self.control, self.deadletter)

    @property
    def worker_inputs(self) -> tuple[str, ...]:
        """The topics the workers' group reads, co-partitioned: attributes, consents, control
        and the subscription changes (the one owner of a partition audits a refused change)."""
        return (self.attributes, self.consents, self.control, self.subscriptions)

    @property
    def audit(self) -> str:
        return f"{self.prefix}.audit.v1"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter.v1"

    @property
    def acknowledgements(self) -> str:
        return f"{self.prefix}.acknowledgements.v1"

    @property
    def operations(self) -> str:
        """Operators' actions on dead letters (values viewed, records redriven), kept like audit."""
        return f"{self.prefix}.operations.v1"

    def deliveries(self, authority: str) -> str:
        """The outbound topic of one authority, e.g. ``rps.deliveries.org.dwp.v1``."""
        return f"{self.prefix}.deliveries.{authority_slug(authority)}.v1"

    def fixed(self) -> tuple[TopicSpec, ...]:
        """The topics that exist whatever authorities subscribe."""
        return (
            TopicSpec(self.attributes, "delete", True, "inbound verified attributes, as published"),
            TopicSpec(self.consents, "delete", True, "consent granted and withdrawn"),
            TopicSpec(
                self.control, "delete", True, "expiry and backfill re-evaluation, by resident"
            ),
            TopicSpec(
                self.facts,
                "delete",
                True,
                "every decided inbound record, sealed; what replay reads",
            ),
            TopicSpec(
                self.subscriptions,
                "compact",
                True,  # the workers' group reads it too: a refusal is audited on its partition
                "authority subscriptions, a global table",
            ),
            TopicSpec(
                self.publishers, "compact", False, "publisher registry: roles and signing keys"
            ),
            TopicSpec(self.audit, "delete", False, "one record per decision"),
            TopicSpec(self.deadletter, "delete", False, "anything that could not be processed"),
            TopicSpec(
                self.acknowledgements, "delete", False, "subscribers' delivery.applied events"
            ),
        )

    def operations_spec(self) -> TopicSpec:
        """Created by the first operator action on a dead letter, not with the fixed topics."""
        return TopicSpec(self.operations, "delete", False, "operators' actions on dead letters")

    def delivery_spec(self, authority: str) -> TopicSpec:
        return TopicSpec(self.deliveries(authority), "delete", False, f"deliveries to {authority}")


def authority_slug(authority: str) -> str:
    """A topic-safe name for an authority id (a GSS code or ``urn:org:<name>``)."""
    if _AUTHORITY_GSS.match(authority):
        return authority
    match = _AUTHORITY_ORG.match(authority)
    if match:
        return f"org.{match.group(1)}"
    raise ValueError("authority must be a 9-character GSS code or urn:org:<name>")
