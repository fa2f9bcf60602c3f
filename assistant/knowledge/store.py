"""The vector store: a Chroma collection, embedded (PersistentClient) or on a Chroma server.

We always pass our own embeddings, so Chroma's default embedding function (which would download a
model) is never used, and telemetry is switched off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ..config import Settings
from ..errors import ConfigError, IndexUnavailable

log = logging.getLogger(__name__)
_BATCH = 500


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the store."""

    id: str
    text: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class DenseHit:
    """A nearest-neighbour result with its cosine similarity to the query."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


def _client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"ASSISTANT_CHROMA_URL: '{settings.chroma_url}' is not an http(s) URL")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:
            raise IndexUnavailable(f"cannot reach the Chroma server at {settings.chroma_url}: {exc}") from exc
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


class VectorStore:
    """Our access to the Chroma collection that holds the guidance chunks."""

    def __init__(self, settings: Settings) -> None:
        self._client = _client(settings)
        self._collection = self._client.get_or_create_collection(
            settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": 100}},
        )

    def count(self) -> int:
        return int(self._collection.count())

    def all_chunks(self, with_text: bool = True) -> list[StoredChunk]:
        """Every chunk in the collection (text optional), read in pages."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        out: list[StoredChunk] = []
        total = self.count()
        for offset in range(0, total, 5000):
            page = self._collection.get(include=include, limit=5000, offset=offset)
            docs = page.get("documents") or [""] * len(page["ids"])
            for ident, meta, doc in zip(page["ids"], page["metadatas"] or [], docs, strict=True):
                out.append(StoredChunk(id=ident, text=doc or "", metadata=dict(meta or {})))
        return out

    def upsert(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]],
               embeddings: np.ndarray) -> None:
        for start in range(0, len(ids), _BATCH):
            end = start + _BATCH
            self._collection.upsert(
                ids=list(ids[start:end]),
                documents=list(texts[start:end]),
                metadatas=list(metadatas[start:end]),
                embeddings=embeddings[start:end],
            )

    def delete(self, ids: Iterable[str]) -> None:
        batch = list(ids)
        for start in range(0, len(batch), _BATCH):
            self._collection.delete(ids=batch[start : start + _BATCH])

    def query(self, embedding: np.ndarray, k: int, audiences: Sequence[str]) -> list[DenseHit]:
        """The k nearest chunks among those whose audience is in `audiences` (filtered inside Chroma)."""
        if k <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[embedding],
            n_results=k,
            where={"audience": {"$in": list(audiences)}},
            include=["documents", "metadatas", "distances"],
        )
        hits: list[DenseHit] = []
        for ident, doc, meta, dist in zip(
            result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0], strict=True
        ):
            hits.append(DenseHit(id=ident, text=doc or "", metadata=dict(meta or {}), similarity=1.0 - float(dist)))
        return hits

    def fetch(self, ids: Sequence[str]) -> dict[str, tuple[StoredChunk, np.ndarray]]:
        """Chunks and their stored embeddings by id."""
        if not ids:
            return {}
        got = self._collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        out: dict[str, tuple[StoredChunk, np.ndarray]] = {}
        for ident, doc, meta, emb in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"],
                                         strict=True):
            out[ident] = (StoredChunk(id=ident, text=doc or "", metadata=dict(meta or {})),
                          np.asarray(emb, dtype=np.float32))
        return out

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Rewrite metadata only (the text and its embedding are unchanged)."""
        for start in range(0, len(ids), _BATCH):
            self._collection.update(ids=list(ids[start : start + _BATCH]),
                                    metadatas=list(metadatas[start : start + _BATCH]))
