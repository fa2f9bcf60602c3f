"""What every table in the one database shares: the declarative base, its naming convention, the
timezone-aware datetime column and the Alembic version table.

The row classes live beside the code that owns them (`cases.models`, `records.rows`); the schema itself is
created and changed by the migrations in `database/migrations/versions`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

#: Our own Alembic version table, so other parts of the project can keep their own migrations
#: in the same database without sharing a revision history.
VERSION_TABLE = "cases_alembic_version"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every back-end.

    SQLite has no time zones, so values are stored there as naive UTC and given their zone back on
    the way out; PostgreSQL stores `timestamptz` and we convert what it returns to UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with its own metadata, so the product's tables stand apart from anything else."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
