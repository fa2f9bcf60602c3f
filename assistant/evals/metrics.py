"""Retrieval metrics over a question set: hit@k and MRR against expected documents or locators."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..identity import User
from ..service import AssistantService


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON Lines as a list of objects (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_expected(metadata: dict[str, Any], item: dict[str, Any]) -> bool:
    """Does a retrieved passage satisfy the question's expectation (document id or locator)?"""
    locators = item.get("expected_locators") or []
    doc_ids = item.get("expected_doc_ids") or []
    locator = str(metadata.get("locator", ""))
    # A PDF locator carries ", p. N"; the expectation names the clause.
    base = locator.split(", p. ")[0]
    return base in locators or locator in locators or metadata.get("doc_id") in doc_ids


def first_hit_rank(passages: Sequence[dict[str, Any]], item: dict[str, Any]) -> int | None:
    """1-based rank of the first expected passage, or None."""
    for rank, meta in enumerate(passages, 1):
        if is_expected(meta, item):
            return rank
    return None


@dataclass
class RetrievalScores:
    """hit@1, hit@5 and MRR@10 over a question set, with the misses for inspection."""

    n: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr10: float = 0.0
    doc_hit5: float = 0.0
    misses: list[str] = field(default_factory=list)
    ranks: dict[str, int | None] = field(default_factory=dict)


def locator_documents(service: AssistantService) -> dict[str, str]:
    """Which document each indexed locator belongs to."""
    return {
        str(c.metadata.get("locator", "")): str(c.metadata.get("doc_id", ""))
        for c in service.store.all_chunks(with_text=False)
    }


def score_retrieval(service: AssistantService, items: Iterable[dict[str, Any]], k: int = 10) -> RetrievalScores:
    """Run the service's retriever on each question, as the question's audience.

    Locator-level hits need the exact principle or clause; document-level hit@5 (`doc_hit5`) needs a
    passage of the document that holds an expected locator.
    """
    scores = RetrievalScores()
    doc_of = locator_documents(service)
    for item in items:
        expected_docs = {doc_of[loc] for loc in item.get("expected_locators") or [] if loc in doc_of}
        expected_docs |= set(item.get("expected_doc_ids") or [])
        user = User.for_audience(item.get("audience", "internal"))
        retrieval = service.retriever.retrieve(item["question"], user.audiences, k=k)
        rank = first_hit_rank([p.metadata for p in retrieval.passages], item)
        scores.doc_hit5 += 1 if any(p.doc_id in expected_docs for p in retrieval.passages[:5]) else 0
        scores.n += 1
        scores.ranks[item["id"]] = rank
        scores.hit1 += 1 if rank == 1 else 0
        scores.hit5 += 1 if rank is not None and rank <= 5 else 0
        scores.mrr10 += 1 / rank if rank is not None and rank <= 10 else 0
        if rank is None or rank > 5:
            scores.misses.append(item["id"])
    if scores.n:
        scores.hit1 /= scores.n
        scores.hit5 /= scores.n
        scores.mrr10 /= scores.n
        scores.doc_hit5 /= scores.n
    return scores
