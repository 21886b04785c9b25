"""Alembic script directory of the subscriber schema."""
