"""Restricted-party lists in the case database: every process and replica screens against one version.

    lists = PartyLists(store.engine)
    info = lists.replace(name="OFAC SDN", version="…", format="ofac-sdn", source_files=[...], published="",
                         loaded_by="alice", entries=[EntryRow(...), ...])
    with lists.snapshot() as snap:           # one consistent read: old list or new, never a mix
        snap.lists; snap.postings({"kestrelmark", "~kstrlmrk"}); snap.names({12, 40})

A list is replaced whole in one write transaction (its old rows deleted, the new ones written), so a
reader sees either version. Rows get their ids here, inside that transaction, so one bulk insert per
table is enough. The words and keys of each name are computed by the caller (risk.list_index); this
module stores and finds them and knows nothing of matching.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..database import WRITE_OPTION
from ..errors import CaseStoreUnavailable
from .models import PartyEntryRow, PartyKeyRow, PartyListRow, PartyNameRow

_LIST_LOCK_KEY = 0x7061727479  # PostgreSQL advisory lock serialising list loads ("party")
_IN_CHUNK = 5000
"""Keys or ids per IN (...) query: well under SQLite's and PostgreSQL's parameter limits."""


@dataclass(frozen=True)
class NameRow:
    """One name of an entry, as it is stored: label, strength, normalised words and its lookup keys."""

    label: str
    strength: str
    tokens: Sequence[str]
    removed: Sequence[str]
    anchors: int
    """How many distinctive words the name has (the slots its keys point at)."""
    keys: Collection[tuple[str, int]]
    """(key, slot) pairs: which lookup key leads to which distinctive word of the name."""


@dataclass(frozen=True)
class EntryRow:
    """One listed party to store."""

    key: str
    name: str
    kind: str
    programs: str
    countries: Sequence[str]
    listed_on: str
    source: str
    names: Sequence[NameRow]


@dataclass(frozen=True)
class ListInfo:
    """A list in force, as `assistant parties list` shows it."""

    name: str
    version: str
    format: str
    source_files: list[str]
    entries: int
    names: int
    published: str
    loaded_at: datetime
    loaded_by: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (ISO 8601 UTC load time)."""
        return {
            "list": self.name,
            "version": self.version,
            "format": self.format,
            "source_files": list(self.source_files),
            "entries": self.entries,
            "names": self.names,
            "published": self.published,
            "loaded_at": self.loaded_at.astimezone(UTC).isoformat(),
            "loaded_by": self.loaded_by,
        }


@dataclass(frozen=True)
class StoredName:
    """A listed name as a screening reads it back, with its entry and list."""

    name_id: int
    label: str
    strength: str
    tokens: tuple[str, ...]
    removed: tuple[str, ...]
    entry_key: str
    party: str
    kind: str
    programs: str
    countries: tuple[str, ...]
    listed_on: str
    source: str
    list_name: str
    list_version: str
    loaded_at: str


@dataclass(frozen=True)
class Posting:
    """A key found in the index: the name it leads to, which of its words, and how many it has."""

    key: str
    name_id: int
    slot: int
    anchors: int


def _list_info(row: Any) -> ListInfo:
    loaded_at = row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=UTC)
    return ListInfo(
        row.name,
        row.version,
        row.format,
        list(row.source_files),
        row.entry_count,
        row.name_count,
        row.published,
        loaded_at,
        row.loaded_by,
    )


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


class PartySnapshot:
    """One consistent read of the lists in force (a read transaction)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        table = PartyListRow.__table__
        rows = conn.execute(select(table).order_by(table.c.name)).all()
        self._rows = {r.id: _list_info(r) for r in rows}
        self.lists = list(self._rows.values())

    def postings(self, keys: Collection[str]) -> list[Posting]:
        """Every index entry under one of the keys."""
        found: list[Posting] = []
        ordered = sorted(keys)
        table = PartyKeyRow.__table__
        for part in _chunks(ordered):
            query = select(table.c.key, table.c.name_id, table.c.slot, table.c.anchors).where(table.c.key.in_(part))
            found.extend(Posting(*row) for row in self._conn.execute(query))
        return found

    def names(self, ids: Collection[int]) -> list[StoredName]:
        """The listed names with these ids, with their entries and lists."""
        names, entries = PartyNameRow.__table__, PartyEntryRow.__table__
        out: list[StoredName] = []
        for part in _chunks(sorted(ids)):
            query = (
                select(
                    names.c.id,
                    names.c.label,
                    names.c.strength,
                    names.c.tokens,
                    names.c.removed,
                    names.c.list_id,
                    entries.c.entry_key,
                    entries.c.name,
                    entries.c.kind,
                    entries.c.programs,
                    entries.c.countries,
                    entries.c.listed_on,
                    entries.c.source,
                )
                .join(entries, entries.c.id == names.c.entry_id)
                .where(names.c.id.in_(part))
            )
            for row in self._conn.execute(query):
                listing = self._rows.get(row.list_id)
                if listing is None:
                    continue
                out.append(
                    StoredName(
                        name_id=row.id,
                        label=row.label,
                        strength=row.strength,
                        tokens=tuple(row.tokens.split()),
                        removed=tuple(json.loads(row.removed)),
                        entry_key=row.entry_key,
                        party=row.name,
                        kind=row.kind,
                        programs=row.programs,
                        countries=tuple(c for c in row.countries.split(",") if c),
                        listed_on=row.listed_on,
                        source=row.source,
                        list_name=listing.name,
                        list_version=listing.version,
                        loaded_at=listing.loaded_at.astimezone(UTC).isoformat(timespec="seconds"),
                    )
                )
        return out


class PartyLists:
    """The restricted-party lists loaded into the case database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @property
    def _display_url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def _unavailable(self, exc: OperationalError) -> CaseStoreUnavailable:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return CaseStoreUnavailable(f"case database {self._display_url} unavailable: {message}")

    def lists(self) -> list[ListInfo]:
        """The lists in force, by name."""
        with self.snapshot() as snap:
            return list(snap.lists)

    @contextmanager
    def snapshot(self) -> Iterator[PartySnapshot]:
        """A read transaction in which every query sees the same lists (REPEATABLE READ on PostgreSQL;
        SQLite's WAL readers see one snapshot per transaction)."""
        bind = self._engine
        if bind.dialect.name == "postgresql":
            bind = bind.execution_options(isolation_level="REPEATABLE READ")
        try:
            with bind.connect() as conn, conn.begin():
                yield PartySnapshot(conn)
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    def replace(
        self,
        *,
        name: str,
        version: str,
        format: str,
        source_files: Sequence[str],
        published: str,
        loaded_by: str,
        entries: Sequence[EntryRow],
        now: datetime | None = None,
    ) -> ListInfo:
        """Put `entries` in force as list `name`, replacing its previous version in one transaction."""
        loaded_at = now or datetime.now(UTC)
        try:
            with self._writer.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LIST_LOCK_KEY})
                # Ids are taken before the old version goes, so a new row never reuses an old one's id.
                list_id = self._next_id(conn, PartyListRow)
                entry_id = self._next_id(conn, PartyEntryRow)
                name_id = self._next_id(conn, PartyNameRow)
                old = conn.execute(select(PartyListRow.id).where(PartyListRow.name == name)).scalar()
                if old is not None:
                    for table in (PartyKeyRow, PartyNameRow, PartyEntryRow):
                        conn.execute(delete(table).where(table.list_id == old))
                    conn.execute(delete(PartyListRow).where(PartyListRow.id == old))
                entry_rows: list[dict[str, Any]] = []
                name_rows: list[dict[str, Any]] = []
                key_rows: list[dict[str, Any]] = []
                for entry in entries:
                    entry_rows.append(
                        {
                            "id": entry_id,
                            "list_id": list_id,
                            "entry_key": entry.key[:200],
                            "name": entry.name,
                            "kind": entry.kind[:32],
                            "programs": entry.programs,
                            "countries": ",".join(entry.countries)[:400],
                            "listed_on": entry.listed_on[:32],
                            "source": entry.source,
                        }
                    )
                    for listed in entry.names:
                        name_rows.append(
                            {
                                "id": name_id,
                                "list_id": list_id,
                                "entry_id": entry_id,
                                "label": listed.label,
                                "strength": listed.strength,
                                "tokens": " ".join(listed.tokens),
                                "removed": json.dumps(list(listed.removed), ensure_ascii=False),
                            }
                        )
                        key_rows.extend(
                            {
                                "key": key[:100],
                                "name_id": name_id,
                                "slot": slot,
                                "list_id": list_id,
                                "anchors": listed.anchors,
                            }
                            for key, slot in listed.keys
                        )
                        name_id += 1
                    entry_id += 1
                conn.execute(
                    insert(PartyListRow),
                    [
                        {
                            "id": list_id,
                            "name": name,
                            "version": version,
                            "format": format,
                            "source_files": list(source_files),
                            "entry_count": len(entry_rows),
                            "name_count": len(name_rows),
                            "published": published,
                            "loaded_at": loaded_at,
                            "loaded_by": loaded_by[:200],
                        }
                    ],
                )
                for table, rows in ((PartyEntryRow, entry_rows), (PartyNameRow, name_rows), (PartyKeyRow, key_rows)):
                    for start in range(0, len(rows), 20_000):
                        conn.execute(insert(table), rows[start : start + 20_000])
                lists_table = PartyListRow.__table__
                return _list_info(conn.execute(select(lists_table).where(lists_table.c.id == list_id)).one())
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    def remove(self, name: str) -> bool:
        """Take list `name` out of force; False when there is no such list."""
        try:
            with self._writer.begin() as conn:
                old = conn.execute(select(PartyListRow.id).where(PartyListRow.name == name)).scalar()
                if old is None:
                    return False
                for table in (PartyKeyRow, PartyNameRow, PartyEntryRow):
                    conn.execute(delete(table).where(table.list_id == old))
                conn.execute(delete(PartyListRow).where(PartyListRow.id == old))
                return True
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    @staticmethod
    def _next_id(conn: Connection, table: Any) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.id), 0))).scalar_one()) + 1
