"""The tables an authority's database holds, as the subscriber reads and writes them.

``current_values`` is what the authority holds now, one row per local reference
and attribute, with the version and provenance of the decision that set it.
``tombstones`` remember the version at which a value was removed (consent ended,
or no value stands any more) so that an older delivery arriving late cannot
bring it back. ``history`` has one row per decision ever received (unique
``decision_id``) and doubles as the outbox of acknowledgements. ``positions``
is the consumed position, written in the same transaction as the rows above.
``bindings`` ties each local reference to the one resident (pseudonym) it was
first delivered for; ``conflicts`` keeps, for the authority to resolve, every
delivery that named a reference bound to another resident.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text

from consumers._database import UtcDateTime

metadata = MetaData()

_Id = BigInteger().with_variant(Integer(), "sqlite")

current_values = Table(
    "current_values",
    metadata,
    Column("local_reference", String(128), primary_key=True),
    Column("attribute", String(64), primary_key=True),
    Column("value_json", Text(), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("decision_id", String(128), nullable=False),
    Column("claim_id", String(128)),
    Column("source", String(256)),
    Column("assurance", String(16)),
    Column("method", String(64)),
    Column("verified_at", UtcDateTime()),
    Column("applied_at", UtcDateTime(), nullable=False),
    Column("retain_until", UtcDateTime()),
    Index("ix_current_values_retain_until", "retain_until"),
)

tombstones = Table(
    "tombstones",
    metadata,
    Column("local_reference", String(128), primary_key=True),
    Column("attribute", String(64), primary_key=True),
    Column("version", BigInteger(), nullable=False),
    Column("decision_id", String(128), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
)

history = Table(
    "history",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("decision_id", String(128), nullable=False, unique=True),
    Column("event_id", String(128), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("local_reference", String(128), nullable=False),
    Column("attributes", String(1024), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("value_json", Text()),
    Column("claim_id", String(128)),
    Column("source", String(256)),
    Column("assurance", String(16)),
    Column("method", String(64)),
    Column("verified_at", UtcDateTime()),
    Column("reason", String(32)),
    Column("applied_at", UtcDateTime(), nullable=False),
    Column("acknowledged_at", UtcDateTime()),
    Index("ix_history_local_reference", "local_reference"),
    Index("ix_history_acknowledged_at", "acknowledged_at"),
)

positions = Table(
    "positions",
    metadata,
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer(), primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger(), nullable=False),
)

bindings = Table(
    "bindings",
    metadata,
    Column("local_reference", String(128), primary_key=True),
    Column("subject", String(256), nullable=False),
    Column("decision_id", String(128), nullable=False),
    Column("bound_at", UtcDateTime(), nullable=False),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("decision_id", String(128), nullable=False, unique=True),
    Column("event_id", String(128), nullable=False),
    Column("subject", String(256), nullable=False),
    Column("bound_subject", String(256), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("local_reference", String(128), nullable=False),
    Column("attributes", String(1024), nullable=False),
    Column("version", BigInteger(), nullable=False),
    Column("value_json", Text()),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Index("ix_conflicts_local_reference", "local_reference"),
)
