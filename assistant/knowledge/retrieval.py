"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused by reciprocal rank, filtered by audience.

Nothing here holds the corpus: Chroma returns the dense neighbours with their texts and metadata, the
lexical index answers from its file or server, and passages found only lexically are fetched by id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
_READ_AHEAD = 4
"""Passages read beyond k in one call, so a near-duplicate or two rarely costs a second call."""
# The lexical query needs no vector, so it runs while the question is embedded and Chroma is asked: SQLite
# and PostgreSQL, like the model, do their work outside the interpreter lock.
_LEXICAL_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lexical")


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
            return self.store.nearest_ids(qvec, self.dense_k), {}
        wide = self.store.nearest_ids(qvec, self.dense_k * 3)
        audience_of = self.lexical.audiences([ident for ident, _ in wide])
        kept = [(ident, sim) for ident, sim in wide if audience_of.get(ident) in allowed]
        if len(kept) >= self.dense_k:
            return kept[: self.dense_k], {}
        found = self.store.nearest(qvec, self.dense_k, sorted(allowed))
        return [(n.chunk.id, n.similarity) for n in found], {n.chunk.id: n.chunk for n in found}

    def query_text(self, question: str) -> str:
        """The text the dense search embeds for `question`: the question with the guidance's words for its
        everyday words ("cut off" -> "end the relationship"), when the vocabulary has any."""
        expansion = self.vocabulary.expansion(question)
        return f"{question} ({expansion})" if expansion else question

    def start_lexical(self, question: str, audiences: Sequence[str]) -> Future[list[tuple[str, float]]]:
        """Start the lexical half of `retrieve` for this question in the background; hand the result to
        `retrieve(..., lexical=...)`. Callers start it before they embed, so the two overlap."""
        # Everyday words also search for the guidance's words for them, by words and by meaning.
        expansion = self.vocabulary.expansion(question)
        searched = f"{question} {expansion}" if expansion else question
        return _LEXICAL_POOL.submit(self.lexical.search, searched, self.lexical_k, sorted(set(audiences)))

    def retrieve(
        self,
        question: str,
        audiences: Sequence[str],
        k: int = 8,
        query_embedding: np.ndarray | None = None,
        lexical: Future[list[tuple[str, float]]] | None = None,
    ) -> Retrieval:
        """Top-k passages after fusion and near-duplicate removal; never a chunk outside `audiences`.

        `query_embedding`, when given, is the vector of `query_text(question)` (callers embed it in one
        batch with their other texts); `lexical`, when given, is `start_lexical` for the same question
        and audiences.
        """
        allowed = set(audiences)
        pending = lexical if lexical is not None else self.start_lexical(question, audiences)
        qvec = self.embedder.embed_query(self.query_text(question)) if query_embedding is None else query_embedding
        dense, read = self._dense(qvec, allowed)
        lexical_hits = pending.result()

        # Stage 1: reciprocal-rank fusion gathers candidates that either view ranks well.
        fused: dict[str, float] = {}
        for rank, (ident, _) in enumerate(dense):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        for rank, (ident, _) in enumerate(lexical_hits):
            fused[ident] = fused.get(ident, 0.0) + 1.0 / (_RRF_K + rank + 1)
        lex_score = dict(lexical_hits)
        dense_sim = dict(dense)
        candidates = sorted(fused, key=lambda i: -fused[i])[: self.candidates]

        # Stage 2: order candidates by meaning plus a share of their (normalised) lexical score; on the
        # team's question set this puts the right clause first more often than rank fusion alone. Scoring
        # needs no text: a passage found only lexically gets its similarity from its stored vector, asked
        # for by id (vectors only: Chroma reads metadata row by row, the largest cost of a get).
        vectors = self.store.vectors([i for i in candidates if i not in dense_sim])
        top_lex = max(lex_score.values(), default=0.0) or 1.0
        ranked: list[tuple[float, str, float]] = []
        for ident in candidates:
            if ident in dense_sim:
                sim = dense_sim[ident]
            elif ident in vectors:
                sim = float(np.dot(vectors[ident], qvec))
            else:
                continue  # in the lexical index but gone from the store (an ingest under way)
            ranked.append((sim + self.lexical_weight * lex_score.get(ident, 0.0) / top_lex, ident, sim))
        ranked.sort(key=lambda row: -row[0])

        # Stage 3: read the best passages, a few more than k at a time, and drop near-duplicates. Every id
        # here already passed an audience filter (the lexical query's, or the lexical index's record for a
        # dense neighbour), so Chroma's `where` is not repeated: on a get by ids it scans the whole
        # collection (1 s at 100,000).
        passages: list[Passage] = []
        kept_words: list[set[str]] = []
        position = 0
        while len(passages) < k and position < len(ranked):
            batch = ranked[position : position + k + _READ_AHEAD]
            position += len(batch)
            fetched = self.store.fetch([i for _, i, _ in batch if i not in read], vectors=False)
            for final, ident, sim in batch:
                stored = read.get(ident) or (fetched[ident][0] if ident in fetched else None)
                if stored is None or len(passages) >= k:
                    continue
                # Defence in depth: both sides filter in their query, but the store is the record of audiences.
                if stored.metadata.get("audience") not in allowed:
                    continue
                words = set(stored.text.lower().split())
                if any(_near_duplicate(words, other) for other in kept_words):
                    continue
                kept_words.append(words)
                passages.append(
                    Passage(
                        id=ident,
                        text=stored.text,
                        metadata=stored.metadata,
                        similarity=sim,
                        lexical_score=lex_score.get(ident, 0.0),
                        score=final,
                    )
                )
        return Retrieval(
            passages=passages,
            query_embedding=qvec,
            best_similarity=max((sim for _, sim in dense), default=0.0),
            best_lexical=max((s for _, s in lexical_hits), default=0.0),
            query_terms=tokens(question),
        )
