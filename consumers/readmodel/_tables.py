"""The hub's read model tables, which the resident pages and operators read.

Raw facts (``claims``, ``retractions``, ``consent_grants``,
``consent_withdrawals``, ``audit``, ``acknowledgements``) are kept as the
topics said them, each once (claims and retractions once per resident and id,
as the worker keys them); ``profile`` is derived from claims and retractions
per (resident, attribute) whenever either changes. ``positions`` is the
consumed position, written in the same transaction as the rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from consumers._database import UtcDateTime

metadata = MetaData()

claims = Table(
    "claims",
    metadata,
    Column("resident", String(64), nullable=False),
    Column("claim_id", String(128), nullable=False),
    Column("attribute", String(64), nullable=False),
    Column("source", String(256), nullable=False),
    Column("assurance", String(16), nullable=False),
    Column("method", String(64), nullable=False),
    Column("verified_at", UtcDateTime(), nullable=False),
    Column("value_json", Text(), nullable=False),
    PrimaryKeyConstraint("resident", "claim_id", name="pk_claims_per_resident"),
    Index("ix_claims_resident_attribute", "resident", "attribute"),
)

retractions = Table(
    "retractions",
    metadata,
    Column("resident", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("claim_id", String(128), nullable=False),
    Column("attribute", String(64), nullable=False),
    Column("source", String(256), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("resident", "event_id", name="pk_retractions_per_resident"),
    Index("ix_retractions_resident_attribute", "resident", "attribute"),
)

profile = Table(
    "profile",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("attribute", String(64), primary_key=True),
    Column("claim_id", String(128), nullable=False),
    Column("value_json", Text(), nullable=False),
    Column("source", String(256), nullable=False),
    Column("assurance", String(16), nullable=False),
    Column("method", String(64), nullable=False),
    Column("verified_at", UtcDateTime(), nullable=False),
)

consent_grants = Table(
    "consent_grants",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("authority", String(80), primary_key=True),
    Column("event_id", String(128), nullable=False),
    Column("attributes", String(1024), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("local_reference", String(64), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("issued_at", UtcDateTime(), nullable=False),
)

consent_withdrawals = Table(
    "consent_withdrawals",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("authority", String(80), primary_key=True),
    Column("attribute", String(64), primary_key=True),  # "*" for all
    Column("event_id", String(128), nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("subject", String(80), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("decision", String(32), nullable=False),
    Column("reason", String(64)),
    Column("input_event_id", String(128), nullable=False),
    Column("event_type", String(256), nullable=False),
    Column("event_source", String(256), nullable=False),
    Column("attribute", String(64)),
    Column("authority", String(80)),
    Column("claim_id", String(128)),
    Column("assurance", String(16)),
    Column("decision_id", String(128)),
    Column("version", BigInteger()),
    Column("topic", String(249), nullable=False),
    Column("partition", Integer(), nullable=False),
    Column("offset", BigInteger(), nullable=False),
    Index("ix_audit_subject", "subject"),
    Index("ix_audit_decision_id", "decision_id"),
)

acknowledgements = Table(
    "acknowledgements",
    metadata,
    Column("authority", String(80), primary_key=True),
    Column("decision_id", String(128), primary_key=True),
    Column("event_id", String(128), nullable=False),
    Column("local_reference", String(64), nullable=False),
    Column("applied_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False, server_default="applied"),
)

erasures = Table(
    "erasures",
    metadata,
    Column("resident", String(64), primary_key=True),
    Column("event_id", String(128), nullable=False),
    Column("erased_at", UtcDateTime(), nullable=False),
)

positions = Table(
    "positions",
    metadata,
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer(), primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger(), nullable=False),
)

ALL = (
    claims,
    retractions,
    profile,
    consent_grants,
    consent_withdrawals,
    audit,
    acknowledgements,
    erasures,
    positions,
)
"""Every table, in an order safe for emptying (no foreign keys between them)."""
