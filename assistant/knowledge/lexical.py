"""The lexical (BM25) side of hybrid search: an index that lives on disk or on a server, never in a process.

Two back-ends answer the same `LexicalIndex` protocol: SQLite FTS5 in a file under ASSISTANT_HOME (the
default; every process on the host shares it through the page cache) and PostgreSQL full-text search in the
case database (every replica reads one index). Both index the *stemmed* token string of each passage
(`textproc.tokens`), so a query matches exactly the terms the in-memory BM25 used to match, and both apply
the audience filter inside the query.

The index follows the vector store, which stays the record: `sync` compares the (id, fingerprint) pairs of
the two and rewrites only what differs, in one transaction. An ingest cut short leaves the old lexical index
readable (its hits are fetched from the store by id, so a passage gone from the store is simply skipped),
and the next ingest's sync finishes the job.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .store import VectorStore
from .textproc import tokens

log = logging.getLogger(__name__)

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class LexicalRow:
    """What the lexical index holds of one passage: its terms, and what filters and locates it."""

    id: str
    fingerprint: str
    audience: str
    locator: str
    doc_id: str
    terms: list[str]


def lexical_text(text: str, metadata: dict[str, Any]) -> str:
    """The text a passage is found by: its locator, title and heading path, then its words."""
    return f"{metadata.get('locator', '')} {metadata.get('title', '')} {metadata.get('heading_path', '')}\n{text}"


def fingerprint(metadata: dict[str, Any]) -> str:
    """Changes whenever the passage's lexical row would: its content, audience, locator, title or headings.

    The audience is part of it so that re-labelling a document (a metadata-only update in the store) also
    re-labels its lexical rows: a stale audience there would let a partner's query reach the row.
    """
    parts = [
        str(metadata.get(key, "")) for key in ("content_hash", "audience", "locator", "title", "heading_path", "doc_id")
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:24]


def row_of(ident: str, text: str, metadata: dict[str, Any]) -> LexicalRow:
    """The lexical row of a stored passage."""
    return LexicalRow(
        id=ident,
        fingerprint=fingerprint(metadata),
        audience=str(metadata.get("audience", "internal")),
        locator=str(metadata.get("locator", "")),
        doc_id=str(metadata.get("doc_id", "")),
        terms=tokens(lexical_text(text, metadata)),
    )


def bm25_idf(n_docs: int, doc_freq: int) -> float:
    """BM25's inverse document frequency (the always-positive variant the in-memory index used)."""
    return math.log(1 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def query_terms(question: str) -> list[str]:
    """The distinct stemmed terms of a question, in order of first appearance."""
    return list(dict.fromkeys(tokens(question)))


CANDIDATE_BUDGET = 5000
"""Passages a lexical query may score in full. Terms drive the full-text match rarest first while their
passages fit this budget (the rarest always drives): a term found in most passages adds little to BM25 (its
IDF is near zero) but would make every query score the whole collection. On the shipped corpus every term
fits, so the ranking is exactly BM25; on millions of passages, candidates found only by very common terms
are left out."""


def driver_terms(doc_freq: dict[str, int], budget: int = CANDIDATE_BUDGET) -> list[str]:
    """The query terms that drive candidate search: rarest first, while their passages fit the budget."""
    drivers: list[str] = []
    spent = 0
    for term in sorted((t for t in doc_freq if doc_freq[t] > 0), key=lambda t: (doc_freq[t], t)):
        if drivers and spent + doc_freq[term] > budget:
            break
        drivers.append(term)
        spent += doc_freq[term]
    return drivers


class LexicalIndex(Protocol):
    """A lexical index shared by every process that reads it."""

    def search(self, question: str, k: int, audiences: Sequence[str]) -> list[tuple[str, float]]:
        """Top-k (id, score) among passages of the allowed audiences that share a term with the question."""
        ...

    def term_idf(self, term: str) -> float:
        """IDF of a stemmed term; unseen terms get the weight of a term seen once."""
        ...

    def audiences(self, ids: Sequence[str]) -> dict[str, str]:
        """The audience of each indexed id (ids not indexed are absent); reads nothing else of the rows."""
        ...

    def locator_ids(self, locators: Sequence[str], audiences: Sequence[str]) -> list[str]:
        """Ids of the passages with one of these locators, only among `audiences` (filtered in the query)."""
        ...

    def doc_of_locator(self, locator: str) -> str | None:
        """The document a locator belongs to (a locator with a page suffix matches its base too)."""
        ...

    def fingerprints(self) -> dict[str, str]:
        """Every indexed id with its fingerprint (read by `sync`, in the writing process only)."""
        ...

    def apply(self, upserts: Sequence[LexicalRow], deletes: Sequence[str]) -> None:
        """Write rows and remove ids in one transaction: readers see all of it or none of it."""
        ...

    def count(self) -> int:
        """How many passages are indexed."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_FETCH_BATCH = 2000


def sync(store: VectorStore, index: LexicalIndex) -> tuple[int, int]:
    """Bring the lexical index in step with the store; returns (rows written, rows removed).

    Only the store's metadata is scanned; texts are fetched for the passages whose fingerprint differs.
    """
    wanted: dict[str, str] = {}
    for chunk in store.all_chunks(with_text=False):
        wanted[chunk.id] = fingerprint(chunk.metadata)
    have = index.fingerprints()
    stale = [ident for ident in have if ident not in wanted]
    changed = [ident for ident, fp in wanted.items() if have.get(ident) != fp]
    rows: list[LexicalRow] = []
    for start in range(0, len(changed), _FETCH_BATCH):
        for ident, (chunk, _vector) in store.fetch(changed[start : start + _FETCH_BATCH], vectors=False).items():
            rows.append(row_of(ident, chunk.text, chunk.metadata))
    if rows or stale:
        index.apply(rows, stale)
        log.info("lexical index synced", extra={"written": len(rows), "removed": len(stale)})
    return len(rows), len(stale)
