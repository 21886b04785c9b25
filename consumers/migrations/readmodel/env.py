"""Alembic environment: see ``consumers.migrations._env``."""

from consumers.migrations._env import run_migrations

run_migrations()
