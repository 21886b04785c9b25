"""Alembic script directories: ``subscriber`` (an authority's) and ``readmodel`` (the hub's)."""
