"""Alembic environment: runs the ledger migrations on the connection riskguard hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from riskguard.ledger.database import create_db_engine, default_url
from riskguard.ledger.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Use the connection passed in ``config.attributes`` (riskguard db upgrade), else the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or default_url()
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
