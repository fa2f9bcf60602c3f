"""`assistant bench --scale`: what a reading process holds and how fast it answers over a large synthetic index.

The index is real: a Chroma collection (embedded in a temporary home, or on the Chroma server when
ASSISTANT_CHROMA_URL is set) and the lexical index (an SQLite FTS5 file, or PostgreSQL when
ASSISTANT_DATABASE_URL is one). Only its content is synthetic: random unit vectors, and texts drawn from the
shipped corpus's own vocabulary with a Zipf-like frequency, so lexical postings have a realistic shape.
Random vectors are the hard case for HNSW (no clusters to exploit), so dense figures are pessimistic.

Measurements run in fresh reading processes (`python -m assistant.evals.scale_reader`), once over the
full collection and once over an empty one, so `reader_rss_mib` is what the corpus costs a reader and
nothing the builder did.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import BadInput
from ..knowledge.lexical import LexicalIndex, sync
from ..knowledge.store import VectorStore
from .figures import Figure

SCALE_CHUNKS = 100_000
MAX_SCALE_CHUNKS = 5_000_000
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
        ids = [f"syn-{start + i:07d}" for i in range(n)]
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


@dataclass
class ScaleResult:
    """The figures of one scale run (the keys of `assistant bench --scale --json`)."""

    chunks: int
    build_s: float
    reader_rss_mib: float
    staff_p50_ms: float
    staff_p95_ms: float
    partner_p95_ms: float
    embed_p50_ms: float
    embed_p95_ms: float
    reader_rss_empty_mib: float
    chroma: str
    lexical: str

    @property
    def rss_target_mib(self) -> float:
        """The issue's bound: 100 MiB when Chroma runs on a server (its index is not ours), else 350."""
        return 100.0 if self.chroma == "server" else 350.0

    def figures(self) -> list[Figure]:
        """The figures with their references and targets, for the table."""
        where = f"{self.chroma} Chroma, {self.lexical} lexical index"
        return [
            Figure(f"scale: build {self.chunks:,} synthetic chunks ({where})", self.build_s, "s"),
            Figure(
                "scale: reader memory held for the index (RSS minus RSS on an empty index)",
                self.reader_rss_mib,
                "MiB",
                "target",
                self.rss_target_mib,
                1.0,
            ),
            Figure(
                "scale: staff query p50 (hybrid, with embedding)",
                self.staff_p50_ms,
                "ms",
                "raw query embedding p50",
                self.embed_p50_ms,
            ),
            Figure(
                "scale: staff query p95 (hybrid, with embedding)",
                self.staff_p95_ms,
                "ms",
                "raw query embedding p95",
                self.embed_p95_ms,
            ),
            Figure(
                "scale: partner query p95 (audience-filtered)",
                self.partner_p95_ms,
                "ms",
                "raw query embedding p95",
                self.embed_p95_ms,
                3.0,
            ),
        ]

    def to_json(self) -> dict[str, Any]:
        """One object: the figures the issue names, plus where they were measured."""
        return {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _reader(env: dict[str, str], questions_file: Path, rounds: int, max_questions: int | None) -> dict[str, float]:
    args = [sys.executable, "-m", "assistant.evals.scale_reader", str(questions_file), str(rounds)]
    if max_questions is not None:
        args.append(str(max_questions))
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the scale reading process failed: {tail}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def run_scale(
    settings: Settings,
    questions_file: Path,
    n_chunks: int = SCALE_CHUNKS,
    rounds: int = 2,
    *,
    max_questions: int | None = None,
) -> ScaleResult:
    """Build the synthetic index, then measure two fresh reading processes: on it, and on an empty one.

    A temporary home holds the embedded Chroma and the SQLite lexical file; on a Chroma server or
    PostgreSQL, the run uses collections of its own name and removes them afterwards.
    """
    if not 1 <= n_chunks <= MAX_SCALE_CHUNKS:
        raise BadInput(f"--chunks must be between 1 and {MAX_SCALE_CHUNKS:,}")
    name = f"scale{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="assistant-scale-") as tmp:
        full = settings.model_copy(update={"home": Path(tmp), "collection": name})
        empty = settings.model_copy(update={"home": Path(tmp), "collection": f"{name}empty"})
        store = VectorStore(full)
        lexical = _lexical_for(full)
        try:
            started = time.perf_counter()
            build_synthetic_index(store, settings.corpus, n_chunks)
            sync(store, lexical)
            build_s = time.perf_counter() - started
            VectorStore(empty)  # an empty collection for the reference reader
            _lexical_for(empty).close()
            env = {
                **os.environ,
                "ASSISTANT_HOME": tmp,
                "ASSISTANT_CORPUS": str(settings.corpus),
                "ASSISTANT_CHROMA_URL": settings.chroma_url,
                "ASSISTANT_DATABASE_URL": settings.database_url.get_secret_value(),
                "ASSISTANT_EMBEDDING_MODEL": settings.embedding_model,
            }
            measured = _reader({**env, "ASSISTANT_COLLECTION": name}, questions_file, rounds, max_questions)
            baseline = _reader({**env, "ASSISTANT_COLLECTION": f"{name}empty"}, questions_file, 1, 3)
        finally:
            _drop(full, lexical)
            _drop(empty, None)
    return ScaleResult(
        chunks=n_chunks,
        build_s=build_s,
        reader_rss_mib=measured["rss_mib"] - baseline["rss_mib"],
        staff_p50_ms=measured["staff_p50_ms"],
        staff_p95_ms=measured["staff_p95_ms"],
        partner_p95_ms=measured["partner_p95_ms"],
        embed_p50_ms=measured["embed_p50_ms"],
        embed_p95_ms=measured["embed_p95_ms"],
        reader_rss_empty_mib=baseline["rss_mib"],
        chroma="server" if settings.chroma_url else "embedded",
        lexical="postgresql" if _on_postgres(settings) else "sqlite",
    )


def _on_postgres(settings: Settings) -> bool:
    return settings.database_url.get_secret_value().startswith(("postgresql", "postgres://"))


def _lexical_for(settings: Settings) -> LexicalIndex:
    """The lexical index the service would open for these settings (without loading a model)."""
    if _on_postgres(settings):
        from ..cases import create_case_store
        from ..knowledge.lexical_postgres import PostgresLexicalIndex

        return PostgresLexicalIndex(create_case_store(settings).engine, settings.collection)
    from ..knowledge.lexical_sqlite import SqliteLexicalIndex

    return SqliteLexicalIndex(settings.lexical_path)


def _drop(settings: Settings, lexical: LexicalIndex | None) -> None:
    """Remove what the run put on shared servers (the temporary home goes with its directory)."""
    if settings.chroma_url:
        VectorStore(settings).drop()
    if _on_postgres(settings):
        index = lexical or _lexical_for(settings)
        index.apply([], list(index.fingerprints()))
        index.close()
    elif lexical is not None:
        lexical.close()
