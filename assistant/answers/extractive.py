"""The offline answer composer: quotes the best evidence verbatim, with [n] markers and next steps.

It never cites a passage that was not retrieved, and every quote is an exact substring of its chunk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
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


# "Which kinds of products...", "what are the steps", "list pls", "checklist": the reader wants the items.
_LIST_QUESTION = re.compile(
    r"\b(which|what)\s+(kinds?|types?|sorts?|steps|factors|criteria|things|questions|facts|signs|examples|"
    r"red flags|products|levers|options|measures|documents|information|details)\b"
    r"|\b(list|lists|checklist|step[- ]by[- ]step|steps|criteria|examples)\b|\bwhat are (the|all)\b",
    re.I,
)
_LIST_LINE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S", re.M)
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.+)$", re.M)
_SEMANTIC_WEIGHT = 1.0
_LEXICAL_WEIGHT = 0.25
_OPENING_BONUS = 0.03
_SUPPORT_MARGIN = 0.3
_POOL_SLACK = 0.06
_LEAD_MARGIN = 0.1
"""A further passage is quoted only when its best sentence is nearly as close to the question as the lead's."""


@dataclass(frozen=True)
class _Choice:
    passage: Passage
    span: _Span
    meaning: float  # cosine of the chosen sentence to the question


def is_list_question(question: str) -> bool:
    """Does the question ask for items (kinds, steps, criteria, a list) rather than one statement?"""
    return bool(_LIST_QUESTION.search(question))


def _sentences(text: str) -> list[tuple[int, int]]:
    spans = [s for s in sentence_spans(text) if len(tokens(text[s[0] : s[1]], keep_stopwords=True)) >= 3]
    return spans or list(sentence_spans(text))


def _list_block(text: str, after: int) -> tuple[int, int] | None:
    """The run of list lines that starts right after offset `after` (blank lines aside), or None."""
    rest = text[after:]
    lead = len(rest) - len(rest.lstrip())
    start = after + lead
    lines = list(_LIST_LINE.finditer(text, start))
    if not lines or lines[0].start() != start:
        return None
    end = start
    for line in lines:
        if line.start() > end + 2 and text[end : line.start()].strip():
            break
        newline = text.find("\n", line.start())
        end = len(text) if newline < 0 else newline
    return (start, end) if end > start else None


def _extend(
    text: str, spans: list[tuple[int, int]], best: _Span, budget: int, want_list: bool, whole_section: bool
) -> _Span:
    """Grow the chosen sentence into what a reader needs: the list it introduces, or its paragraph's next
    sentences within the budget. A sentence that only points elsewhere ("these steps:") never stands alone."""
    sentence = text[best.start : best.end].rstrip()
    pointer = sentence.endswith(":")
    if pointer or want_list:
        block = _list_block(text, best.end)
        if block is None and want_list:
            # The list may sit after the paragraph that introduces it.
            following = [s for s in spans if s[0] >= best.end]
            for start, _ in following[:2]:
                line_start = text.rfind("\n", 0, start) + 1
                if _LIST_LINE.match(text, line_start):
                    block = _list_block(text, line_start)
                    break
        if block is not None:
            end = block[1]
            if end - best.start > budget * 2:
                # Keep whole items up to twice the budget: a list cut mid-item misleads.
                cut = text.rfind("\n", best.start, best.start + budget * 2)
                end = cut if cut > best.end else end
            return _Span(best.start, end, best.score)
    grown = best
    for start, end in spans:
        if start < grown.end:
            continue
        if end - grown.start > budget or (not whole_section and "\n\n" in text[grown.end : start]):
            break
        if _LIST_LINE.match(text, text.rfind("\n", 0, start) + 1) and not pointer:
            break  # list items are offered as next steps; the quote stays with the prose
        grown = _Span(grown.start, end, grown.score)
    if text[grown.start : grown.end].rstrip().endswith(":"):
        # A quote that ends on "these details:" carries the list it announces, or stops before it.
        block = _list_block(text, grown.end)
        if block is not None:
            cut = text.rfind("\n", grown.start, grown.start + budget * 2) if block[1] - grown.start > budget * 2 else -1
            grown = _Span(grown.start, cut if cut > grown.end else block[1], grown.score)
        else:
            earlier = [s for s in spans if grown.start <= s[0] and s[1] < grown.end]
            if earlier:
                grown = _Span(grown.start, earlier[-1][1], grown.score)
    if whole_section:
        # Budget left over goes to the sentences before: the section's own framing of the answer.
        for start, end in reversed(spans):
            if end > grown.start:
                continue
            if grown.end - start > budget:
                break
            if _LIST_LINE.match(text, text.rfind("\n", 0, start) + 1):
                break
            grown = _Span(start, grown.end, grown.score)
    return grown


def _steps(passage: Passage) -> list[str]:
    items = [m.group(1).strip() for m in _STEP.finditer(passage.text)]
    return items if len(items) >= 2 else []


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ExtractiveComposer:
    """Builds a short answer from the top passages; refuses when the evidence is weak.

    The lead is the sentence that answers the question, chosen by shared words within the passages closest
    to the question in meaning; a list question gets the list. Further
    passages are quoted only when they come from another section and say something nearly as close to
    the question. Every quote is verbatim and every [n] points at a retrieved passage.
    """

    def __init__(
        self,
        idf: Callable[[str], float],
        min_similarity: float = 0.30,
        max_passages: int = 3,
        lead_budget: int = 750,
        budget: int = 450,
        lead_pool: int = 3,
    ) -> None:
        self.idf = idf
        self.lead_budget = lead_budget
        self.budget = budget
        self.min_similarity = min_similarity
        self.max_passages = max_passages
        self.lead_pool = lead_pool

    def evidence_is_weak(self, retrieval: Retrieval) -> bool:
        """Too little support to answer: no passage close enough to the question in meaning."""
        return not retrieval.passages or retrieval.best_similarity < self.min_similarity

    def _choose(self, passage: Passage, retrieval: Retrieval, query_terms: set[str]) -> _Choice | None:
        text = passage.text
        step_lines = {m.start(1) for m in _STEP.finditer(text)}
        spans = [s for s in _sentences(text) if s[0] not in step_lines] or _sentences(text)
        if not spans:
            return None
        lexical = []
        for start, end in spans:
            words = tokens(text[start:end])
            overlap = query_terms & set(words)
            lexical.append(sum(self.idf(t) for t in overlap) / math.sqrt(max(len(words), 1)))
        top_lexical = max(lexical) or 1.0
        # Each sentence's own vector was tried (chosen by its meaning): the same figures on the question sets
        # at about twice the answer time, so a sentence takes its passage's closeness in meaning.
        meaning = [passage.similarity] * len(spans)
        best: _Span | None = None
        best_meaning = 0.0
        for position, (start, end) in enumerate(spans):
            score = _SEMANTIC_WEIGHT * meaning[position] + _LEXICAL_WEIGHT * lexical[position] / top_lexical
            score += _OPENING_BONUS if position == 0 else 0.0
            if best is None or score > best.score:
                best, best_meaning = _Span(start, end, score), meaning[position]
        assert best is not None
        return _Choice(passage, best, best_meaning)

    def compose(self, retrieval: Retrieval, question: str = "") -> Composed:
        if self.evidence_is_weak(retrieval):
            return refusal("weak_evidence")
        # The passage closest in meaning cleared the bar; the passages that ranked above it on shared words
        # may sit a little under it and still be quoted (the right clause is often one of them).
        floor = max(self.min_similarity - _POOL_SLACK, retrieval.best_similarity - 0.22)
        pool = [p for p in retrieval.passages if p.similarity >= floor]
        if not pool:
            return refusal("weak_evidence")
        query_terms = set(retrieval.query_terms)
        choices = [
            c for p in pool[: self.lead_pool + self.max_passages] if (c := self._choose(p, retrieval, query_terms))
        ]
        if not choices:
            return refusal("weak_evidence")
        # The lead: the best passage, unless one of the next few holds a sentence clearly closer to the question.
        lead = choices[0]
        for other in choices[1 : self.lead_pool]:
            if other.span.score > lead.span.score + _LEAD_MARGIN:
                lead = other
        ordered = [lead] + [c for c in choices if c is not lead]
        want_list = is_list_question(question)
        lines: list[str] = []
        citations: list[Citation] = []
        steps: list[str] = []
        cited_sections: set[str] = set()
        for choice in ordered:
            if len(citations) >= self.max_passages:
                break
            passage = choice.passage
            if citations and (passage.locator in cited_sections or choice.meaning < lead.meaning - _SUPPORT_MARGIN):
                continue  # the same section again, or a passage that adds little: leave it out
            text = passage.text
            budget = self.lead_budget if not citations else self.budget
            # The lead may run on over the section's paragraphs; a supporting quote keeps to its paragraph.
            span = _extend(text, _sentences(text), choice.span, budget, want_list, whole_section=not citations)
            n = len(citations) + 1
            quote = text[span.start : span.end]
            citations.append(Citation.of_chunk(n, passage.id, passage.metadata, quote))
            cited_sections.add(passage.locator)
            # The sentence that answers comes first; what the section says before it follows, both verbatim.
            answering, framing = text[choice.span.start : span.end], text[span.start : choice.span.start]
            items = [m.group(1).strip() for m in _ITEM.finditer(answering)]
            if len(items) >= 2 and not steps:
                # A quoted list is shown as its items (the next steps), after the words that introduce it.
                answering = answering[: _ITEM.search(answering).start()]  # type: ignore[union-attr]
                steps = [f"{_one_line(item)} [{n}]" for item in items[:_MAX_STEPS]]
            for part in (answering, framing):
                if part.strip():
                    lines.append(f"{_one_line(part)} [{n}]")
            if not steps:
                steps = [f"{_one_line(item)} [{n}]" for item in _steps(passage)[:_MAX_STEPS]]
        text = "\n".join(lines)
        if steps:
            text += "\n\nNext steps:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
        return Composed(text=text, citations=citations, next_steps=steps)
