"""`assistant bench --scale`: query latency and memory over a synthetic index of 100,000 passages.

The index is real (a temporary embedded Chroma collection plus our BM25 lexical index, queried through
the service's Retriever); only its content is synthetic: random unit vectors, and texts drawn from the
shipped corpus's own vocabulary with a Zipf-like frequency, so lexical postings have a realistic shape.
Random vectors are the hard case for HNSW (no clusters to exploit), so dense figures are pessimistic.
"""

from __future__ import annotations

import re
import resource
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from ..config import Settings
from ..identity import INTERNAL_AUDIENCES, PARTNER_AUDIENCES
from ..knowledge.embeddings import Embedder
from ..knowledge.retrieval import LexicalCache, Retriever
from ..knowledge.store import VectorStore
from .figures import Figure
from .metrics import load_jsonl, percentile

SCALE_CHUNKS = 100_000
_WORDS_PER_CHUNK = 80
_DIM = 384
_BATCH = 5000


def corpus_vocabulary(corpus: Path) -> tuple[list[str], np.ndarray]:
    """Words of the corpus's text files and their sampling weights (by frequency rank, Zipf-like)."""
    counts: Counter[str] = Counter()
    for path in sorted(corpus.rglob("*")):
        if path.suffix.lower() in {".md", ".txt", ".html"} and path.is_file():
            counts.update(re.findall(r"[a-z][a-z-]{2,}", path.read_text(encoding="utf-8", errors="ignore").lower()))
    words = [w for w, _ in counts.most_common()] or ["guidance", "partner", "end", "user"]
    weights = 1.0 / np.arange(1, len(words) + 1)
    return words, weights / weights.sum()


def _rss_mib() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def build_synthetic_index(store: VectorStore, corpus: Path, n_chunks: int, seed: int = 0) -> None:
    """Fill `store` with n synthetic passages: random unit vectors, corpus-vocabulary texts, mixed audiences."""
    rng = np.random.default_rng(seed)
    words, weights = corpus_vocabulary(corpus)
    audiences = np.array(["public", "partner", "internal"])
    for start in range(0, n_chunks, _BATCH):
        n = min(_BATCH, n_chunks - start)
        vectors = rng.standard_normal((n, _DIM)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        picks = rng.choice(len(words), size=(n, _WORDS_PER_CHUNK), p=weights)
        texts = [" ".join(words[j] for j in row) + "." for row in picks]
        ids = [f"syn-{start + i:06d}" for i in range(n)]
        metas = [
            {
                "doc_id": f"syn-doc-{(start + i) // 20}",
                "title": "Synthetic guidance",
                "locator": f"SYN {(start + i) // 20}.{(start + i) % 20}",
                "heading_path": "",
                "audience": str(audiences[(start + i) % 3]),
                "source_type": "synthetic",
                "content_hash": ids[i],
                "seq": (start + i) % 20,
            }
            for i in range(n)
        ]
        store.upsert(ids, texts, metas, vectors)


def run_scale(
    settings: Settings,
    questions_file: Path,
    n_chunks: int = SCALE_CHUNKS,
    rounds: int = 2,
    *,
    embedder: Embedder | None = None,
    max_questions: int | None = None,
) -> list[Figure]:
    """Build the synthetic index in a temp dir, then time hybrid retrieval of the team's questions on it."""
    embedder = embedder or Embedder(settings.embedding_model)
    embedder.model()
    questions = [str(item["question"]) for item in load_jsonl(questions_file)][:max_questions]
    figures: list[Figure] = []
    rss_before = _rss_mib()
    with tempfile.TemporaryDirectory(prefix="assistant-scale-") as tmp:
        scale_settings = settings.model_copy(update={"home": Path(tmp), "chroma_url": ""})
        store = VectorStore(scale_settings)
        t0 = time.perf_counter()
        build_synthetic_index(store, settings.corpus, n_chunks)
        build_s = time.perf_counter() - t0
        lexical = LexicalCache(store, scale_settings.lexical_path)
        t0 = time.perf_counter()
        lexical.refresh(force=True)
        lexical_s = time.perf_counter() - t0
        retriever = Retriever(store, lexical, embedder, scale_settings.dense_k, scale_settings.lexical_k)
        rss_loaded = _rss_mib()

        for q in questions[:5]:  # warm caches (HNSW pages, tokenizer)
            retriever.retrieve(q, INTERNAL_AUDIENCES, k=8)
        embed_ms: list[float] = []
        staff_ms: list[float] = []
        partner_ms: list[float] = []
        for _ in range(rounds):
            for q in questions:
                t0 = time.perf_counter()
                embedder.embed_query(q)
                embed_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                retriever.retrieve(q, INTERNAL_AUDIENCES, k=8)
                staff_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                retriever.retrieve(q, PARTNER_AUDIENCES, k=8)
                partner_ms.append((time.perf_counter() - t0) * 1000)
        count = store.count()

    figures.append(Figure(f"scale: write {count:,} synthetic chunks to Chroma", build_s, "s"))
    figures.append(Figure("scale: build lexical index and chunk table", lexical_s, "s"))
    figures.append(
        Figure(
            "scale: query p50 (staff, hybrid, with embedding)",
            statistics.median(staff_ms),
            "ms",
            "raw query embedding p50",
            statistics.median(embed_ms),
        )
    )
    figures.append(
        Figure(
            "scale: query p95 (staff, hybrid, with embedding)",
            percentile(staff_ms, 0.95),
            "ms",
            "raw query embedding p95",
            percentile(embed_ms, 0.95),
            None,
        )
    )
    figures.append(
        Figure(
            "scale: query p95 (partner, audience-filtered)",
            percentile(partner_ms, 0.95),
            "ms",
            "raw query embedding p95",
            percentile(embed_ms, 0.95),
            None,
        )
    )
    figures.append(
        Figure(
            f"scale: memory held by the loaded index (RSS growth from {rss_before:.0f} MiB)",
            rss_loaded - rss_before,
            "MiB",
        )
    )
    figures.append(
        Figure("scale: peak memory (this process)", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB")
    )
    return figures
