"""A BM25 lexical index kept beside the vector store, for hybrid search.

Per-term BM25 weights are computed when the index is built, so a query is a handful of vector
additions. The index is a snapshot of the Chroma collection; its signature (a hash over chunk ids and
content hashes) tells whether it is stale.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .textproc import tokens

_K1 = 1.2
_B = 0.75


def signature(entries: Iterable[tuple[str, str]]) -> str:
    """Stable fingerprint of (chunk id, content hash) pairs, order-independent."""
    digest = hashlib.sha256()
    for ident, content_hash in sorted(entries):
        digest.update(f"{ident}\x00{content_hash}\n".encode())
    return digest.hexdigest()


@dataclass
class LexicalIndex:
    """BM25 over chunk texts, with each chunk's audience for filtering."""

    signature: str
    ids: list[str]
    audiences: np.ndarray  # str per chunk
    vocab: dict[str, int]
    idf: np.ndarray
    offsets: np.ndarray  # postings of term t are [offsets[t], offsets[t+1])
    doc_idx: np.ndarray
    weights: np.ndarray

    @classmethod
    def build(cls, entries: Sequence[tuple[str, str, str]], sig: str) -> LexicalIndex:
        """Build from (id, text, audience) triples."""
        n = len(entries)
        counts = [Counter(tokens(text)) for _, text, _ in entries]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float32)
        avg = float(lengths.mean()) if n else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, counter in enumerate(counts):
            for term, tf in counter.items():
                postings.setdefault(term, []).append((i, tf))
        vocab = {term: t for t, term in enumerate(sorted(postings))}
        idf = np.zeros(len(vocab), dtype=np.float32)
        offsets = np.zeros(len(vocab) + 1, dtype=np.int64)
        all_idx: list[int] = []
        all_w: list[float] = []
        for term, t in vocab.items():
            plist = postings[term]
            df = len(plist)
            idf[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for i, tf in plist:
                norm = tf + _K1 * (1 - _B + _B * lengths[i] / max(avg, 1.0))
                all_idx.append(i)
                all_w.append(float(idf[t]) * tf * (_K1 + 1) / norm)
            offsets[t + 1] = len(all_idx)
        return cls(
            signature=sig,
            ids=[e[0] for e in entries],
            audiences=np.array([e[2] for e in entries], dtype=str),
            vocab=vocab,
            idf=idf,
            offsets=offsets,
            doc_idx=np.array(all_idx, dtype=np.int32),
            weights=np.array(all_w, dtype=np.float32),
        )

    def term_idf(self, term: str) -> float:
        """IDF of a (stemmed) term; unseen terms get the highest weight seen."""
        t = self.vocab.get(term)
        if t is None:
            return float(self.idf.max()) if len(self.idf) else 1.0
        return float(self.idf[t])

    def search(self, query: str, k: int, audiences: Sequence[str]) -> list[tuple[str, float]]:
        """Top-k (id, score) among chunks whose audience is allowed; only chunks sharing a term score."""
        if not self.ids or k <= 0:
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        touched = False
        for term in set(tokens(query)):
            t = self.vocab.get(term)
            if t is None:
                continue
            lo, hi = self.offsets[t], self.offsets[t + 1]
            scores[self.doc_idx[lo:hi]] += self.weights[lo:hi]
            touched = True
        if not touched:
            return []
        scores[~np.isin(self.audiences, list(audiences))] = 0.0
        k = min(k, int(np.count_nonzero(scores)))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]

    def save(self, path: Path) -> None:
        """Write atomically: a reader never sees a half-written index."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        terms = np.array(sorted(self.vocab, key=self.vocab.__getitem__), dtype=str)
        np.savez(
            tmp,
            signature=np.array([self.signature]),
            ids=np.array(self.ids, dtype=str),
            audiences=self.audiences,
            terms=terms,
            idf=self.idf,
            offsets=self.offsets,
            doc_idx=self.doc_idx,
            weights=self.weights,
        )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """The saved index, or None when absent or unreadable (it is then rebuilt)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                terms = data["terms"].tolist()
                return cls(
                    signature=str(data["signature"][0]),
                    ids=data["ids"].tolist(),
                    audiences=data["audiences"],
                    vocab={term: t for t, term in enumerate(terms)},
                    idf=data["idf"],
                    offsets=data["offsets"],
                    doc_idx=data["doc_idx"],
                    weights=data["weights"],
                )
        except (OSError, KeyError, ValueError):
            return None
