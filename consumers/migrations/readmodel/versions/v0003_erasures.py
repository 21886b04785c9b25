"""Erasures: when each erased resident was erased, so facts from before it are not kept.

Revision ID: r0003
Revises: r0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from consumers._database import UtcDateTime

revision: str = "r0003"
down_revision: str | None = "r0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("resident", sa.String(64), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("erased_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erasures")
