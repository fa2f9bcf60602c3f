"""The offline answer composer: quotes the best evidence verbatim, with [n] markers and next steps.

It never cites a passage that was not retrieved, and every quote is an exact substring of its chunk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..knowledge.retrieval import Passage, Retrieval
from ..knowledge.textproc import sentence_spans, tokens
from .models import Citation

REFUSAL = (
    "I can't answer that from the guidance I have. Please ask the compliance team, or rephrase the "
    "question with the product, the end user and the country involved."
)
_STEP = re.compile(r"^\s*\d+[.)]\s+(.+)$", re.M)
_MAX_STEPS = 6


@dataclass
class Composed:
    """Answer text, the citations it uses, and next steps when the guidance has them."""

    text: str
    citations: list[Citation]
    next_steps: list[str] = field(default_factory=list)
    refused: bool = False
    refusal_reason: str | None = None


def refusal(reason: str, message: str = REFUSAL) -> Composed:
    return Composed(text=message, citations=[], refused=True, refusal_reason=reason)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    score: float


def _best_span(passage: Passage, query_terms: set[str], idf: Callable[[str], float], budget: int) -> _Span | None:
    """The best-matching sentence, extended over the following sentences of its paragraph within `budget`."""
    text = passage.text
    step_lines = {m.start(1) for m in _STEP.finditer(text)}
    spans = [s for s in sentence_spans(text) if s[0] not in step_lines]
    if not spans:
        spans = list(sentence_spans(text))
    if not spans:
        return None
    best: _Span | None = None
    for position, (start, end) in enumerate(spans):
        words = tokens(text[start:end])
        if len(words) < 3:
            continue
        overlap = query_terms & set(words)
        score = sum(idf(t) for t in overlap) / math.sqrt(len(words))
        score += 0.15 if position == 0 else 0.0  # a section's opening sentence usually states its point
        if best is None or score > best.score:
            best = _Span(start, end, score)
    if best is None:
        start, end = spans[0]
        best = _Span(start, end, 0.0)
    for start, end in spans:
        if start < best.end:
            continue
        if end - best.start > budget or "\n\n" in text[best.end : start]:
            break
        best = _Span(best.start, end, best.score)
    return best


def _steps(passage: Passage) -> list[str]:
    items = [m.group(1).strip() for m in _STEP.finditer(passage.text)]
    return items if len(items) >= 2 else []


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ExtractiveComposer:
    """Builds a short answer from the top passages; refuses when the evidence is weak."""

    def __init__(
        self,
        idf: Callable[[str], float],
        min_similarity: float = 0.30,
        max_passages: int = 3,
        lead_budget: int = 500,
        budget: int = 300,
    ) -> None:
        self.idf = idf
        self.lead_budget = lead_budget
        self.budget = budget
        self.min_similarity = min_similarity
        self.max_passages = max_passages

    def evidence_is_weak(self, retrieval: Retrieval) -> bool:
        """Too little support to answer: no passage close enough to the question in meaning."""
        return not retrieval.passages or retrieval.best_similarity < self.min_similarity

    def compose(self, retrieval: Retrieval) -> Composed:
        if self.evidence_is_weak(retrieval):
            return refusal("weak_evidence")
        floor = max(self.min_similarity, retrieval.best_similarity - 0.22)
        chosen: list[Passage] = [p for p in retrieval.passages if p.similarity >= floor][: self.max_passages]
        if not chosen:
            return refusal("weak_evidence")
        query_terms = set(retrieval.query_terms)
        lines: list[str] = []
        citations: list[Citation] = []
        steps: list[str] = []
        for passage in chosen:
            span = _best_span(passage, query_terms, self.idf, self.lead_budget if not citations else self.budget)
            if span is None:
                continue
            n = len(citations) + 1
            quote = passage.text[span.start : span.end]
            citations.append(Citation.of_chunk(n, passage.id, passage.metadata, quote))
            lines.append(f"{_one_line(quote)} [{n}]")
            if not steps:
                steps = [f"{_one_line(item)} [{n}]" for item in _steps(passage)[:_MAX_STEPS]]
        if not citations:
            return refusal("weak_evidence")
        text = "\n".join(lines)
        if steps:
            text += "\n\nNext steps:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        return Composed(text=text, citations=citations, next_steps=steps)


def cited_numbers(text: str) -> Sequence[int]:
    """The [n] markers used in an answer, in order of appearance."""
    return [int(m) for m in re.findall(r"\[(\d+)\]", text)]
