"""The hub's read model: facts as the topics said them, the derived profile, positions.

Revision ID: r0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consumers._database import UtcDateTime

revision: str = "r0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    _claim_tables()
    _consent_tables()
    _decision_tables()
    op.create_table(
        "positions",
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
    )


def _claim_tables() -> None:
    """Claims and retractions as the topics said them, and the profile derived from them."""
    op.create_table(
        "claims",
        sa.Column("claim_id", sa.String(128), primary_key=True),
        sa.Column("resident", sa.String(64), nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("assurance", sa.String(16), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("verified_at", UtcDateTime(), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
    )
    op.create_index("ix_claims_resident_attribute", "claims", ["resident", "attribute"])
    op.create_table(
        "retractions",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("resident", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(128), nullable=False),
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_retractions_resident_attribute", "retractions", ["resident", "attribute"])
    op.create_table(
        "profile",
        sa.Column("resident", sa.String(64), primary_key=True),
        sa.Column("attribute", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(128), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("assurance", sa.String(16), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("verified_at", UtcDateTime(), nullable=False),
    )


def _consent_tables() -> None:
    """The latest grant per resident and authority, and withdrawals per attribute."""
    op.create_table(
        "consent_grants",
        sa.Column("resident", sa.String(64), primary_key=True),
        sa.Column("authority", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("attributes", sa.String(1024), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("local_reference", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime()),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "consent_withdrawals",
        sa.Column("resident", sa.String(64), primary_key=True),
        sa.Column("authority", sa.String(80), primary_key=True),
        sa.Column("attribute", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
    )


def _decision_tables() -> None:
    """Every audited decision, with where it was read, and the authorities' acknowledgements."""
    op.create_table(
        "audit",
        sa.Column("event_id", sa.String(128), primary_key=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(64)),
        sa.Column("input_event_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(256), nullable=False),
        sa.Column("event_source", sa.String(256), nullable=False),
        sa.Column("attribute", sa.String(64)),
        sa.Column("authority", sa.String(80)),
        sa.Column("claim_id", sa.String(128)),
        sa.Column("assurance", sa.String(16)),
        sa.Column("decision_id", sa.String(128)),
        sa.Column("version", sa.BigInteger()),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_audit_subject", "audit", ["subject"])
    op.create_index("ix_audit_decision_id", "audit", ["decision_id"])
    op.create_table(
        "acknowledgements",
        sa.Column("authority", sa.String(80), primary_key=True),
        sa.Column("decision_id", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("local_reference", sa.String(64), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "positions",
        "acknowledgements",
        "audit",
        "consent_withdrawals",
        "consent_grants",
        "profile",
        "retractions",
        "claims",
    ):
        op.drop_table(table)
