"""Alembic script directory of the readmodel schema."""
