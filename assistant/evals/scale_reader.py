"""One fresh reading process for `assistant bench --scale`: the service as a web or Slack worker builds it.

Run as `python -m assistant.evals.scale_reader QUESTIONS ROUNDS [MAX_QUESTIONS]` with the settings in the
environment; prints one JSON line: its resident memory after warm-up and timed queries, and the timings.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path

from ..identity import INTERNAL_AUDIENCES, PARTNER_AUDIENCES
from ..service import create_service
from .metrics import load_jsonl, percentile


def rss_mib() -> float:
    """This process's resident memory now."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * resource.getpagesize() / 2**20


def measure(questions_file: Path, rounds: int, max_questions: int | None) -> dict[str, float]:
    """Warm the service up, time embedding and hybrid retrieval per question, then read the memory."""
    questions = [str(item["question"]) for item in load_jsonl(questions_file)][:max_questions]
    service = create_service()
    service.warm_up()
    retriever, embedder = service.retriever, service.embedder
    for q in questions[:5]:  # warm caches (HNSW pages, tokenizer, lexical pages)
        retriever.retrieve(q, INTERNAL_AUDIENCES, k=8)
        retriever.retrieve(q, PARTNER_AUDIENCES, k=8)
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
    return {
        "rss_mib": rss_mib(),
        "staff_p50_ms": statistics.median(staff_ms),
        "staff_p95_ms": percentile(staff_ms, 0.95),
        "partner_p95_ms": percentile(partner_ms, 0.95),
        "embed_p50_ms": statistics.median(embed_ms),
        "embed_p95_ms": percentile(embed_ms, 0.95),
    }


if __name__ == "__main__":
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(measure(Path(sys.argv[1]), int(sys.argv[2]), limit)))
