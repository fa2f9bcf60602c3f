"""The lexical index in a SQLite FTS5 file under ASSISTANT_HOME, ranked by FTS5's own BM25.

One file per collection. Every process on the host opens the same file, so the index is held once, in the
page cache, not once per process. WAL mode lets readers keep reading the last committed index while an
ingest writes the next one in a single transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..errors import IndexUnavailable
from .documents import AUDIENCES
from .lexical import K1, B, LexicalRow, bm25_idf, driver_terms, query_terms

_SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    pk INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    audience TEXT NOT NULL,
    locator TEXT NOT NULL,
    base_locator TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    length INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS collection_stats (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    passages INTEGER NOT NULL,
    total_length INTEGER NOT NULL
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
_DF_CACHE = 4096
_POOL = 4
"""FTS5's bm25() picks `_POOL` times the wanted candidates, which are then scored by the BM25 the in-memory
index used. The two differ only in the weight of terms found in most passages (FTS5's IDF falls to zero
there, ours stays positive); re-scoring a wider pool keeps the ranking the team's evaluation was tuned on."""


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
        self._df: dict[str, int] = {}
        self._df_version = -1
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
        """Top-k (id, BM25 score) within the audiences; the audience filter is part of the SQL query.

        FTS5 finds and pre-ranks the candidates; the final order is BM25 with the IDF of `bm25_idf`."""
        terms = query_terms(question)
        if not terms or k <= 0 or not audiences:
            return []
        doc_freq = {term: self._doc_freq(term) for term in terms}
        drivers = driver_terms(doc_freq)
        if not drivers:
            return []
        expression = "terms : (" + " OR ".join(_phrase(t) for t in drivers) + ")"
        sql = "SELECT id, terms FROM passage_terms WHERE passage_terms MATCH ? AND rank MATCH ?"
        params: list[object] = [expression, _RANK]
        if not set(audiences) >= set(AUDIENCES):
            # Filtering the matched rows by value is faster than intersecting with an audience posting list.
            sql += f" AND audience IN ({','.join('?' * len(audiences))})"
            params += sorted(audiences)
        pool = self._conn().execute(sql + " ORDER BY rank LIMIT ?", [*params, k * _POOL]).fetchall()
        if not pool:
            return []
        n_docs, avg_length = self._stats(self._conn())
        idf = {term: bm25_idf(n_docs, doc_freq[term] or 1) for term in terms}
        scored: list[tuple[float, int, str]] = []
        for order, (ident, text) in enumerate(pool):
            words = str(text).split()
            counts = Counter(words)
            norm = K1 * (1 - B + B * len(words) / avg_length)
            score = sum(idf[t] * counts[t] * (K1 + 1) / (counts[t] + norm) for t in terms if t in counts)
            scored.append((score, order, str(ident)))
        scored.sort(key=lambda row: (-row[0], row[1]))
        return [(ident, score) for score, _, ident in scored[:k]]

    def _stats(self, conn: sqlite3.Connection) -> tuple[int, float]:
        row = conn.execute("SELECT passages, total_length FROM collection_stats").fetchone()
        if row is None or not row[0]:
            return 0, 1.0
        return int(row[0]), max(float(row[1]) / float(row[0]), 1.0)

    def _doc_freq(self, term: str) -> int:
        """Passages holding a stemmed term (cached until the index changes)."""
        conn = self._conn()
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        with self._lock:
            if version != self._df_version or len(self._df) >= _DF_CACHE:
                self._df, self._df_version = {}, version
            cached = self._df.get(term)
        if cached is not None:
            return cached
        row = conn.execute("SELECT doc FROM term_stats WHERE term = ? AND col = 'terms'", (term,)).fetchone()
        value = int(row[0]) if row else 0
        with self._lock:
            self._df[term] = value
        return value

    def term_idf(self, term: str) -> float:
        """IDF of a stemmed term; unseen terms weigh as if seen once."""
        n_docs, _ = self._stats(self._conn())
        return bm25_idf(n_docs, self._doc_freq(term) or 1)

    def audiences(self, ids: Sequence[str]) -> dict[str, str]:
        """The audience of each indexed id."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn().execute(f"SELECT id, audience FROM passages WHERE id IN ({marks})", list(ids))
        return {str(i): str(a) for i, a in rows}

    def locator_ids(self, locators: Sequence[str], audiences: Sequence[str]) -> list[str]:
        """Ids of the passages with one of these locators, only among `audiences`."""
        if not locators or not audiences:
            return []
        sql = (
            f"SELECT id FROM passages WHERE locator IN ({','.join('?' * len(locators))}) "
            f"AND audience IN ({','.join('?' * len(audiences))}) ORDER BY pk"
        )
        return [str(i) for (i,) in self._conn().execute(sql, [*locators, *audiences])]

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
        return self._stats(self._conn())[0]

    def apply(self, upserts: Sequence[LexicalRow], deletes: Sequence[str]) -> None:
        """Write and remove rows in one IMMEDIATE transaction; a failure leaves the index as it was."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            gone = list(dict.fromkeys([*deletes, *(row.id for row in upserts)]))
            passages, total_length = 0, 0
            for start in range(0, len(gone), 500):
                batch = gone[start : start + 500]
                marks = ",".join("?" * len(batch))
                n, length = conn.execute(
                    f"SELECT count(*), coalesce(sum(length), 0) FROM passages WHERE id IN ({marks})", batch
                ).fetchone()
                passages, total_length = passages - int(n), total_length - int(length)
                conn.execute(
                    f"DELETE FROM passage_terms WHERE rowid IN (SELECT pk FROM passages WHERE id IN ({marks}))",
                    batch,
                )
                conn.execute(f"DELETE FROM passages WHERE id IN ({marks})", batch)
            for row in upserts:
                cursor = conn.execute(
                    "INSERT INTO passages (id, fingerprint, audience, locator, base_locator, doc_id, length) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.id,
                        row.fingerprint,
                        row.audience,
                        row.locator,
                        base_locator(row.locator),
                        row.doc_id,
                        len(row.terms),
                    ),
                )
                passages, total_length = passages + 1, total_length + len(row.terms)
                conn.execute(
                    "INSERT INTO passage_terms (rowid, id, audience, terms) VALUES (?, ?, ?, ?)",
                    (cursor.lastrowid, row.id, row.audience, " ".join(row.terms)),
                )
            conn.execute(
                "INSERT INTO collection_stats (singleton, passages, total_length) VALUES (1, ?, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET passages = passages + excluded.passages, "
                "total_length = total_length + excluded.total_length",
                (passages, total_length),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        with self._lock:
            # data_version tells of other connections' commits only, not of this one's.
            self._df = {}

    def close(self) -> None:
        """Close this thread's connection."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
