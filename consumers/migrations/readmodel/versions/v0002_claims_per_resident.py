"""Claims and retractions keyed per resident, as the worker keys them.

Two residents' claims may share an id (the worker keys claims per resident):
keyed by id alone, the second was never recorded and the resident pages did
not show it. Each table is copied into a new one with a (resident, id) primary
key, which then takes the old one's place.

Revision ID: r0002
Revises: r0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from consumers._database import UtcDateTime

revision: str = "r0002"
down_revision: str | None = "r0001"
branch_labels: str | None = None
depends_on: str | None = None


def _columns(table: str) -> list[sa.Column[Any]]:
    own: list[sa.Column[Any]] = (
        [sa.Column("claim_id", sa.String(128), nullable=False)]
        if table == "claims"
        else [
            sa.Column("event_id", sa.String(128), nullable=False),
            sa.Column("claim_id", sa.String(128), nullable=False),
        ]
    )
    common: list[sa.Column[Any]] = [
        sa.Column("attribute", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
    ]
    rest: list[sa.Column[Any]] = (
        [
            sa.Column("assurance", sa.String(16), nullable=False),
            sa.Column("method", sa.String(64), nullable=False),
            sa.Column("verified_at", UtcDateTime(), nullable=False),
            sa.Column("value_json", sa.Text(), nullable=False),
        ]
        if table == "claims"
        else [
            sa.Column("reason", sa.String(64), nullable=False),
            sa.Column("issued_at", UtcDateTime(), nullable=False),
        ]
    )
    return [sa.Column("resident", sa.String(64), nullable=False), *own, *common, *rest]


def _rekey(table: str, key: tuple[str, ...], constraint: str, rows: str = "") -> None:
    """Copy ``table`` (the ``rows`` condition, if any) into one keyed by ``key``; swap them."""
    staging = f"{table}_rekeyed"
    columns = _columns(table)
    names = ", ".join(column.name for column in columns)
    op.create_table(staging, *columns, sa.PrimaryKeyConstraint(*key, name=constraint))
    op.execute(f"INSERT INTO {staging} ({names}) SELECT {names} FROM {table} t {rows}")
    op.drop_index(f"ix_{table}_resident_attribute", table_name=table)
    op.drop_table(table)
    op.rename_table(staging, table)
    op.create_index(f"ix_{table}_resident_attribute", table, ["resident", "attribute"])


def upgrade() -> None:
    _rekey("claims", ("resident", "claim_id"), "pk_claims_per_resident")
    _rekey("retractions", ("resident", "event_id"), "pk_retractions_per_resident")


def downgrade() -> None:
    """Back to one row per id: where residents share an id, only the first resident's stays."""
    for table, key in (("claims", "claim_id"), ("retractions", "event_id")):
        first = f"SELECT MIN(u.resident) FROM {table} u WHERE u.{key} = t.{key}"
        _rekey(table, (key,), f"pk_{table}_by_id", f"WHERE t.resident = ({first})")
