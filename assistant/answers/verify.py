"""Checks an LLM-written answer against the passages it was given, sentence by sentence.

A sentence survives only when it cites at least one passage by `[n]`, every number is in range, and the
cited passage supports it: the sentence is close in meaning (embedding cosine) to some sentence or clause of
that passage, and not much further from it than from the best of the other passages. Sentences that claim a
decision (an approval, a risk level) are dropped whatever they cite: the LLM phrases, it never decides.

Surviving citations are renumbered by first use, and each quote is the passage sentence closest to the
answer sentence(s) citing it, verbatim. When too little survives, the verdict says so and the caller falls
back to the extractive answer.

Calibration (all-MiniLM-L6-v2, shipped corpus, hand-written paraphrases of retrieved passages): faithful
paraphrases scored 0.59-1.0 against their passage, the same sentences scored at most 0.66 against other
passages retrieved for the same question, and injected claims ("this deal is approved") at most 0.50 against
any passage. The absolute floor (0.55) removes unrelated text; the relative gap (0.10) removes a citation to
the wrong passage, which topically close passages cannot be told apart from by the floor alone (every
faithful paraphrase beat the other passages by 0.14 or more; every wrong citation trailed the right one by
0.14 or more).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..knowledge.embeddings import Embedder
from ..knowledge.retrieval import Passage
from ..knowledge.textproc import NOT_AFTER_ABBREVIATION, citation_numbers, sentence_spans
from .models import Citation

MIN_SUPPORT = 0.55
MAX_GAP = 0.10
MIN_KEPT_SHARE = 0.5

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*+\u2022]|\d+[.)])\s+")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])" + NOT_AFTER_ABBREVIATION + r"\s+(?=\S)")
_CLAUSE_BREAK = re.compile(r"[;:]\s+|,\s+(?=(?:and|or|but|while|so)\b)")
_OVERRIDE_CLAIM = re.compile(
    r"\b(ignore|disregard|override)\b.{0,40}\b(polic(y|ies)|instructions?|rules?|guidance|triage)\b"
    r"|\b(i|we)\s+(hereby\s+)?(approve|clear|authori[sz]e)\b",
    re.I | re.S,
)
_STATUS_CLAIM = re.compile(
    r"\b(deal|sale|order|transaction|shipment|request|end user|customer)\b.{0,40}"
    r"\b(is|are|has been|have been|was|were)\s+(now\s+|hereby\s+|therefore\s+)?"
    r"(approved|cleared|authori[sz]ed|low[- ]risk)\b(?!\s+by\b)"
    r"|\brisk(\s+level)?\s*(is\s+|:\s*|=\s*)?(now\s+|set to\s+|lowered to\s+)?(proceed|low|none|cleared)\b",
    re.I | re.S,
)
# Guidance is full of conditions ("do not ship until the deal is approved"); those are not claims.
_CONDITION = re.compile(r"\b(until|unless|before|once|after|when|where|if|whether|only)\b", re.I)


def claims_a_decision(sentence: str) -> bool:
    """True when the sentence overrides the rules or states an approval or a risk level as settled."""
    if _OVERRIDE_CLAIM.search(sentence):
        return True
    match = _STATUS_CLAIM.search(sentence)
    return match is not None and not _CONDITION.search(sentence[: match.end()])


@dataclass(frozen=True)
class _Units:
    """Sentences and clauses of one passage: their embeddings and the verbatim sentence each belongs to."""

    vectors: np.ndarray
    quote_spans: list[tuple[int, int]]


class SupportScorer:
    """Scores how well each passage supports a sentence; caches the passages' sentence embeddings."""

    def __init__(self, embedder: Embedder, cache_size: int = 512) -> None:
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, int], _Units] = OrderedDict()
        self._lock = threading.Lock()  # doors answer from several threads

    def _units(self, passage: Passage) -> _Units:
        key = (passage.id, hash(passage.text))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        texts: list[str] = []
        spans: list[tuple[int, int]] = []
        for start, end in list(sentence_spans(passage.text)):
            sentence = passage.text[start:end]
            texts.append(sentence)
            spans.append((start, end))
            # A long sentence packs several claims; an answer sentence usually restates one of them.
            clauses = [c.strip() for c in _CLAUSE_BREAK.split(sentence) if len(c.split()) >= 4]
            if len(clauses) > 1:
                texts.extend(clauses)
                spans.extend([(start, end)] * len(clauses))
        if not texts:
            texts, spans = [passage.text], [(0, len(passage.text))]
        units = _Units(self.embedder.embed_documents(texts), spans)
        with self._lock:
            self._cache[key] = units
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return units

    def score(self, sentence: str, passages: Sequence[Passage]) -> list[tuple[float, tuple[int, int]]]:
        """For each passage: the best cosine to the sentence, and the span of the passage sentence achieving it."""
        vector = self.embedder.embed_query(sentence)
        out = []
        for passage in passages:
            units = self._units(passage)
            sims = units.vectors @ vector
            best = int(np.argmax(sims))
            out.append((float(sims[best]), units.quote_spans[best]))
        return out


@dataclass
class SentenceCheck:
    """The verdict on one answer sentence. `kept` holds the 1-based passage numbers that support it."""

    text: str
    cited: list[int]
    kept: list[int] = field(default_factory=list)
    reason: str | None = None
    substantive: bool = True
    scores: dict[int, tuple[float, tuple[int, int]]] = field(default_factory=dict)

    @property
    def survives(self) -> bool:
        return self.reason is None and bool(self.kept)


@dataclass
class Verified:
    """The checked answer: surviving text with renumbered markers, the citations it uses, and the verdict."""

    text: str
    citations: list[Citation]
    checks: list[SentenceCheck]
    ok: bool
    reason: str | None = None

    @property
    def dropped(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.survives]


@dataclass(frozen=True)
class _Sentence:
    line: int
    prefix: str
    raw: str
    complete: bool


def _split(answer: str, final: bool) -> list[_Sentence]:
    """Sentences of the answer with their line and list prefix; the last one is incomplete unless final."""
    text = _MARKERS_AFTER_STOP.sub(lambda m: " " + " ".join(m.group(2).split()) + m.group(1), answer)
    out: list[_Sentence] = []
    for line_no, line in enumerate(text.split("\n")):
        prefix_match = _LIST_PREFIX.match(line)
        prefix = prefix_match.group(0).strip() + " " if prefix_match else ""
        body = line[prefix_match.end() :] if prefix_match else line
        for piece in _SENTENCE_BREAK.split(body):
            if piece.strip():
                out.append(_Sentence(line_no, prefix, piece.strip(), True))
    if out and not final and not text.endswith("\n"):
        last = out[-1]
        out[-1] = _Sentence(last.line, last.prefix, last.raw, False)
    return out


def _clean(raw: str) -> str:
    text = _MARKER.sub(" ", raw)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return " ".join(text.split())


def _cited(raw: str) -> list[int]:
    return list(dict.fromkeys(citation_numbers(raw)))


class CitationVerifier:
    """Verifies LLM answers against the passages they were given (numbered from 1, in order)."""

    def __init__(
        self,
        scorer: SupportScorer,
        passages: Sequence[Passage],
        *,
        min_support: float = MIN_SUPPORT,
        max_gap: float = MAX_GAP,
        min_kept_share: float = MIN_KEPT_SHARE,
    ) -> None:
        self.scorer = scorer
        self.passages = list(passages)
        self.min_support = min_support
        self.max_gap = max_gap
        self.min_kept_share = min_kept_share
        self._checked: dict[str, SentenceCheck] = {}

    def check(self, raw: str) -> SentenceCheck:
        """The verdict on one sentence (with its [n] markers)."""
        if raw in self._checked:
            return self._checked[raw]
        text = _clean(raw)
        cited = _cited(raw)
        verdict = SentenceCheck(text=text, cited=cited, substantive=len(re.findall(r"\w+", text)) >= 4)
        valid = [n for n in cited if 1 <= n <= len(self.passages)]
        if claims_a_decision(text):
            verdict.reason = "decision_claim"
        elif not cited:
            verdict.reason = "no_citation"
        elif not valid:
            verdict.reason = "citation_out_of_range"
        else:
            scores = self.scorer.score(text, self.passages)
            best = max(score for score, _ in scores)
            for n in valid:
                score, span = scores[n - 1]
                verdict.scores[n] = (score, span)
                if score >= self.min_support and score >= best - self.max_gap:
                    verdict.kept.append(n)
            if not verdict.kept:
                verdict.reason = "unsupported"
        self._checked[raw] = verdict
        return verdict

    def verify(self, answer: str, *, final: bool = True) -> Verified:
        """Check every (complete) sentence and assemble what survives; `final=False` while streaming."""
        sentences = [s for s in _split(answer, final) if s.complete]
        checks = [self.check(s.raw) for s in sentences]
        numbering: dict[int, int] = {}
        quotes: dict[int, tuple[float, tuple[int, int]]] = {}
        lines: dict[int, tuple[str, list[str]]] = {}
        for sentence, check in zip(sentences, checks, strict=True):
            if not check.survives:
                continue
            for n in check.kept:
                numbering.setdefault(n, len(numbering) + 1)
                score, span = check.scores[n]
                if n not in quotes or score > quotes[n][0]:
                    quotes[n] = (score, span)
            markers = "".join(f"[{numbering[n]}]" for n in check.kept)
            body = check.text
            stop = body[-1] if body and body[-1] in ".!?" else "."
            body = body[:-1].rstrip() if body and body[-1] in ".!?" else body
            lines.setdefault(sentence.line, (sentence.prefix, []))[1].append(f"{body} {markers}{stop}")
        text = "\n".join(prefix + " ".join(parts) for _, (prefix, parts) in sorted(lines.items()))
        citations = [
            _quote_citation(new, self.passages[old - 1], quotes[old][1])
            for old, new in sorted(numbering.items(), key=lambda item: item[1])
        ]
        substantive = [c for c in checks if c.substantive]
        kept = [c for c in substantive if c.survives]
        ok, reason = True, None
        if not kept:
            ok, reason = False, "no_supported_sentence"
        elif len(kept) < self.min_kept_share * len(substantive):
            ok, reason = False, "too_few_supported_sentences"
        return Verified(text=text, citations=citations, checks=checks, ok=ok, reason=reason)


def _quote_citation(n: int, passage: Passage, span: tuple[int, int]) -> Citation:
    return Citation.of_chunk(n, passage.id, passage.metadata, passage.text[span[0] : span[1]])
