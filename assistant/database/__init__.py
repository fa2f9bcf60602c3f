"""The one database the product keeps its records in: cases, their audit trail, API keys, feedback,
processed events, restricted-party lists and (on PostgreSQL) the lexical index.

SQLite under ASSISTANT_HOME by default (WAL, a busy timeout, BEGIN IMMEDIATE for writes), PostgreSQL through
psycopg 3 when ASSISTANT_DATABASE_URL says so. Passwords never appear in messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..config import Settings

SQLITE_BUSY_TIMEOUT_S: Final = 10.0
WRITE_OPTION: Final = "assistant_case_write"
"""Execution option that makes a SQLite transaction BEGIN IMMEDIATE (take the write lock up front)."""


def database_url(settings: Settings) -> str:
    """The case database URL: ASSISTANT_DATABASE_URL, or SQLite at ASSISTANT_HOME/cases.db."""
    if settings.database_url:
        return settings.database_url.get_secret_value()
    return f"sqlite:///{Path(settings.home) / 'cases.db'}"


def safe_url(url: str) -> str:
    """The URL for messages, with its password as ***, even when the URL cannot be parsed."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        pass
    # Unparseable: hide everything after the user name in whatever precedes the last "@".
    scheme, sep, rest = url.rpartition("://")
    userinfo, at, host = rest.rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}{sep}{user}{colon and ':***'}{at}{host}"


def make_engine(url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for the case database, tuned per back-end.

    SQLite gets WAL, a busy timeout and foreign keys on every connection, and takes over BEGIN from the
    sqlite3 driver so that write transactions can be IMMEDIATE. `postgresql://` URLs use psycopg 3.
    """
    from sqlalchemy import create_engine

    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigError(
            f"invalid case database URL {safe_url(url)}: expected e.g. sqlite:///path/cases.db "
            "or postgresql://user:password@host/db"
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": busy_timeout_s})
            _tune_sqlite(engine, busy_timeout_s)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:  # ImportError: a driver not installed
        raise ConfigError(f"unsupported case database URL {safe_url(url)}: {exc}") from exc
    return engine


def _tune_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below); the driver's own implicit BEGIN would defeat IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # The timeout goes first so that switching to WAL waits for other openers instead of failing.
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
