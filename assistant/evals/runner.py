"""`assistant eval`: run the team's data sets through the service and the LangChain baseline, score, gate.

One run asks every question (as its audience, without opening cases), screens every deal, runs the
baseline on the same questions, and scores both with the same functions from `metrics`. The outcome
is an `EvalReport`: flat metrics for the gate, details for the report, and the failures to read.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..answers.models import Answer
from ..config import Settings
from ..enums import LEVELS
from ..errors import BadInput
from ..identity import User
from ..service import AssistantService, create_service
from . import metrics as m
from .baseline import LangChainBaseline
from .gate import DEFAULT_THRESHOLDS, GateCheck, check, load_thresholds

EVALS_DIR = Path(__file__).resolve().parents[2] / "evals"
STAFF = User.for_audience("internal", user_id="eval")


@dataclass
class SystemResult:
    """Everything measured for one system (the assistant or the baseline) over the question sets."""

    name: str
    retrieval: m.RetrievalScores
    coverage: m.Coverage
    answers: int
    valid_answers: int
    invalid: dict[str, dict[str, list[int]]]
    partner_leaks: int
    support: m.Support
    offtopic_refused: float | None
    false_refusals: float | None
    refused_in_scope: list[str]
    answered_offtopic: list[str]
    latency_ms: list[float]
    per_topic: dict[str, dict[str, float | None]]
    cites_expected: float | None = None
    cites_missed: list[str] = field(default_factory=list)

    @property
    def citation_validity(self) -> float:
        return self.valid_answers / self.answers if self.answers else 1.0

    def metrics(self) -> dict[str, float | None]:
        """The flat figures the gate and the report compare (keys as in evals/thresholds.yaml).

        A figure the data cannot measure (no expected locators, no must_mention terms, no off-topic items)
        is None, shown as "n/a", never 0.0."""
        return {
            "retrieval.hit1": self.retrieval.hit1,
            "retrieval.hit5": self.retrieval.hit5,
            "retrieval.mrr10": self.retrieval.mrr10,
            "retrieval.doc_hit5": self.retrieval.doc_hit5,
            "answers.cites_expected": self.cites_expected,
            "answers.must_mention_coverage": self.coverage.coverage,
            "answers.must_mention_complete": self.coverage.complete_rate,
            "answers.citation_validity": self.citation_validity,
            "answers.partner_leaks": float(self.partner_leaks),
            "answers.citation_support": self.support.rate,
            "answers.uncited_share": self.support.uncited_share,
            "refusals.offtopic_refused": self.offtopic_refused,
            "refusals.false_refusals": self.false_refusals,
            "latency.ask_p50_ms": m.percentile(self.latency_ms, 0.5),
            "latency.ask_p95_ms": m.percentile(self.latency_ms, 0.95),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "metrics": self.metrics(),
            "retrieval_ranks": self.retrieval.ranks,
            "retrieval_misses": self.retrieval.misses,
            "must_mention_missing": self.coverage.missing,
            "cites_no_expected_section": self.cites_missed,
            "invalid_citations": self.invalid,
            "unsupported_sentences": [
                {"id": qid, "sentence": s, "similarity": round(sim, 3)} for qid, s, sim in self.support.unsupported
            ],
            "refused_in_scope": self.refused_in_scope,
            "answered_offtopic": self.answered_offtopic,
            "latency_ms": [round(x, 2) for x in self.latency_ms],
            "per_topic": self.per_topic,
        }


@dataclass
class EvalReport:
    """One evaluation run: both systems, triage, the gate, and where the data came from."""

    created_at: str
    data: dict[str, Any]
    assistant: SystemResult
    baseline: SystemResult
    triage: m.TriageScores
    triage_latency_ms: list[float]
    triage_why: dict[str, str] = field(default_factory=dict)
    gate: list[GateCheck] = field(default_factory=list)
    thresholds_file: str = ""
    elapsed_s: float = 0.0

    def metrics(self) -> dict[str, float | None]:
        """The assistant's flat figures plus triage (which has no baseline)."""
        out = self.assistant.metrics()
        out.update(
            {
                "triage.exact_accuracy": self.triage.accuracy,
                "triage.escalation_recall": self.triage.escalation_recall,
                "triage.false_escalation_rate": self.triage.false_escalation_rate,
                "triage.under_triage_rate": self.triage.under_triage_rate,
                "latency.screen_p95_ms": m.percentile(self.triage_latency_ms, 0.95),
            }
        )
        return out

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.gate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at,
            "data": self.data,
            "passed": self.passed,
            "elapsed_s": round(self.elapsed_s, 2),
            "metrics": self.metrics(),
            "baseline_metrics": self.baseline.metrics(),
            "gate": [c.to_dict() for c in self.gate],
            "thresholds_file": self.thresholds_file,
            "assistant": self.assistant.to_dict(),
            "baseline": self.baseline.to_dict(),
            "triage": {
                "labels": list(self.triage.labels),
                "matrix": self.triage.matrix,
                "n": self.triage.n,
                "exact": self.triage.exact,
                "mismatches": [
                    {"id": i, "expected": e, "predicted": p, "why": self.triage_why.get(i, "")}
                    for i, e, p in self.triage.mismatches
                ],
                "latency_ms": [round(x, 2) for x in self.triage_latency_ms],
                "baseline": None,
            },
        }


class _Progress:
    """A tqdm bar on stderr when it is a terminal (and asked for); silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, unit="item", leave=False)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self._bar is not None:
            self._bar.set_description(name)
        yield

    def step(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _load(path: Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    try:
        items = m.load_jsonl(path)
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: {exc}") from exc
    seen: set[str] = set()
    for line, item in enumerate(items, 1):
        missing = [k for k in required if k not in item]
        if missing:
            raise BadInput(f"{path}: item {line} lacks {', '.join(missing)}")
        if item["id"] in seen:
            raise BadInput(f"{path}: item {line} repeats id {item['id']!r}")
        seen.add(item["id"])
        if "expected" in required and item["expected"] not in LEVELS:
            raise BadInput(f"{path}: item {line}: expected must be one of {', '.join(LEVELS)}")
    return items


def _per_topic(
    items: list[dict[str, Any]], retrieval: m.RetrievalScores, answers: Mapping[str, Answer]
) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(str(item.get("topic") or "(none)"), []).append(item)
    out: dict[str, dict[str, float | None]] = {}
    for topic, group in sorted(groups.items()):
        ranks = [retrieval.ranks[i["id"]] for i in group if i["id"] in retrieval.ranks]
        cov = m.must_mention_coverage(answers, group)
        out[topic] = {
            "n": float(len(group)),
            "hit1": sum(r == 1 for r in ranks) / len(ranks) if ranks else None,
            "hit5": sum(r is not None and r <= 5 for r in ranks) / len(ranks) if ranks else None,
            "mrr10": sum(1 / r for r in ranks if r is not None) / len(ranks) if ranks else None,
            "must_mention_coverage": cov.coverage,
        }
    return out


_CITED_CACHE = 4096


def cited_chunks(
    service: AssistantService,
) -> tuple[Callable[[str], str | None], Callable[[str], np.ndarray | None]]:
    """Text and stored embedding of a cited chunk, fetched from the store by id through a bounded cache."""

    @functools.lru_cache(maxsize=_CITED_CACHE)
    def fetch(ident: str) -> tuple[str, np.ndarray | None] | None:
        found = service.store.fetch([ident]).get(ident)
        return None if found is None else (found[0].text, found[1])

    def chunk_text(ident: str) -> str | None:
        found = fetch(ident)
        return None if found is None else found[0]

    def chunk_vector(ident: str) -> np.ndarray | None:
        found = fetch(ident)
        return None if found is None else found[1]

    return chunk_text, chunk_vector


def score_system(
    name: str,
    service: AssistantService,
    questions: list[dict[str, Any]],
    ranked: dict[str, list[dict[str, Any]]],
    answers: dict[str, Answer],
    offtopic_answers: dict[str, Answer],
    latency_ms: list[float],
    doc_of: Mapping[str, str],
) -> SystemResult:
    chunk_text, chunk_vector = cited_chunks(service)

    retrieval = m.retrieval_scores(ranked, questions, doc_of)
    cites, cites_missed = m.cites_expected(answers, questions)
    audience_of = {q["id"]: User.for_audience(q.get("audience", "internal")).audiences for q in questions}
    invalid: dict[str, dict[str, list[int]]] = {}
    answered = {qid: a for qid, a in answers.items() if not a.refused}
    leaks = 0
    for qid, answer in answered.items():
        result = m.check_citations(answer, chunk_text, audience_of[qid])
        leaks += len(result.wrong_audience)
        if not result.valid:
            invalid[qid] = {k: v for k, v in vars(result).items() if v}
    support = m.citation_support(answers, service.embedder.embed_documents, chunk_text, chunk_vector)
    refused_in_scope = [qid for qid, a in answers.items() if a.refused]
    answered_offtopic = [qid for qid, a in offtopic_answers.items() if not a.refused]
    return SystemResult(
        name=name,
        retrieval=retrieval,
        coverage=m.must_mention_coverage(answers, questions),
        answers=len(answered),
        valid_answers=len(answered) - len(invalid),
        invalid=invalid,
        partner_leaks=leaks,
        support=support,
        offtopic_refused=m.refusal_rate(offtopic_answers.values()) if offtopic_answers else None,
        false_refusals=len(refused_in_scope) / len(answers) if answers else None,
        refused_in_scope=refused_in_scope,
        answered_offtopic=answered_offtopic,
        latency_ms=latency_ms,
        per_topic=_per_topic(questions, retrieval, answers),
        cites_expected=cites,
        cites_missed=cites_missed,
    )


def run_eval(
    service: AssistantService,
    *,
    questions: Path,
    deals: Path,
    offtopic: Path,
    report_dir: Path | None = None,
    progress: bool = False,
    thresholds: Path | None = DEFAULT_THRESHOLDS,
) -> EvalReport:
    """Evaluate the service and the LangChain baseline on the three data sets, in one run.

    Questions are asked as their `audience` (default internal), deals are screened as staff; no case
    is opened. With `report_dir`, the Markdown report, its PNG charts and report.json are written
    there. With `thresholds` (None: no gate), every metric is held against its bar.
    """
    started = time.perf_counter()
    q_items = _load(questions, ("id", "question"))
    off_items = _load(offtopic, ("id", "question"))
    deal_items = _load(deals, ("id", "scenario", "expected"))
    bars = load_thresholds(thresholds) if thresholds is not None else []

    service.warm_up()
    doc_of = m.locator_documents(service, q_items)
    bar = _Progress(2 * (len(q_items) + len(off_items)) + len(deal_items) + 2, progress)
    try:
        ours: dict[str, Answer] = {}
        ours_off: dict[str, Answer] = {}
        ours_ranked: dict[str, list[dict[str, Any]]] = {}
        ours_ms: list[float] = []
        # Every question is embedded once more, in one batch, for the top-10 ranking (ask keeps 8) and for
        # the baseline: the model is by far the largest cost of a run.
        asked = {str(i["question"]) for i in [*q_items, *off_items]}
        searched = {q: service.retriever.query_text(q) for q in asked}
        query_vectors = service.embedder.embed_many(sorted(asked | set(searched.values())))
        with bar.stage("assistant: questions"):
            for item in q_items:
                user = User.for_audience(item.get("audience", "internal"), user_id="eval")
                t0 = time.perf_counter()
                ours[item["id"]] = service.ask(item["question"], user, channel="eval", open_case=False)
                ours_ms.append((time.perf_counter() - t0) * 1000)
                retrieval = service.retriever.retrieve(
                    item["question"], user.audiences, k=10, query_embedding=query_vectors[searched[item["question"]]]
                )
                ours_ranked[item["id"]] = [p.metadata for p in retrieval.passages]
                bar.step()
        with bar.stage("assistant: off-topic"):
            for item in off_items:
                user = User.for_audience(item.get("audience", "internal"), user_id="eval")
                t0 = time.perf_counter()
                ours_off[item["id"]] = service.ask(item["question"], user, channel="eval", open_case=False)
                ours_ms.append((time.perf_counter() - t0) * 1000)
                bar.step()
        outcomes: list[tuple[str, str, str]] = []
        screen_ms: list[float] = []
        with bar.stage("triage: deals"):
            for item in deal_items:
                t0 = time.perf_counter()
                # Triage only: an evaluation is not a screening, so it opens no case and leaves no trace.
                level = service.triage.assess(text=item["scenario"], is_deal=True).level
                screen_ms.append((time.perf_counter() - t0) * 1000)
                outcomes.append((item["id"], item["expected"], level))
                bar.step()
        triage = m.triage_scores(outcomes)

        base: dict[str, Answer] = {}
        base_off: dict[str, Answer] = {}
        base_ranked: dict[str, list[dict[str, Any]]] = {}
        base_ms: list[float] = []
        with (
            bar.stage("baseline: index"),
            LangChainBaseline(service.store.scan(True, True), service.embedder, queries=query_vectors) as baseline,
        ):
            bar.step()
            with bar.stage("baseline: questions"):
                for in_scope, item in [(True, q) for q in q_items] + [(False, o) for o in off_items]:
                    audiences = User.for_audience(item.get("audience", "internal")).audiences
                    t0 = time.perf_counter()
                    docs = baseline.search(item["question"], audiences)
                    answer = baseline.answer(item["question"], audiences, docs)
                    base_ms.append((time.perf_counter() - t0) * 1000)
                    if in_scope:
                        base[item["id"]] = answer
                        base_ranked[item["id"]] = [dict(d.metadata) for d in docs]
                    else:
                        base_off[item["id"]] = answer
                    bar.step()
        with bar.stage("scoring"):
            assistant = score_system("assistant", service, q_items, ours_ranked, ours, ours_off, ours_ms, doc_of)
            base_result = score_system(
                "LangChain baseline", service, q_items, base_ranked, base, base_off, base_ms, doc_of
            )
            bar.step()
    finally:
        bar.close()

    report = EvalReport(
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        data={
            "questions": {"path": str(questions), "n": len(q_items)},
            "offtopic": {"path": str(offtopic), "n": len(off_items)},
            "deals": {"path": str(deals), "n": len(deal_items)},
            "chunks": service.store.count(),
            "embedding_model": "/".join(Path(service.settings.embedding_model).parts[-2:]),
            "generator": next(iter(ours.values())).generator if ours else "extractive",
        },
        assistant=assistant,
        baseline=base_result,
        triage=triage,
        triage_latency_ms=screen_ms,
        triage_why={str(d["id"]): str(d.get("why", "")) for d in deal_items},
        thresholds_file=str(thresholds) if thresholds is not None else "",
    )
    report.gate = check(bars, report.metrics(), base_result.metrics())
    report.elapsed_s = time.perf_counter() - started
    if report_dir is not None:
        from .report import write_report

        write_report(report, report_dir)
    return report


def summary(report: EvalReport) -> str:
    """The terminal summary: each figure beside the baseline's, then the gate."""
    ours, base = report.metrics(), report.baseline.metrics()
    bar_of = {c.metric: c for c in report.gate}
    lines = [f"{'metric':34} {'assistant':>10} {'baseline':>10}  gate"]
    for key, value in ours.items():
        other = f"{base[key]:.3g}" if key in base else "n/a"
        check_ = bar_of.get(key)
        verdict = "" if check_ is None else f"{'ok' if check_.ok else 'FAIL'} ({check_.bar})"
        lines.append(f"{key:34} {value:>10.3g} {other:>10}  {verdict}")
    lines.append("")
    lines.append("triage has no baseline (plain retrieval does not classify deals); the baseline never refuses.")
    failed = [c for c in report.gate if not c.ok]
    if not report.gate:
        lines.append("no thresholds given: nothing gated")
    elif failed:
        lines.append("GATE FAILED: " + ", ".join(f"{c.metric}={c.value} (needs {c.bar})" for c in failed))
    else:
        lines.append(f"gate passed: {len(report.gate)} thresholds met")
    return "\n".join(lines)


def main_eval(
    settings: Settings,
    *,
    questions: Path = EVALS_DIR / "questions.jsonl",
    deals: Path = EVALS_DIR / "deals.jsonl",
    offtopic: Path = EVALS_DIR / "offtopic.jsonl",
    as_json: bool = False,
    report_dir: Path | None = None,
    thresholds: Path | None = DEFAULT_THRESHOLDS,
) -> int:
    """The `assistant eval` command: 0 when every threshold is met, 1 when one fails.

    Missing data files raise BadInput (the CLI maps it to exit 2).
    """
    for path in (questions, deals, offtopic):
        if not path.is_file():
            raise BadInput(f"{path}: no such file")
    service = create_service(settings)
    service.ensure_indexed()
    report = run_eval(
        service,
        questions=questions,
        deals=deals,
        offtopic=offtopic,
        report_dir=report_dir,
        progress=True,
        thresholds=thresholds if thresholds is not None and thresholds.is_file() else None,
    )
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(summary(report))
        if report_dir is not None:
            print(f"\nreport: {report_dir / 'report.md'}")
    return 0 if report.passed else 1
