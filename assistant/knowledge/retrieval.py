"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank, filtered by audience."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..identity import INTERNAL_AUDIENCES
from .embeddings import Embedder
from .lexical import LexicalIndex, signature
from .store import VectorStore
from .textproc import tokens
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)
_RRF_K = 60


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the evidence for it."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float  # cosine to the question; 0.0 when not among the dense candidates
    lexical_score: float
    score: float  # final ranking score (similarity plus weighted lexical share)

    @property
    def locator(self) -> str:
        return str(self.metadata.get("locator", ""))

    @property
    def doc_id(self) -> str:
        return str(self.metadata.get("doc_id", ""))


@dataclass
class Retrieval:
    """The outcome of one retrieval."""

    passages: list[Passage]
    query_embedding: np.ndarray
    best_similarity: float
    best_lexical: float
    query_terms: list[str] = field(default_factory=list)


def _near_duplicate(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= 0.8


@dataclass(frozen=True)
class CachedChunk:
    """A chunk held in memory beside the lexical index: text, metadata and embedding."""

    text: str
    metadata: dict[str, Any]
    vector: np.ndarray


class LexicalCache:
    """Keeps the lexical index, and an in-memory table of the chunks, in step with the vector store.

    Chroma answers the nearest-neighbour query with ids and distances only; texts, metadata and the
    embeddings of lexical-only candidates come from this table, which saves a round trip per question.
    """

    def __init__(self, store: VectorStore, path: Path) -> None:
        self.store = store
        self.path = path
        self._index: LexicalIndex | None = None
        self.chunks: dict[str, CachedChunk] = {}
        self._mtime = 0.0
        self._lock = threading.Lock()

    def refresh(self, force: bool = False) -> LexicalIndex:
        """Rebuild from the store when the saved index is missing or stale; save it atomically."""
        with self._lock:
            rows = self.store.scan(with_text=True, with_embeddings=True)
            chunks = [chunk for chunk, _ in rows]
            self.chunks = {c.id: CachedChunk(c.text, c.metadata, v) for c, v in rows}
            sig = signature((c.id, str(c.metadata.get("content_hash", ""))) for c in chunks)
            saved = None if force else LexicalIndex.load(self.path)
            if saved is not None and saved.signature == sig:
                self._index = saved
            else:
                entries = [
                    (c.id, _lexical_text(c.text, c.metadata), str(c.metadata.get("audience", "internal")))
                    for c in chunks
                ]
                self._index = LexicalIndex.build(entries, sig)
                self._index.save(self.path)
            self._mtime = self._file_mtime()
            return self._index

    def get(self) -> LexicalIndex:
        """The current index; reloads when another process (an ingest) replaced the file."""
        index = self._index
        if index is None:
            return self.refresh()
        mtime = self._file_mtime()
        if mtime and mtime != self._mtime:
            return self.refresh()
        return index

    def _file_mtime(self) -> float:
        try:
            return os.stat(self.path).st_mtime
        except OSError:
            return 0.0


def _lexical_text(text: str, metadata: dict[str, Any]) -> str:
    return f"{metadata.get('locator', '')} {metadata.get('title', '')} {metadata.get('heading_path', '')}\n{text}"


class Retriever:
    """Finds the passages that best answer a question, within the audiences a user may read."""

    def __init__(
        self,
        store: VectorStore,
        lexical: LexicalCache,
        embedder: Embedder,
        dense_k: int = 30,
        lexical_k: int = 30,
        lexical_weight: float = 0.35,
        candidates: int = 40,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.dense_k = dense_k
        self.lexical_k = lexical_k
        self.lexical_weight = lexical_weight
        self.candidates = candidates
        self.vocabulary = vocabulary or Vocabulary()

    def _dense(self, qvec: np.ndarray, allowed: set[str], table: dict[str, CachedChunk]) -> list[tuple[str, float]]:
        """Nearest neighbours within the allowed audiences.

        Staff read everything, so their query needs no filter. For partners, Chroma's metadata filter is
        slow on large collections, so we first over-fetch ids without it and keep the allowed ones (only ids
        and audiences are looked at; no text of another audience is read); when too few remain, the
        filtered query runs.
        """
        if allowed >= set(INTERNAL_AUDIENCES):
            return self.store.nearest(qvec, self.dense_k, None)
        wide = self.store.nearest(qvec, self.dense_k * 3, None)
        kept = [(i, sim) for i, sim in wide if i in table and table[i].metadata.get("audience") in allowed]
        if len(kept) >= self.dense_k:
            return kept[: self.dense_k]
        return self.store.nearest(qvec, self.dense_k, sorted(allowed))

    def retrieve(
        self, question: str, audiences: Sequence[str], k: int = 8, query_embedding: np.ndarray | None = None
    ) -> Retrieval:
        """Top-k passages after fusion and near-duplicate removal; never a chunk outside `audiences`."""
        allowed = set(audiences)
        qvec = self.embedder.embed_query(question) if query_embedding is None else query_embedding
        # Everyday words also search for the guidance's words for them ("cut off" -> "end the relationship"),
        # by words and by meaning: the question's vector is then the vector of the question with them.
        expansion = self.vocabulary.expansion(question)
        searched = f"{question} {expansion}" if expansion else question
        if expansion:
            qvec = self.embedder.embed_query(f"{question} ({expansion})")
        lexical_index = self.lexical.get()
        table = self.lexical.chunks
        # Staff read every audience, so their query needs no filter; partners are filtered inside Chroma.
        dense = self._dense(qvec, allowed, table)
        lexical = lexical_index.search(searched, self.lexical_k, sorted(allowed))

        # Stage 1: reciprocal-rank fusion gathers candidates that either view ranks well.
        fused: dict[str, float] = {}
        for rank, (ident, _) in enumerate(dense):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        for rank, (ident, _) in enumerate(lexical):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        lex_score = dict(lexical)
        candidates = sorted(fused, key=lambda i: -fused[i])[: self.candidates]
        missing = [i for i in candidates if i not in table]
        fetched = self.store.fetch(missing) if missing else {}  # written by another process since our snapshot

        # Stage 2: order candidates by meaning plus a share of their (normalised) lexical score; on the
        # team's question set this puts the right clause first more often than rank fusion alone.
        top_lex = max(lex_score.values(), default=0.0) or 1.0
        scored: list[tuple[float, str, str, dict[str, Any], float]] = []
        for ident in candidates:
            if ident in table:
                cached = table[ident]
                text, meta, vector = cached.text, cached.metadata, cached.vector
            elif ident in fetched:
                stored, vector = fetched[ident]
                text, meta = stored.text, stored.metadata
            else:
                continue  # in the lexical snapshot but gone from the store
            # Defence in depth: the store already filtered, but a stale snapshot must never leak.
            if meta.get("audience") not in allowed:
                continue
            sim = float(np.dot(vector, qvec))
            final = sim + self.lexical_weight * lex_score.get(ident, 0.0) / top_lex
            scored.append((final, ident, text, meta, sim))
        scored.sort(key=lambda row: -row[0])

        passages: list[Passage] = []
        kept_words: list[set[str]] = []
        for final, ident, text, meta, sim in scored:
            if len(passages) >= k:
                break
            words = set(text.lower().split())
            if any(_near_duplicate(words, other) for other in kept_words):
                continue
            kept_words.append(words)
            passages.append(
                Passage(
                    id=ident,
                    text=text,
                    metadata=meta,
                    similarity=sim,
                    lexical_score=lex_score.get(ident, 0.0),
                    score=final,
                )
            )
        return Retrieval(
            passages=passages,
            query_embedding=qvec,
            best_similarity=max((sim for _, sim in dense), default=0.0),
            best_lexical=max((s for _, s in lexical), default=0.0),
            query_terms=tokens(question),
        )
