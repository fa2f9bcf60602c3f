"""Answers alone, per question set: `assistant eval --answers-only [--questions F ...] [--offtopic F ...]`.

For corpus owners and for question sets written apart from the code: each set gets the figures a reader
cares about (expected section retrieved in the top five, an expected section cited, must_mention terms
in the answer, in-scope questions refused, internal passages shown to partners, off-topic questions
refused), without the baseline, triage or the quality gate of the full evaluation. A figure a set cannot
measure (no expected locators, no must_mention terms, no off-topic items) is "n/a", never 0.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import BadInput
from ..identity import User
from ..service import AssistantService, create_service
from . import metrics as m
from .runner import SystemResult, score_system


@dataclass
class AnswerSetScore:
    """The assistant's figures on one question set and/or its off-topic questions."""

    name: str
    questions: int
    offtopic: int
    result: SystemResult

    def to_dict(self) -> dict[str, Any]:
        r, figures = self.result, self.result.metrics()
        return {
            "set": self.name,
            "questions": self.questions,
            "offtopic": self.offtopic,
            "hit5": figures["retrieval.hit5"],
            "mrr10": figures["retrieval.mrr10"],
            "cites_expected": figures["answers.cites_expected"],
            "must_mention_coverage": figures["answers.must_mention_coverage"],
            "false_refusals": figures["refusals.false_refusals"],
            "partner_leaks": r.partner_leaks,
            "offtopic_refused": figures["refusals.offtopic_refused"],
            "ask_p50_ms": figures["latency.ask_p50_ms"] if r.latency_ms else None,
            "retrieval_misses": r.retrieval.misses,
            "cites_no_expected_section": r.cites_missed,
            "must_mention_missing": r.coverage.missing,
            "refused_in_scope": r.refused_in_scope,
            "answered_offtopic": r.answered_offtopic,
        }


def load_questions(path: Path) -> list[dict[str, Any]]:
    """A question set (JSON lines with at least id and question); BadInput names the file and item."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        items = m.load_jsonl(path)
    except ValueError as exc:
        raise BadInput(f"{path}: not JSON lines ({exc})") from exc
    seen: set[str] = set()
    for number, item in enumerate(items, 1):
        missing = [k for k in ("id", "question") if k not in item]
        if missing:
            raise BadInput(f"{path}: item {number} lacks {', '.join(missing)}")
        if item["id"] in seen:
            raise BadInput(f"{path}: item {number} repeats id {item['id']!r}")
        seen.add(item["id"])
    return items


def score_answer_set(
    service: AssistantService,
    name: str,
    questions: Sequence[dict[str, Any]],
    offtopic: Sequence[dict[str, Any]] = (),
) -> AnswerSetScore:
    """Ask every question as its audience (no case, no trace) and score the answers and the ranking."""
    answers, off_answers, ranked, times = {}, {}, {}, []
    for item in questions:
        user = User.for_audience(item.get("audience", "internal"), user_id="eval")
        started = time.perf_counter()
        answers[item["id"]] = service.ask(item["question"], user, channel="eval", open_case=False)
        times.append((time.perf_counter() - started) * 1000)
        retrieval = service.retriever.retrieve(item["question"], user.audiences, k=10)
        ranked[item["id"]] = [p.metadata for p in retrieval.passages]
    for item in offtopic:
        user = User.for_audience(item.get("audience", "internal"), user_id="eval")
        off_answers[item["id"]] = service.ask(item["question"], user, channel="eval", open_case=False)
    result = score_system(
        "assistant",
        service,
        list(questions),
        ranked,
        answers,
        off_answers,
        times,
        m.locator_documents(service, questions),
    )
    return AnswerSetScore(name, len(questions), len(offtopic), result)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _line(score: AnswerSetScore) -> str:
    d = score.to_dict()
    parts = [f"{d['set']}:"]
    if score.questions:
        parts += [
            f"n={d['questions']} hit@5={_fmt(d['hit5'])} cites expected={_fmt(d['cites_expected'])}",
            f"must_mention={_fmt(d['must_mention_coverage'])} refused in scope={_fmt(d['false_refusals'])}",
            f"partner leaks={d['partner_leaks']}",
        ]
    if score.offtopic:
        parts.append(f"off-topic refused={_fmt(d['offtopic_refused'])} of {d['offtopic']}")
    return " ".join(parts)


def main_answer_eval(
    settings: Settings, question_files: Sequence[Path], offtopic_files: Sequence[Path], *, as_json: bool
) -> int:
    """Print the figures per question set and per off-topic set; exit 0 (figures are not gated here)."""
    empty: list[dict[str, Any]] = []
    sets = [(p.name, load_questions(p), empty) for p in question_files]
    sets += [(p.name, empty, load_questions(p)) for p in offtopic_files]
    service = create_service(settings)
    service.warm_up()
    results = [score_answer_set(service, name, qs, off) for name, qs, off in sets]
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    for result in results:
        print(_line(result))
        d = result.to_dict()
        for qid in d["cites_no_expected_section"]:
            print(f"  {qid}: no expected section cited")
        for qid in d["answered_offtopic"]:
            print(f"  {qid}: off-topic question answered")
    return 0
