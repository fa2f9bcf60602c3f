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
class Neighbour:
    """A chunk returned by a nearest-neighbour query, with its cosine similarity to the query."""

    chunk: StoredChunk
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

    def drop(self) -> None:
        """Delete the whole collection (benchmarks clean up their temporary ones on a server)."""
        self._client.delete_collection(self._collection.name)

    def count(self) -> int:
        return int(self._collection.count())

    def all_chunks(self, with_text: bool = True) -> list[StoredChunk]:
        """Every chunk in the collection (text optional), read in pages."""
        return [chunk for chunk, _ in self.scan(with_text=with_text, with_embeddings=False)]

    def scan(self, with_text: bool = True, with_embeddings: bool = False) -> list[tuple[StoredChunk, Any]]:
        """Every chunk with (optionally) its embedding, read in pages."""
        include = ["metadatas"] + (["documents"] if with_text else []) + (["embeddings"] if with_embeddings else [])
        out: list[tuple[StoredChunk, Any]] = []
        total = self.count()
        for offset in range(0, total, 5000):
            page = self._collection.get(include=include, limit=5000, offset=offset)
            n = len(page["ids"])
            docs = page.get("documents") if with_text else None
            embs = page.get("embeddings") if with_embeddings else None
            for i in range(n):
                chunk = StoredChunk(
                    id=page["ids"][i],
                    text=(docs[i] if docs is not None else "") or "",
                    metadata=dict((page["metadatas"] or [{}] * n)[i] or {}),
                )
                out.append((chunk, np.asarray(embs[i], dtype=np.float32) if embs is not None else None))
        return out

    def upsert(
        self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]], embeddings: np.ndarray
    ) -> None:
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

    def nearest(self, embedding: np.ndarray, k: int, audiences: Sequence[str] | None) -> list[Neighbour]:
        """The k nearest chunks with their text, metadata and cosine similarity, in one call.

        `audiences` None means no filter; otherwise the filter is Chroma's `where`, so no chunk of another
        audience is read.
        """
        if k <= 0:
            return []
        where = None if audiences is None else {"audience": {"$in": list(audiences)}}
        result = self._collection.query(
            query_embeddings=[embedding],
            n_results=k,
            where=where,
            include=["distances", "documents", "metadatas"],
        )
        docs = result["documents"][0] if result.get("documents") else [""] * len(result["ids"][0])
        metas = result["metadatas"][0] if result.get("metadatas") else [{}] * len(result["ids"][0])
        return [
            Neighbour(StoredChunk(ident, doc or "", dict(meta or {})), 1.0 - float(dist))
            for ident, dist, doc, meta in zip(result["ids"][0], result["distances"][0], docs, metas, strict=True)
        ]

    def nearest_ids(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the k nearest chunks, unfiltered: ids and distances only, no row read."""
        if k <= 0:
            return []
        result = self._collection.query(query_embeddings=[embedding], n_results=k, include=["distances"])
        return [
            (ident, 1.0 - float(dist)) for ident, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored unit vectors by id (no text or metadata read); unknown ids are absent."""
        if not ids:
            return {}
        got = self._collection.get(ids=list(ids), include=["embeddings"])
        embs = got.get("embeddings")
        if embs is None:
            return {}
        return {ident: np.asarray(embs[i], dtype=np.float32) for i, ident in enumerate(got["ids"])}

    def fetch(
        self, ids: Sequence[str], vectors: bool = True, audiences: Sequence[str] | None = None
    ) -> dict[str, tuple[StoredChunk, np.ndarray | None]]:
        """Chunks (and, unless `vectors` is False, their stored embeddings) by id; unknown ids are absent.

        With `audiences`, Chroma also filters by audience: a chunk of another audience is never read."""
        if not ids:
            return {}
        include = ["documents", "metadatas"] + (["embeddings"] if vectors else [])
        where = None if audiences is None else {"audience": {"$in": list(audiences)}}
        got = self._collection.get(ids=list(ids), where=where, include=include)
        embs = got.get("embeddings") if vectors else None
        out: dict[str, tuple[StoredChunk, np.ndarray | None]] = {}
        for i, (ident, doc, meta) in enumerate(zip(got["ids"], got["documents"], got["metadatas"], strict=True)):
            vector = np.asarray(embs[i], dtype=np.float32) if embs is not None else None
            out[ident] = (StoredChunk(id=ident, text=doc or "", metadata=dict(meta or {})), vector)
        return out

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        """Rewrite metadata only (the text and its embedding are unchanged)."""
        for start in range(0, len(ids), _BATCH):
            self._collection.update(
                ids=list(ids[start : start + _BATCH]), metadatas=list(metadatas[start : start + _BATCH])
            )
