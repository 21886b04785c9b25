"""An acknowledgement's status: ``applied``, or ``conflict`` when the authority kept the
delivery aside (its local reference is bound to another resident), for the portal to say so.

Revision ID: r0004
Revises: r0003
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "r0004"
down_revision: str | None = "r0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("acknowledgements") as table:
        table.add_column(
            sa.Column("status", sa.String(16), nullable=False, server_default="applied")
        )


def downgrade() -> None:
    with op.batch_alter_table("acknowledgements") as table:
        table.drop_column("status")
