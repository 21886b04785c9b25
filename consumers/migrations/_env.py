"""What both ``env.py`` files do: run the migrations on the connection ``migrate()`` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection


def run_migrations() -> None:
    """Run online on the caller's connection; there is no offline (SQL script) mode."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through consumers._database.migrate()")
    context.configure(
        connection=connection,
        version_table=context.config.get_main_option("version_table") or "alembic_version",
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
