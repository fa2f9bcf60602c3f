"""The tables of the records kept beside cases: answer feedback, processed inbound events, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.schema import Base, UTCDateTime


class FeedbackRow(Base):
    """A user's verdict on one answer (helpful or not, with an optional reason)."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    answer_id: Mapped[str] = mapped_column(String(64), index=True)
    question: Mapped[str] = mapped_column(Text)
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)


class ProcessedEventRow(Base):
    """An inbound event (e.g. a Slack event id) already handled; the unique key de-duplicates retries."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyRow(Base):
    """An API key: only a hash of the secret is stored, never the key itself."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    org: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Moved on by sign-out; sessions started under an older version are refused (migration 0004).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
