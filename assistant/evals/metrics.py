"""Quality metrics over answers, retrievals and triage outcomes.

Every function here is pure over its inputs (answers, ranked passages, chunk texts, levels), so the
same code scores the assistant and the LangChain baseline, and unit tests can feed it hand-made cases.
`score_retrieval` is the one convenience that runs the service's retriever itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..answers.models import Answer
from ..enums import CASE_LEVELS, LEVELS
from ..identity import User
from ..knowledge.textproc import CITATION_MARKER, citation_numbers, sentence_spans, tokens
from ..service import AssistantService

# A cited sentence that is not verbatim in its chunk (a paraphrase, as an LLM writes) is "supported"
# when its embedding is at least this close (cosine) to the chunk it cites or to the quote taken from
# it. On the shipped corpus, unrelated (sentence, chunk-or-quote) pairs score 0.33 at the median, 0.53
# at the 95th and 0.64 at the 99th percentile (measured on the team's question set), hence 0.6.
SUPPORT_SIMILARITY = 0.6


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON Lines as a list of objects (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# -- retrieval ---------------------------------------------------------------------------------------------


def is_expected(metadata: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    """Does a retrieved passage satisfy the question's expectation?

    The expected locators decide when the item names any (a passage of the right document but another
    clause is a miss); the expected document ids decide only for items that name documents alone.
    """
    locators = item.get("expected_locators") or []
    if locators:
        locator = str(metadata.get("locator", ""))
        # A PDF locator carries ", p. N"; the expectation names the clause.
        return locator in locators or locator.split(", p. ")[0] in locators
    return metadata.get("doc_id") in (item.get("expected_doc_ids") or [])


def has_expectation(item: Mapping[str, Any]) -> bool:
    """Can retrieval be scored on this item (it names expected locators or documents)?"""
    return bool(item.get("expected_locators") or item.get("expected_doc_ids"))


def first_hit_rank(passages: Sequence[Mapping[str, Any]], item: Mapping[str, Any]) -> int | None:
    """1-based rank of the first expected passage, or None."""
    for rank, meta in enumerate(passages, 1):
        if is_expected(meta, item):
            return rank
    return None


@dataclass
class RetrievalScores:
    """hit@1, hit@5 and MRR@10 over a question set, with the misses for inspection.

    `hit1`/`hit5`/`mrr10` need the exact clause (or an expected document when the question names
    documents only); `doc_hit5` needs any passage of a document that holds an expected clause. Only the
    items with an expectation count; with none, every figure is None (not measured), never 0.0.
    """

    n: int = 0
    hit1: float | None = None
    hit5: float | None = None
    mrr10: float | None = None
    doc_hit5: float | None = None
    misses: list[str] = field(default_factory=list)
    ranks: dict[str, int | None] = field(default_factory=dict)


def retrieval_scores(
    ranked: Mapping[str, Sequence[Mapping[str, Any]]],
    items: Iterable[Mapping[str, Any]],
    doc_of_locator: Mapping[str, str],
) -> RetrievalScores:
    """Score ranked passage metadata (question id -> metadata, best first) against the expectations."""
    scores = RetrievalScores()
    hit1 = hit5 = mrr10 = doc_hit5 = 0.0
    for item in items:
        if not has_expectation(item):
            continue
        passages = list(ranked.get(item["id"], []))
        expected_docs = {doc_of_locator[loc] for loc in item.get("expected_locators") or [] if loc in doc_of_locator}
        expected_docs |= set(item.get("expected_doc_ids") or [])
        rank = first_hit_rank(passages[:10], item)
        scores.n += 1
        scores.ranks[item["id"]] = rank
        hit1 += 1 if rank == 1 else 0
        hit5 += 1 if rank is not None and rank <= 5 else 0
        mrr10 += 1 / rank if rank is not None else 0
        doc_hit5 += 1 if any(str(m.get("doc_id", "")) in expected_docs for m in passages[:5]) else 0
        if rank is None or rank > 5:
            scores.misses.append(item["id"])
    if scores.n:
        scores.hit1, scores.hit5 = hit1 / scores.n, hit5 / scores.n
        scores.mrr10, scores.doc_hit5 = mrr10 / scores.n, doc_hit5 / scores.n
    return scores


def cites_expected(answers: Mapping[str, Answer], items: Iterable[Mapping[str, Any]]) -> tuple[float | None, list[str]]:
    """Share of questions (with an expectation) whose answer cites an expected section; a refusal cites none.

    Returns the share (None when no item names an expectation) and the ids of the questions that missed.
    """
    scored = 0
    missed: list[str] = []
    for item in items:
        if not has_expectation(item):
            continue
        scored += 1
        answer = answers.get(item["id"])
        cited = [] if answer is None or answer.refused else answer.citations
        if not any(is_expected({"locator": c.locator, "doc_id": c.doc_id}, item) for c in cited):
            missed.append(item["id"])
    return ((scored - len(missed)) / scored if scored else None), missed


def locator_documents(service: AssistantService, items: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Which document each expected locator of the items belongs to (a page suffix matches its base too).

    Looked up in the lexical index one locator at a time: only the locators a question set names are read.
    """
    out: dict[str, str] = {}
    for item in items:
        for locator in item.get("expected_locators") or []:
            if locator not in out:
                doc_id = service.lexical.doc_of_locator(str(locator))
                if doc_id is not None:
                    out[locator] = doc_id
    return out


def score_retrieval(service: AssistantService, items: Iterable[dict[str, Any]], k: int = 10) -> RetrievalScores:
    """Run the service's retriever on each question, as the question's audience, and score it."""
    items = list(items)
    ranked = {}
    for item in items:
        user = User.for_audience(item.get("audience", "internal"))
        retrieval = service.retriever.retrieve(item["question"], user.audiences, k=k)
        ranked[item["id"]] = [p.metadata for p in retrieval.passages]
    return retrieval_scores(ranked, items, locator_documents(service, items))


# -- must_mention ------------------------------------------------------------------------------------------


def term_tokens(term: str) -> list[str]:
    """The stemmed words of a must_mention term (stopwords kept only when the term is nothing else)."""
    return tokens(term) or tokens(term, keep_stopwords=True)


def mentions(term: str, text: str) -> bool:
    """Does `text` contain every word of `term`, case and inflection aside?"""
    wanted = term_tokens(term)
    have = set(tokens(text, keep_stopwords=True))
    return bool(wanted) and all(word in have for word in wanted)


def answer_text_with_quotes(answer: Answer) -> str:
    """The answer and every verbatim quote it carries: what a reader actually gets."""
    return "\n".join([answer.answer, *(c.quote for c in answer.citations)])


@dataclass
class Coverage:
    """must_mention coverage: share of all terms found, and share of questions with every term found."""

    terms: int = 0
    found: int = 0
    questions: int = 0
    complete: int = 0
    missing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return self.found / self.terms if self.terms else None

    @property
    def complete_rate(self) -> float | None:
        return self.complete / self.questions if self.questions else None


def must_mention_coverage(answers: Mapping[str, Answer], items: Iterable[Mapping[str, Any]]) -> Coverage:
    """Count must_mention terms found in each answer (text plus quotes); refusals find none."""
    cov = Coverage()
    for item in items:
        terms = list(item.get("must_mention") or [])
        if not terms:
            continue
        answer = answers.get(item["id"])
        text = answer_text_with_quotes(answer) if answer is not None and not answer.refused else ""
        missing = [t for t in terms if not mentions(t, text)]
        cov.questions += 1
        cov.terms += len(terms)
        cov.found += len(terms) - len(missing)
        cov.complete += 0 if missing else 1
        if missing:
            cov.missing[item["id"]] = missing
    return cov


# -- citations ---------------------------------------------------------------------------------------------


@dataclass
class CitationCheck:
    """Problems found in one answer's citations (empty lists: the answer is valid)."""

    dangling_markers: list[int] = field(default_factory=list)
    non_verbatim: list[int] = field(default_factory=list)
    unknown_chunks: list[int] = field(default_factory=list)
    wrong_audience: list[int] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not (self.dangling_markers or self.non_verbatim or self.unknown_chunks or self.wrong_audience)


def check_citations(
    answer: Answer, chunk_text: Callable[[str], str | None], audiences: Sequence[str] | None = None
) -> CitationCheck:
    """Every [n] must name a returned citation, and every quote must be verbatim in its chunk.

    `chunk_text(chunk_id)` returns the indexed text (None when the chunk is unknown); with `audiences`,
    a citation outside them (an internal passage shown to a partner) also makes the answer invalid.
    """
    check = CitationCheck()
    numbers = {c.n for c in answer.citations}
    check.dangling_markers = sorted({n for n in citation_numbers(answer.answer) if n not in numbers})
    for citation in answer.citations:
        text = chunk_text(citation.chunk_id)
        if text is None:
            check.unknown_chunks.append(citation.n)
        elif not citation.quote or citation.quote not in text:
            check.non_verbatim.append(citation.n)
        if audiences is not None and citation.audience not in audiences:
            check.wrong_audience.append(citation.n)
    return check


@dataclass
class CitedSentence:
    """One sentence of an answer and the citation numbers that back it."""

    text: str
    cites: list[int]


def cited_sentences(answer_text: str) -> list[CitedSentence]:
    """Split an answer into sentences; a marker backs the sentences before it, back to the previous marker.

    Lines are independent ("quote [1]" then "quote [2]"), so a sentence never borrows a marker from
    another line. Fragments of fewer than three words ("Next steps:") are not sentences.
    """
    out: list[CitedSentence] = []
    for line in answer_text.splitlines():
        pos = 0
        segments: list[tuple[str, list[int]]] = []
        for m in CITATION_MARKER.finditer(line):
            segments.append((line[pos : m.start()], citation_numbers(m.group(0))))
            pos = m.end()
        segments.append((line[pos:], []))
        for segment, cites in segments:
            for start, end in sentence_spans(segment):
                sentence = segment[start:end].strip(" .;:-*")
                if len(tokens(sentence, keep_stopwords=True)) >= 3:
                    out.append(CitedSentence(sentence, cites))
    return out


@dataclass
class Support:
    """Citation support: cited sentences backed by the chunk they cite, and the uncited rest."""

    sentences: int = 0
    supported: int = 0
    verbatim: int = 0
    uncited: int = 0
    similarities: list[float] = field(default_factory=list)
    unsupported: list[tuple[str, str, float]] = field(default_factory=list)  # (question id, sentence, best sim)

    @property
    def rate(self) -> float:
        return self.supported / self.sentences if self.sentences else 1.0

    @property
    def uncited_share(self) -> float:
        total = self.sentences + self.uncited
        return self.uncited / total if total else 0.0


def _squash(text: str) -> str:
    return " ".join(text.split())


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / ((np.linalg.norm(a) * np.linalg.norm(b)) or 1.0))


def citation_support(
    answers: Mapping[str, Answer],
    embed: Callable[[list[str]], np.ndarray],
    chunk_text: Callable[[str], str | None],
    chunk_vector: Callable[[str], np.ndarray | None],
    threshold: float = SUPPORT_SIMILARITY,
) -> Support:
    """Check that each cited sentence is backed by a chunk it cites.

    A sentence found verbatim (whitespace aside) in a cited chunk is supported outright (similarity
    1.0). Any other cited sentence is embedded, with the quotes of its citations, in one batch; it is
    supported when its best cosine similarity to a cited chunk's stored vector or to a cited quote
    reaches `threshold`. A marker that names no returned citation supports nothing.
    """
    support = Support()
    pending: list[tuple[str, CitedSentence, list[tuple[str, str]]]] = []
    for qid, answer in answers.items():
        if answer.refused:
            continue
        by_n = {c.n: (c.chunk_id, c.quote) for c in answer.citations}
        for sentence in cited_sentences(answer.answer):
            if not sentence.cites:
                support.uncited += 1
                continue
            support.sentences += 1
            cited = [by_n[n] for n in sentence.cites if n in by_n]
            flat = _squash(sentence.text)
            if any(flat in _squash(chunk_text(cid) or "") for cid, _ in cited):
                support.supported += 1
                support.verbatim += 1
                support.similarities.append(1.0)
            elif not cited:
                support.similarities.append(0.0)
                support.unsupported.append((qid, sentence.text, 0.0))
            else:
                pending.append((qid, sentence, cited))
    if not pending:
        return support
    quotes = sorted({quote for _, _, cited in pending for _, quote in cited if quote})
    vectors = embed([s.text for _, s, _ in pending] + quotes)
    quote_vec = dict(zip(quotes, vectors[len(pending) :], strict=True))
    for (qid, sentence, cited), vector in zip(pending, vectors[: len(pending)], strict=True):
        sims = [0.0]
        for cid, quote in cited:
            cv = chunk_vector(cid)
            if cv is not None:
                sims.append(_cosine(vector, cv))
            if quote in quote_vec:
                sims.append(_cosine(vector, quote_vec[quote]))
        best = max(sims)
        support.similarities.append(best)
        if best >= threshold:
            support.supported += 1
        else:
            support.unsupported.append((qid, sentence.text, best))
    return support


# -- refusals ----------------------------------------------------------------------------------------------


def refusal_rate(answers: Iterable[Answer]) -> float:
    """Share of answers that are refusals (1.0 for an empty set: nothing was answered)."""
    items = list(answers)
    return sum(a.refused for a in items) / len(items) if items else 1.0


# -- triage ------------------------------------------------------------------------------------------------


@dataclass
class TriageScores:
    """Confusion matrix (rows expected, columns predicted, in LEVELS order) and the rates read from it."""

    labels: tuple[str, ...] = LEVELS
    matrix: list[list[int]] = field(default_factory=lambda: [[0] * len(LEVELS) for _ in LEVELS])
    n: int = 0
    exact: int = 0
    mismatches: list[tuple[str, str, str]] = field(default_factory=list)  # (id, expected, predicted)

    @property
    def accuracy(self) -> float:
        return self.exact / self.n if self.n else 1.0

    def _count(self, expected: Iterable[str], predicted: Iterable[str]) -> int:
        rows = [self.labels.index(e) for e in expected]
        cols = [self.labels.index(p) for p in predicted]
        return sum(self.matrix[r][c] for r in rows for c in cols)

    @property
    def escalation_recall(self) -> float:
        """Of deals that need compliance (escalate or prohibited), the share sent there."""
        total = self._count(CASE_LEVELS, self.labels)
        return self._count(CASE_LEVELS, CASE_LEVELS) / total if total else 1.0

    @property
    def prohibited_recall(self) -> float:
        """Of deals that must stop (prohibited), the share triaged prohibited."""
        total = self._count(["prohibited"], self.labels)
        return self._count(["prohibited"], ["prohibited"]) / total if total else 1.0

    @property
    def false_escalation_rate(self) -> float:
        """Of deals expected to proceed, the share escalated or prohibited."""
        total = self._count(["proceed"], self.labels)
        return self._count(["proceed"], CASE_LEVELS) / total if total else 0.0

    @property
    def under_triage_rate(self) -> float:
        """Share of all deals given a lower level than expected (the costly direction of error)."""
        low = sum(1 for _, e, p in self.mismatches if self.labels.index(p) < self.labels.index(e))
        return low / self.n if self.n else 0.0


def triage_scores(outcomes: Iterable[tuple[str, str, str]]) -> TriageScores:
    """Score (id, expected level, predicted level) triples; an unknown level is a bad data set."""
    scores = TriageScores()
    for ident, expected, predicted in outcomes:
        for level in (expected, predicted):
            if level not in scores.labels:
                raise ValueError(f"{ident}: unknown level {level!r} (expected one of {', '.join(scores.labels)})")
        scores.matrix[scores.labels.index(expected)][scores.labels.index(predicted)] += 1
        scores.n += 1
        if expected == predicted:
            scores.exact += 1
        else:
            scores.mismatches.append((ident, expected, predicted))
    return scores


# -- latency -----------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))])


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and max of a latency sample in milliseconds."""
    return {
        "n": float(len(values_ms)),
        "p50_ms": percentile(values_ms, 0.5),
        "p95_ms": percentile(values_ms, 0.95),
        "max_ms": max(values_ms, default=0.0),
    }
