"""The lexical index in PostgreSQL (the case database): one index that every web and Slack replica reads.

Tables come from the case database's migration 0007. A passage's stemmed terms are stored as a tsvector
literal (lexeme:positions), so PostgreSQL's dictionaries never re-stem what `textproc.tokens` produced; the
postings table (migration 0008) holds one row per passage and term with its frequency and an impact, so a
query reads the rarest terms' postings whole and the strongest postings of common terms, and ranks them by
BM25 with the document frequencies kept in `lexical_terms`: the same formula the SQLite index uses.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from ..errors import IndexUnavailable
from .lexical import K1, B, LexicalRow, bm25_idf, driver_terms, query_terms
from .lexical_sqlite import base_locator

_MAX_POSITION = 16383  # PostgreSQL's largest tsvector position
_MAX_POSITIONS = 256  # and how many it keeps per lexeme
_IDF_TTL_S = 30.0  # document frequencies move only with an ingest; a short-lived cache is exact enough
_IDF_CACHE = 4096

_STRONGEST = 500
"""Postings read per common term and audience: its strongest ones by impact (the rarest terms are read whole)."""

_SEARCH = text(
    f"""
    SELECT x.passage_id, SUM(q.idf * x.tf * {K1 + 1} / (x.tf + {K1} * ({1 - B} + {B} * x.length / :avg))) AS score
    FROM unnest(CAST(:terms AS text[]), CAST(:idfs AS float8[]), CAST(:limits AS integer[])) AS q (term, idf, lim)
    CROSS JOIN unnest(CAST(:audiences AS text[])) AS a (audience)
    CROSS JOIN LATERAL (
        SELECT o.passage_id, o.tf, o.length
        FROM lexical_postings AS o
        WHERE o.collection = :collection AND o.audience = a.audience AND o.term = q.term
        ORDER BY o.impact DESC
        LIMIT q.lim
    ) AS x
    GROUP BY x.passage_id
    ORDER BY score DESC, x.passage_id
    LIMIT :k
    """
)

# Postings of written passages, from the terms just stored: one row per (passage, lexeme).
_POSTINGS = text(
    f"""
    INSERT INTO lexical_postings (collection, audience, term, impact, passage_id, tf, length)
    SELECT p.collection, p.audience, u.lexeme,
           cardinality(u.positions) / (cardinality(u.positions) + {K1} * ({1 - B} + {B} * p.length / :avg)),
           p.id, cardinality(u.positions), p.length
    FROM lexical_passages AS p CROSS JOIN LATERAL unnest(p.terms) AS u
    WHERE p.collection = :c AND p.id IN :ids
    """
).bindparams(bindparam("ids", expanding=True))


def _quote(term: str) -> str:
    # Terms are [a-z0-9.] only (textproc.tokens); doubling quotes keeps any other text a literal anyway.
    return "'" + term.replace("'", "''").replace("\\", "") + "'"


def tsvector_literal(terms: Sequence[str]) -> str:
    """The tsvector of a token list, lexemes with their positions, written as PostgreSQL reads it."""
    positions: dict[str, list[int]] = {}
    for i, term in enumerate(terms):
        held = positions.setdefault(term, [])
        if len(held) < _MAX_POSITIONS:
            held.append(min(i + 1, _MAX_POSITION))
    return " ".join(f"{_quote(t)}:{','.join(str(p) for p in sorted(set(ps)))}" for t, ps in positions.items())


class PostgresLexicalIndex:
    """A lexical index in PostgreSQL tables, one collection's rows beside other collections'."""

    def __init__(self, engine: Engine, collection: str) -> None:
        self.engine = engine
        self.collection = collection
        self._idf: dict[str, float] = {}
        self._idf_at = 0.0
        self._lock = threading.Lock()

    def _stats(self, conn: Connection) -> tuple[int, float]:
        row = conn.execute(
            text("SELECT passages, total_length FROM lexical_stats WHERE collection = :c"), {"c": self.collection}
        ).first()
        if row is None or not row[0]:
            return 0, 1.0
        return int(row[0]), max(float(row[1]) / float(row[0]), 1.0)

    def search(self, question: str, k: int, audiences: Sequence[str]) -> list[tuple[str, float]]:
        """Top-k (id, BM25 score) among passages of the allowed audiences (filtered in the query)."""
        terms = query_terms(question)
        if not terms or k <= 0 or not audiences:
            return []
        try:
            with self.engine.connect() as conn:
                n_docs, avg = self._stats(conn)
                if n_docs == 0:
                    return []
                freq = {
                    str(term): int(df)
                    for term, df in conn.execute(
                        text("SELECT term, doc_freq FROM lexical_terms WHERE collection = :c AND term = ANY(:t)"),
                        {"c": self.collection, "t": terms},
                    )
                }
                if not freq:
                    return []
                drivers = set(driver_terms(freq))
                rows = conn.execute(
                    _SEARCH,
                    {
                        "avg": avg,
                        "collection": self.collection,
                        "terms": list(freq),
                        "idfs": [bm25_idf(n_docs, df) for df in freq.values()],
                        "limits": [df if term in drivers else min(df, _STRONGEST) for term, df in freq.items()],
                        "audiences": list(audiences),
                        "k": k,
                    },
                ).all()
        except OperationalError as exc:
            raise IndexUnavailable(f"cannot read the lexical index in PostgreSQL: {exc.orig or exc}") from exc
        return [(str(ident), float(score)) for ident, score in rows]

    def term_idf(self, term: str) -> float:
        """IDF of a stemmed term; unseen terms weigh as if seen once."""
        now = time.monotonic()
        with self._lock:
            if now - self._idf_at > _IDF_TTL_S or len(self._idf) >= _IDF_CACHE:
                self._idf, self._idf_at = {}, now
            cached = self._idf.get(term)
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            n_docs, _ = self._stats(conn)
            df = conn.execute(
                text("SELECT doc_freq FROM lexical_terms WHERE collection = :c AND term = :t"),
                {"c": self.collection, "t": term},
            ).scalar()
        value = bm25_idf(n_docs, int(df) if df else 1)
        with self._lock:
            self._idf[term] = value
        return value

    def audiences(self, ids: Sequence[str]) -> dict[str, str]:
        """The audience of each indexed id."""
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, audience FROM lexical_passages WHERE collection = :c AND id = ANY(:ids)"),
                {"c": self.collection, "ids": list(ids)},
            )
            return {str(i): str(a) for i, a in rows}

    def locator_ids(self, locators: Sequence[str], audiences: Sequence[str]) -> list[str]:
        """Ids of the passages with one of these locators, only among `audiences`."""
        if not locators or not audiences:
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id FROM lexical_passages WHERE collection = :c AND locator = ANY(:l) "
                    "AND audience = ANY(:a) ORDER BY id"
                ),
                {"c": self.collection, "l": list(locators), "a": list(audiences)},
            )
            return [str(i) for (i,) in rows]

    def doc_of_locator(self, locator: str) -> str | None:
        """The document of a passage with this locator (or, failing that, this base locator)."""
        with self.engine.connect() as conn:
            for column in ("locator", "base_locator"):
                found = conn.execute(
                    text(
                        f"SELECT doc_id FROM lexical_passages WHERE collection = :c AND {column} = :l "
                        "ORDER BY id LIMIT 1"
                    ),
                    {"c": self.collection, "l": locator},
                ).scalar()
                if found is not None:
                    return str(found)
        return None

    def fingerprints(self) -> dict[str, str]:
        """Every indexed id with its fingerprint."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, fingerprint FROM lexical_passages WHERE collection = :c"), {"c": self.collection}
            )
            return {str(i): str(f) for i, f in rows}

    def count(self) -> int:
        """How many passages are indexed."""
        with self.engine.connect() as conn:
            return self._stats(conn)[0]

    def apply(self, upserts: Sequence[LexicalRow], deletes: Sequence[str]) -> None:
        """Write and remove rows, their term frequencies and the collection's statistics in one transaction."""
        gone = list(dict.fromkeys([*deletes, *(row.id for row in upserts)]))
        doc_freq: Counter[str] = Counter()
        passages, total_length = 0, 0
        with self.engine.begin() as conn:
            # One writer per collection at a time: the frequencies are read-modify-write.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(self.collection.encode())})
            delete = text(
                "DELETE FROM lexical_passages WHERE collection = :c AND id IN :ids "
                "RETURNING length, tsvector_to_array(terms)"
            ).bindparams(bindparam("ids", expanding=True))
            unpost = text("DELETE FROM lexical_postings WHERE collection = :c AND passage_id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            )
            for start in range(0, len(gone), 1000):
                conn.execute(unpost, {"c": self.collection, "ids": gone[start : start + 1000]})
                for length, lexemes in conn.execute(delete, {"c": self.collection, "ids": gone[start : start + 1000]}):
                    passages -= 1
                    total_length -= int(length)
                    doc_freq.subtract(lexemes)
            rows: list[dict[str, Any]] = []
            for row in upserts:
                passages += 1
                total_length += len(row.terms)
                doc_freq.update(set(row.terms))
                rows.append(
                    {
                        "c": self.collection,
                        "id": row.id,
                        "fp": row.fingerprint,
                        "aud": row.audience,
                        "loc": row.locator,
                        "base": base_locator(row.locator),
                        "doc": row.doc_id,
                        "len": len(row.terms),
                        "tsv": tsvector_literal(row.terms),
                    }
                )
            insert = text(
                "INSERT INTO lexical_passages (collection, id, fingerprint, audience, locator, base_locator, doc_id, "
                "length, terms) VALUES (:c, :id, :fp, :aud, :loc, :base, :doc, :len, CAST(:tsv AS tsvector))"
            )
            # Impacts only order a term's postings; the average length at this write is close enough for that.
            n_before, avg_before = self._stats(conn)
            avg = max((n_before * avg_before + total_length) / max(n_before + passages, 1), 1.0)
            for start in range(0, len(rows), 1000):
                chunk = rows[start : start + 1000]
                conn.execute(insert, chunk)
                conn.execute(_POSTINGS, {"c": self.collection, "avg": avg, "ids": [r["id"] for r in chunk]})
            changed = [(term, delta) for term, delta in doc_freq.items() if delta]
            for start in range(0, len(changed), 5000):
                batch = changed[start : start + 5000]
                conn.execute(
                    text(
                        "INSERT INTO lexical_terms (collection, term, doc_freq) "
                        "SELECT :c, t, d FROM unnest(CAST(:terms AS text[]), CAST(:deltas AS integer[])) AS u(t, d) "
                        "ON CONFLICT (collection, term) DO UPDATE SET doc_freq = lexical_terms.doc_freq + "
                        "excluded.doc_freq"
                    ),
                    {"c": self.collection, "terms": [t for t, _ in batch], "deltas": [d for _, d in batch]},
                )
            conn.execute(
                text("DELETE FROM lexical_terms WHERE collection = :c AND doc_freq <= 0"), {"c": self.collection}
            )
            conn.execute(
                text(
                    "INSERT INTO lexical_stats (collection, passages, total_length) VALUES (:c, :n, :l) "
                    "ON CONFLICT (collection) DO UPDATE SET passages = lexical_stats.passages + excluded.passages, "
                    "total_length = lexical_stats.total_length + excluded.total_length"
                ),
                {"c": self.collection, "n": passages, "l": total_length},
            )
        with self._lock:
            self._idf = {}

    def close(self) -> None:
        """Nothing to release: the engine belongs to the case store."""
