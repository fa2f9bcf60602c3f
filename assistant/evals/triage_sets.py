"""Triage alone, on deal sets and on the deals compliance has decided: `assistant eval --triage-only`
and `assistant eval --decided-cases`.

A decided case teaches the evaluation when compliance's judgement differs from triage's level:
- the decision names the right level (`cases decide ... --level escalate`): that level;
- an approve of a case triaged prohibited: escalate (compliance found it approvable, so it needed a review,
  not a stop);
- a reject of a case triaged below escalate: escalate (compliance stopped it, so it needed a review).
Cases where compliance agreed with triage teach nothing new and are left out. Nothing here changes the
policy: the output shows where triage and compliance disagree, for people to act on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..enums import CASE_LEVELS, LEVELS
from ..errors import BadInput
from ..service import AssistantService, create_service
from . import metrics as m


@dataclass
class DealSetScore:
    """Triage figures on one set of labelled deals."""

    name: str
    scores: m.TriageScores
    median_ms: float
    items: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        s = self.scores
        return {
            "set": self.name,
            "n": s.n,
            "exact": round(s.accuracy, 3),
            "escalation_recall": round(s.escalation_recall, 3),
            "prohibited_recall": round(s.prohibited_recall, 3),
            "proceed_escalated": round(s.false_escalation_rate, 3),
            "under_triage": round(s.under_triage_rate, 3),
            "median_ms": round(self.median_ms, 1),
            "mismatches": [
                {"id": i, "expected": e, "predicted": p, "why": self.items[i].get("why", "")}
                for i, e, p in s.mismatches
            ],
        }


def decided_examples(service: AssistantService) -> list[dict[str, Any]]:
    """Deals compliance decided at another level than triage, as deal-set items (id = case ref)."""
    store = service.cases
    out: list[dict[str, Any]] = []
    for case in store.list(limit=None):
        decision = next(
            (e for e in reversed(store.events(case.ref)) if e.action in ("approve", "reject")),
            None,
        )
        if decision is None:
            continue
        corrected = decision.payload.get("corrected_level")
        if corrected in LEVELS and corrected != case.level:
            expected, why = corrected, f"compliance: triage was wrong, should be {corrected}"
        elif decision.action == "approve" and case.level == "prohibited":
            expected, why = "escalate", "compliance approved a deal triage prohibited"
        elif decision.action == "reject" and case.level not in CASE_LEVELS:
            expected, why = "escalate", f"compliance rejected a deal triage rated {case.level}"
        else:
            continue
        text = str(case.facts.get("text") or case.summary)
        out.append({"id": case.ref, "scenario": text, "expected": expected, "why": why, "triaged": case.level})
    return out


def score_items(service: AssistantService, name: str, items: Sequence[dict[str, Any]]) -> DealSetScore:
    """Triage every item as a screening would (no case, no trace) and score the levels."""
    outcomes: list[tuple[str, str, str]] = []
    times: list[float] = []
    for item in items:
        started = time.perf_counter()
        # Triage only: an evaluation is not a screening, so it opens no case and leaves no trace.
        level = service.triage.assess(text=str(item["scenario"]), is_deal=True).level
        times.append((time.perf_counter() - started) * 1000)
        outcomes.append((str(item["id"]), str(item["expected"]), level))
    median = sorted(times)[len(times) // 2] if times else 0.0
    return DealSetScore(name, m.triage_scores(outcomes), median, {str(i["id"]): dict(i) for i in items})


def _load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    items = m.load_jsonl(path)
    for number, item in enumerate(items, 1):
        missing = [k for k in ("id", "scenario", "expected") if k not in item]
        if missing:
            raise BadInput(f"{path}: item {number} lacks {', '.join(missing)}")
        if item["expected"] not in LEVELS:
            raise BadInput(f"{path}: item {item['id']}: unknown level {item['expected']!r}")
    return items


def _line(score: DealSetScore) -> str:
    d = score.to_dict()
    return (
        f"{d['set']}: n={d['n']} exact={d['exact']:.3f} escalation recall={d['escalation_recall']:.3f} "
        f"prohibited recall={d['prohibited_recall']:.3f} proceed escalated={d['proceed_escalated']:.3f} "
        f"median {d['median_ms']:.0f} ms"
    )


def main_triage_eval(
    settings: Settings, deal_files: Iterable[Path], *, decided_cases: bool, as_json: bool, show: bool = True
) -> int:
    """Print triage figures per deal set (and for decided cases); exit 0 (figures are not gated here)."""
    files = list(deal_files)
    sets = [(path.name, _load(path)) for path in files]
    service = create_service(settings)
    results = [score_items(service, name, items) for name, items in sets]
    if decided_cases:
        results.append(score_items(service, "decided cases", decided_examples(service)))
    if as_json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    for result in results:
        print(_line(result))
        if show:
            for mismatch in result.to_dict()["mismatches"]:
                print(f"  {mismatch['id']}: expected {mismatch['expected']}, got {mismatch['predicted']}")
    return 0
