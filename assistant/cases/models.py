"""The case queue's data: plain records handed to callers, and the tables behind them.

`Case`, `CaseEvent` and `Requester` are frozen dataclasses, detached from any database session; the
`*Row` classes are SQLAlchemy 2 declarative mappings that only the store touches. The schema itself is
created and changed by the Alembic migrations in `assistant/database/migrations`; the row classes describe it for
queries and are what `alembic revision --autogenerate` compares against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database.schema import Base, UTCDateTime
from ..enums import UNDECIDED


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class Requester:
    """Who asked for the case to be opened, and through which door."""

    user_id: str
    channel: str = "cli"
    org: str = "internal"

    def to_dict(self) -> dict[str, str]:
        """The requester as JSON-ready data."""
        return {"user_id": self.user_id, "channel": self.channel, "org": self.org}


@dataclass(frozen=True)
class Case:
    """A compliance case as the store returns it. Times are timezone-aware UTC."""

    ref: str
    status: str
    level: str
    summary: str
    facts: dict[str, Any]
    reasons: list[dict[str, Any]]
    requester: Requester
    org: str
    assignee: str | None
    sla_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None = None

    def is_overdue(self, now: datetime) -> bool:
        """True while the case is undecided and its SLA date has passed."""
        undecided = self.status in UNDECIDED
        return undecided and self.sla_due_at is not None and now > self.sla_due_at

    def to_dict(self) -> dict[str, Any]:
        """The case as JSON-ready data (ISO 8601 times)."""
        return {
            "ref": self.ref,
            "status": self.status,
            "level": self.level,
            "summary": self.summary,
            "facts": self.facts,
            "reasons": self.reasons,
            "requester": self.requester.to_dict(),
            "org": self.org,
            "assignee": self.assignee,
            "sla_due_at": _iso(self.sla_due_at),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "idempotency_key": self.idempotency_key,
        }


@dataclass(frozen=True)
class CaseEvent:
    """One entry of a case's audit trail. `hash` covers every other field and `prev_hash`."""

    ref: str
    seq: int
    actor: str
    action: str
    from_status: str | None
    to_status: str
    comment: str | None
    created_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    prev_hash: str = ""
    hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data."""
        return {
            "ref": self.ref,
            "seq": self.seq,
            "actor": self.actor,
            "action": self.action,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "comment": self.comment,
            "created_at": _iso(self.created_at),
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


# -- tables --------------------------------------------------------------------------------------------


class CaseRow(Base):
    """One compliance case. `event_count` and `head_hash` point at the newest audit event."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("ref_year", "ref_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    ref_year: Mapped[int] = mapped_column(Integer)
    ref_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    requester_user: Mapped[str] = mapped_column(String(200))
    requester_channel: Mapped[str] = mapped_column(String(100))
    requester_org: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(String(200), index=True)
    assignee: Mapped[str | None] = mapped_column(String(200))
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    event_count: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str] = mapped_column(String(64))


class CaseEventRow(Base):
    """One audit event; `hash` chains it to the case's previous event through `prev_hash`."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 under ASSISTANT_AUDIT_KEY (see audit.event_mac); None for events written without the key.
    mac: Mapped[str | None] = mapped_column(String(64))


class RefCounterRow(Base):
    """The last case number issued in a year. Its row lock makes references gap-free and unique."""

    __tablename__ = "case_ref_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)


class ScreeningRow(Base):
    """An escalate or prohibited screening that opened no case (a staff opt-out): its trace."""

    __tablename__ = "screenings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)


class PartyListRow(Base):
    """A restricted-party list in force: one row per list name, replaced whole when the list is re-loaded."""

    __tablename__ = "party_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    version: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(32))
    source_files: Mapped[list[str]] = mapped_column(JSON)
    entry_count: Mapped[int] = mapped_column(Integer)
    name_count: Mapped[int] = mapped_column(Integer)
    published: Mapped[str] = mapped_column(String(32))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(200))


class PartyEntryRow(Base):
    """One listed party of a list."""

    __tablename__ = "party_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    list_id: Mapped[int] = mapped_column(Integer, index=True)
    entry_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    programs: Mapped[str] = mapped_column(Text)
    countries: Mapped[str] = mapped_column(String(400))
    listed_on: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)


class PartyNameRow(Base):
    """One name or alias of a listed party, with its normalised words (so screening need not redo them)."""

    __tablename__ = "party_names"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    list_id: Mapped[int] = mapped_column(Integer, index=True)
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    label: Mapped[str] = mapped_column(Text)
    strength: Mapped[str] = mapped_column(String(8))
    tokens: Mapped[str] = mapped_column(Text)
    removed: Mapped[str] = mapped_column(Text)


class PartyKeyRow(Base):
    """The lookup index: a word key (a word, its consonant skeleton or a one-letter deletion of it) that
    leads to a listed name, and which of the name's distinctive words (`slot`, of `anchors`) it stands for."""

    __tablename__ = "party_keys"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    list_id: Mapped[int] = mapped_column(Integer, index=True)
    anchors: Mapped[int] = mapped_column(Integer)
