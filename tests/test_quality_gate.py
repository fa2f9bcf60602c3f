"""The CI quality gate: the team's evaluation sets through the real service, each metric against its bar.

One evaluation run per test session (reusing the session's indexed corpus); every threshold in
evals/thresholds.yaml is then its own test, so a failure names the metric, its value and the reason.
"""

from __future__ import annotations

import pytest

from assistant.evals.gate import Threshold, check, load_thresholds
from assistant.evals.runner import EvalReport, run_eval
from assistant.service import AssistantService

from .conftest import EVALS

THRESHOLDS = load_thresholds(EVALS / "thresholds.yaml")


@pytest.fixture(scope="module")
def team_report(corpus_service: AssistantService) -> EvalReport:
    return run_eval(
        corpus_service,
        questions=EVALS / "questions.jsonl",
        deals=EVALS / "deals.jsonl",
        offtopic=EVALS / "offtopic.jsonl",
        report_dir=None,
        thresholds=None,  # checked one by one below
    )


def test_team_sets_are_large_enough(team_report: EvalReport) -> None:
    assert team_report.data["questions"]["n"] >= 80
    assert team_report.data["offtopic"]["n"] >= 20
    assert team_report.data["deals"]["n"] >= 80


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=[t.metric for t in THRESHOLDS])
def test_metric_meets_threshold(team_report: EvalReport, threshold: Threshold) -> None:
    (result,) = check([threshold], team_report.metrics(), team_report.baseline.metrics())
    baseline = team_report.baseline.metrics().get(threshold.metric)
    assert result.ok, (
        f"{threshold.metric} = {result.value} (baseline {baseline}) misses {result.bar}: {threshold.reason}\n"
        f"retrieval misses: {team_report.assistant.retrieval.misses}\n"
        f"refused in scope: {team_report.assistant.refused_in_scope}; "
        f"answered off-topic: {team_report.assistant.answered_offtopic}\n"
        f"triage mismatches: {team_report.triage.mismatches}"
    )
