"""Reference bindings (one resident per local reference) and the conflicts kept aside.

Revision ID: s0002
Revises: s0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consumers._database import UtcDateTime

revision: str = "s0002"
down_revision: str | None = "s0001"
branch_labels: str | None = None
depends_on: str | None = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bindings",
        sa.Column("local_reference", sa.String(128), primary_key=True),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("decision_id", sa.String(128), nullable=False),
        sa.Column("bound_at", UtcDateTime(), nullable=False),
    )
    # A database that already holds values: each reference is bound to the subject of the
    # newest decision history recorded for it (the resident the authority holds it for).
    op.execute(
        "INSERT INTO bindings (local_reference, subject, decision_id, bound_at) "
        "SELECT h.local_reference, h.subject, h.decision_id, h.applied_at FROM history h "
        "WHERE h.id = (SELECT MAX(h2.id) FROM history h2 "
        "WHERE h2.local_reference = h.local_reference)"
    )
    op.create_table(
        "conflicts",
        sa.Column("id", _Id, primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(128), nullable=False, unique=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("bound_subject", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("local_reference", sa.String(128), nullable=False),
        sa.Column("attributes", sa.String(1024), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("value_json", sa.Text()),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_conflicts_local_reference", "conflicts", ["local_reference"])


def downgrade() -> None:
    op.drop_table("conflicts")
    op.drop_table("bindings")
