"""Alembic migrations of the one database (cases, records, party lists, lexical index), run from code.

No alembic.ini is needed.

The store calls `upgrade(connection)` at start inside a write transaction, so concurrent starters wait
for each other and only the first one changes the schema. Migrations are forward-only and named
`NNNN_what.py`; to author the next one against a scratch database::

    from alembic import command
    from assistant.database.migrations import alembic_config
    command.revision(alembic_config("sqlite:///scratch.db"), "add x", autogenerate=True, rev_id="0002_add_x")
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from ..schema import VERSION_TABLE

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code, pointing at this package's scripts.

    With `connection`, migrations run on it (inside the caller's transaction); otherwise on `url`.
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, or None for an empty database."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(connection: Connection) -> None:
    """Bring the schema to the head revision on `connection`, within its open transaction."""
    command.upgrade(alembic_config(connection=connection), "head")
