"""Alembic environment for the one database: runs on the connection the case store hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

# Every module that maps a table, so that the metadata holds the whole schema.
import assistant.cases.models
import assistant.records.rows  # noqa: F401
from assistant.database.schema import VERSION_TABLE, Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    """Write the SQL to stdout instead of running it (`alembic upgrade --sql`)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run on the store's connection, or on sqlalchemy.url when authoring migrations."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url given to the database migrations")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            context.configure(
                connection=conn, target_metadata=target_metadata, version_table=VERSION_TABLE, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
