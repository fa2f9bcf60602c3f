"""Sentence vectors of passages, for choosing the sentences that answer a question by meaning.

Computed on first use and kept in a cache of fixed size (least recently used passages leave first), so a
reading process holds vectors for the passages it has recently quoted from, never for the whole corpus.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_CAPACITY = 4096


class SentenceVectors:
    """Embeds the sentences of a passage once and remembers them for the next question."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], capacity: int = DEFAULT_CAPACITY) -> None:
        self._embed = embed
        self._capacity = capacity
        self._cache: OrderedDict[tuple[str, tuple[tuple[int, int], ...]], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, passage_id: str, text: str, spans: Sequence[tuple[int, int]]) -> np.ndarray:
        """Unit vectors of text[start:end] for each span, shape (len(spans), dim)."""
        key = (passage_id, tuple(spans))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        vectors = self._embed([text[start:end] for start, end in spans])
        with self._lock:
            self._cache[key] = vectors
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return vectors

    def warm(self, items: Sequence[tuple[str, str, Sequence[tuple[int, int]]]]) -> None:
        """Embed the sentences of many passages in one batch (those not cached yet)."""
        with self._lock:
            todo = [(pid, text, tuple(spans)) for pid, text, spans in items if (pid, tuple(spans)) not in self._cache]
        if not todo:
            return
        flat = [text[s:e] for _, text, spans in todo for s, e in spans]
        vectors = self._embed(flat)
        offset = 0
        with self._lock:
            for pid, _, spans in todo:
                self._cache[(pid, spans)] = vectors[offset : offset + len(spans)]
                offset += len(spans)
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
