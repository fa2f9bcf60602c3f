"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank, filtered by audience.

Nothing here holds the corpus: Chroma returns the dense neighbours with their texts and metadata, the
lexical index answers from its file or server, and passages found only lexically are fetched by id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..identity import INTERNAL_AUDIENCES
from .embeddings import Embedder
from .lexical import LexicalIndex
from .store import StoredChunk, VectorStore
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


class Retriever:
    """Finds the passages that best answer a question, within the audiences a user may read."""

    def __init__(
        self,
        store: VectorStore,
        lexical: LexicalIndex,
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

    def _dense(self, qvec: np.ndarray, allowed: set[str]) -> tuple[list[tuple[str, float]], dict[str, StoredChunk]]:
        """Nearest neighbours within the allowed audiences: (id, similarity) in order, and the chunks read.

        Staff read everything: one unfiltered query returns the neighbours with their texts. For partners,
        Chroma's metadata filter is slow on large collections (217 ms p95 at 100,000 chunks), so we first
        over-fetch ids and distances without it and keep the ids whose audience the lexical index records
        as allowed: no text or metadata of another audience is asked for. Their texts are then fetched by id.
        When too few remain, the filtered query runs.
        """
        if allowed >= set(INTERNAL_AUDIENCES):
            found = self.store.nearest(qvec, self.dense_k, None)
            return [(n.chunk.id, n.similarity) for n in found], {n.chunk.id: n.chunk for n in found}
        wide = self.store.nearest_ids(qvec, self.dense_k * 3)
        audience_of = self.lexical.audiences([ident for ident, _ in wide])
        kept = [(ident, sim) for ident, sim in wide if audience_of.get(ident) in allowed]
        if len(kept) >= self.dense_k:
            return kept[: self.dense_k], {}
        found = self.store.nearest(qvec, self.dense_k, sorted(allowed))
        return [(n.chunk.id, n.similarity) for n in found], {n.chunk.id: n.chunk for n in found}

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
        dense, read = self._dense(qvec, allowed)
        lexical = self.lexical.search(searched, self.lexical_k, sorted(allowed))

        # Stage 1: reciprocal-rank fusion gathers candidates that either view ranks well.
        fused: dict[str, float] = {}
        for rank, (ident, _) in enumerate(dense):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        for rank, (ident, _) in enumerate(lexical):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        lex_score = dict(lexical)
        dense_sim = dict(dense)
        candidates = sorted(fused, key=lambda i: -fused[i])[: self.candidates]
        # Candidates not read yet come from the store by id in one call. Every id here already passed an
        # audience filter (the lexical query's, or the lexical index's record for a dense neighbour), so
        # Chroma's `where` is not repeated: on a get by ids it scans the whole collection (1 s at 100,000).
        unread = [i for i in candidates if i not in read]
        fetched = self.store.fetch(unread, vectors=any(i not in dense_sim for i in unread))

        # Stage 2: order candidates by meaning plus a share of their (normalised) lexical score; on the
        # team's question set this puts the right clause first more often than rank fusion alone.
        top_lex = max(lex_score.values(), default=0.0) or 1.0
        scored: list[tuple[float, str, str, dict[str, Any], float]] = []
        for ident in candidates:
            vector: np.ndarray | None = None
            if ident in read:
                stored = read[ident]
            elif ident in fetched:
                stored, vector = fetched[ident]
            else:
                continue  # in the lexical index but gone from the store (an ingest under way)
            # A passage found only lexically gets its similarity from its stored embedding.
            lexical_only = ident not in dense_sim and vector is not None
            sim = float(np.dot(vector, qvec)) if lexical_only and vector is not None else dense_sim.get(ident, 0.0)
            text, meta = stored.text, stored.metadata
            # Defence in depth: both sides filter in their query, but the store is the record of audiences.
            if meta.get("audience") not in allowed:
                continue
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
