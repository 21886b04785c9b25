"""An authority's tables: current values, tombstones, history (and outbox), positions.

Revision ID: s0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consumers._database import UtcDateTime

revision: str = "s0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "current_values",
        sa.Column("local_reference", sa.String(128), primary_key=True),
        sa.Column("attribute", sa.String(64), primary_key=True),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.String(128), nullable=False),
        sa.Column("claim_id", sa.String(128)),
        sa.Column("source", sa.String(256)),
        sa.Column("assurance", sa.String(16)),
        sa.Column("method", sa.String(64)),
        sa.Column("verified_at", UtcDateTime()),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
        sa.Column("retain_until", UtcDateTime()),
    )
    op.create_index("ix_current_values_retain_until", "current_values", ["retain_until"])
    op.create_table(
        "tombstones",
        sa.Column("local_reference", sa.String(128), primary_key=True),
        sa.Column("attribute", sa.String(64), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("decision_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "history",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("local_reference", sa.String(128), nullable=False),
        sa.Column("attributes", sa.String(1024), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("value_json", sa.Text()),
        sa.Column("claim_id", sa.String(128)),
        sa.Column("source", sa.String(256)),
        sa.Column("assurance", sa.String(16)),
        sa.Column("method", sa.String(64)),
        sa.Column("verified_at", UtcDateTime()),
        sa.Column("reason", sa.String(32)),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime()),
    )
    op.create_index("ix_history_local_reference", "history", ["local_reference"])
    op.create_index("ix_history_acknowledged_at", "history", ["acknowledged_at"])
    op.create_table(
        "positions",
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in ("positions", "history", "tombstones", "current_values"):
        op.drop_table(table)
