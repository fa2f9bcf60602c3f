"""The LangChain baseline every evaluation figure is compared with.

Plain dense retrieval: a `langchain_chroma.Chroma` store over the same chunks, in its own temporary
collection, queried with `similarity_search` (top-k by cosine, filtered to the reader's audiences);
the "answer" is the opening sentences of the top passages, quoted verbatim with [n] markers. No
lexical search, no re-ranking, no refusal, no triage: what a team gets from the LangChain quickstart.

Documents are embedded with the vectors our index already holds for those exact chunks (so building
the baseline costs no model time and both systems see the same embeddings); anything else is
embedded by the same model through the product's LangChain `Embeddings` (`GuidanceEmbeddings`).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np
from langchain_core.documents import Document

from ..answers.models import Answer, Citation
from ..identity import INTERNAL_AUDIENCES
from ..knowledge.embeddings import Embedder
from ..knowledge.langchain_adapters import GuidanceEmbeddings
from ..knowledge.store import StoredChunk
from ..knowledge.textproc import sentence_spans

QUOTE_PASSAGES = 3
_QUOTE_CHARS = 300


class PrecomputedEmbeddings(GuidanceEmbeddings):
    """The product's LangChain `Embeddings`, reusing vectors already computed for the same texts.

    `known` maps document texts to their stored vectors; `queries` maps query texts to query vectors
    (the evaluation embeds each question once and shares the vector between both systems).
    """

    def __init__(
        self,
        embedder: Embedder,
        known: Mapping[str, np.ndarray] | None = None,
        queries: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(embedder)
        self.known = dict(known or {})
        self.queries = dict(queries or {})

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of many texts: stored ones where the text is a known chunk, the model's otherwise."""
        unknown = [t for t in texts if t not in self.known]
        fresh = dict(zip(unknown, super().embed_documents(unknown), strict=True)) if unknown else {}
        return [np.asarray(self.known[t], dtype=np.float32).tolist() if t in self.known else fresh[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """The query vector, from the same model."""
        vector = self.queries.get(text)
        return super().embed_query(text) if vector is None else vector.tolist()


def opening_quote(text: str, limit: int = _QUOTE_CHARS) -> str:
    """The first sentences of a passage, verbatim, up to about `limit` characters (at least one)."""
    spans = list(sentence_spans(text))
    if not spans:
        return text.strip()
    start, end = spans[0]
    for _start, e in spans[1:]:
        if e - start > limit:
            break
        end = e
    return text[start:end]


class LangChainBaseline:
    """Dense top-k over a temporary LangChain Chroma collection; use as a context manager."""

    def __init__(
        self,
        chunks: Sequence[tuple[StoredChunk, Any]],
        embedder: Embedder,
        k: int = 10,
        queries: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self.k = k
        self._tmp = tempfile.TemporaryDirectory(prefix="assistant-baseline-")
        client = chromadb.PersistentClient(
            path=self._tmp.name, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        )
        # The baseline copies the corpus into its own collection: an evaluation tool, not a reading process.
        ids = [chunk.id for chunk, _ in chunks]
        texts = [chunk.text for chunk, _ in chunks]
        self.adapter = PrecomputedEmbeddings(embedder, {chunk.text: vector for chunk, vector in chunks}, queries)
        self.store = Chroma(
            collection_name=f"baseline-{uuid.uuid4().hex[:8]}",
            embedding_function=self.adapter,
            client=client,
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        metadatas = [_flat(chunk.metadata) for chunk, _ in chunks]
        for start in range(0, len(ids), 1000):
            self.store.add_texts(
                texts[start : start + 1000], metadatas=metadatas[start : start + 1000], ids=ids[start : start + 1000]
            )

    def __enter__(self) -> LangChainBaseline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Drop the temporary collection and its directory."""
        try:
            self.store.delete_collection()
        finally:
            self._tmp.cleanup()

    def search(self, question: str, audiences: Sequence[str], k: int | None = None) -> list[Document]:
        """Top-k documents by dense similarity, only among the audiences given."""
        where: dict[str, Any] | None = None
        if not set(audiences) >= set(INTERNAL_AUDIENCES):
            where = {"audience": {"$in": list(audiences)}}
        return self.store.similarity_search(question, k=k or self.k, filter=where)

    def answer(self, question: str, audiences: Sequence[str], docs: Sequence[Document] | None = None) -> Answer:
        """Top passages quoted verbatim with [n] markers; the baseline never refuses."""
        started = time.perf_counter()
        found = list(docs) if docs is not None else self.search(question, audiences)
        citations: list[Citation] = []
        lines: list[str] = []
        for n, doc in enumerate(found[:QUOTE_PASSAGES], 1):
            quote = opening_quote(doc.page_content)
            meta = doc.metadata
            citations.append(
                Citation(
                    n=n,
                    doc_id=str(meta.get("doc_id", "")),
                    title=str(meta.get("title", "")),
                    locator=str(meta.get("locator", "")),
                    source_type=str(meta.get("source_type", "")),
                    audience=str(meta.get("audience", "")),
                    url=str(meta.get("url", "")),
                    quote=quote,
                    chunk_id=str(doc.id or ""),
                )
            )
            lines.append(f"{' '.join(quote.split())} [{n}]")
        return Answer(
            question=question,
            answer="\n".join(lines),
            refused=False,
            citations=citations,
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
            generator="langchain-baseline",
        )


def _flat(metadata: Mapping[str, Any]) -> dict[str, Any]:
    # Chroma metadata values must be scalars.
    return {k: v for k, v in metadata.items() if isinstance(v, str | int | float | bool)}
