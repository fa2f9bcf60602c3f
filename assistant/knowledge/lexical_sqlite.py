"""The lexical index in a SQLite FTS5 file under ASSISTANT_HOME, ranked by FTS5's own BM25.

One file per collection. Every process on the host opens the same file, so the index is held once, in the
page cache, not once per process. WAL mode lets readers keep reading the last committed index while an
ingest writes the next one in a single transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import IndexUnavailable
from .documents import AUDIENCES
from .lexical import LexicalRow, bm25_idf, query_terms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    audience TEXT NOT NULL,
    locator TEXT NOT NULL,
    base_locator TEXT NOT NULL,
    doc_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_locator ON passages (locator);
CREATE INDEX IF NOT EXISTS passages_base_locator ON passages (base_locator);
-- '.' is part of a token, so a clause number such as 4.2 stays one term, as textproc.tokens reads it.
CREATE VIRTUAL TABLE IF NOT EXISTS passage_terms USING fts5 (
    id UNINDEXED, audience, terms, tokenize = "unicode61 tokenchars '.'"
);
CREATE VIRTUAL TABLE IF NOT EXISTS term_stats USING fts5vocab (passage_terms, col);
"""
# Only the terms column ranks; the audience column is there to filter inside the full-text query.
_RANK = "bm25(0.0, 0.0, 1.0)"
_IDF_CACHE = 4096


def base_locator(locator: str) -> str:
    """A locator without its PDF page suffix ('HREU 4.2, p. 7' -> 'HREU 4.2')."""
    return locator.split(", p. ")[0]


def _phrase(term: str) -> str:
    # Terms are [a-z0-9.] only (textproc.tokens), so quoting cannot be broken out of.
    return '"' + term.replace('"', "") + '"'


class SqliteLexicalIndex:
    """A lexical index in one SQLite FTS5 file; safe to share between threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._idf: dict[str, float] = {}
        self._idf_version = -1
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn().executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise IndexUnavailable(f"cannot open the lexical index {path}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # isolation_level None: we issue BEGIN ourselves, so a write is one explicit transaction.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def search(self, question: str, k: int, audiences: Sequence[str]) -> list[tuple[str, float]]:
        """Top-k (id, BM25 score) within the audiences; the audience filter is part of the MATCH."""
        terms = query_terms(question)
        if not terms or k <= 0 or not audiences:
            return []
        expression = "terms : (" + " OR ".join(_phrase(t) for t in terms) + ")"
        if not set(audiences) >= set(AUDIENCES):
            expression = "audience : (" + " OR ".join(_phrase(a) for a in sorted(audiences)) + ") AND " + expression
        rows = self._conn().execute(
            "SELECT id, rank FROM passage_terms WHERE passage_terms MATCH ? AND rank MATCH ? ORDER BY rank LIMIT ?",
            (expression, _RANK, k),
        )
        # FTS5's bm25() is negative, better is lower; we hand out the usual positive score.
        return [(str(ident), -float(rank)) for ident, rank in rows]

    def term_idf(self, term: str) -> float:
        """IDF of a stemmed term (cached until the index changes); unseen terms weigh as if seen once."""
        conn = self._conn()
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        with self._lock:
            if version != self._idf_version or len(self._idf) >= _IDF_CACHE:
                self._idf, self._idf_version = {}, version
            cached = self._idf.get(term)
        if cached is not None:
            return cached
        n_docs = self.count()
        row = conn.execute("SELECT doc FROM term_stats WHERE term = ? AND col = 'terms'", (term,)).fetchone()
        value = bm25_idf(n_docs, int(row[0]) if row else 1)
        with self._lock:
            self._idf[term] = value
        return value

    def doc_of_locator(self, locator: str) -> str | None:
        """The document of the first passage with this locator (or, failing that, this base locator)."""
        conn = self._conn()
        for column in ("locator", "base_locator"):
            row = conn.execute(
                f"SELECT doc_id FROM passages WHERE {column} = ? ORDER BY pk LIMIT 1", (locator,)
            ).fetchone()
            if row:
                return str(row[0])
        return None

    def fingerprints(self) -> dict[str, str]:
        """Every indexed id with its fingerprint."""
        return {str(i): str(f) for i, f in self._conn().execute("SELECT id, fingerprint FROM passages")}

    def count(self) -> int:
        """How many passages are indexed."""
        return int(self._conn().execute("SELECT count(*) FROM passages").fetchone()[0])

    def apply(self, upserts: Sequence[LexicalRow], deletes: Sequence[str]) -> None:
        """Write and remove rows in one IMMEDIATE transaction; a failure leaves the index as it was."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = [*deletes, *(row.id for row in upserts)]
            for start in range(0, len(gone), 500):
                batch = gone[start : start + 500]
                marks = ",".join("?" * len(batch))
                conn.execute(
                    f"DELETE FROM passage_terms WHERE rowid IN (SELECT pk FROM passages WHERE id IN ({marks}))",
                    batch,
                )
                conn.execute(f"DELETE FROM passages WHERE id IN ({marks})", batch)
            for row in upserts:
                cursor = conn.execute(
                    "INSERT INTO passages (id, fingerprint, audience, locator, base_locator, doc_id) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (row.id, row.fingerprint, row.audience, row.locator, base_locator(row.locator), row.doc_id),
                )
                conn.execute(
                    "INSERT INTO passage_terms (rowid, id, audience, terms) VALUES (?, ?, ?, ?)",
                    (cursor.lastrowid, row.id, row.audience, " ".join(row.terms)),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close this thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
