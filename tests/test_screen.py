"""Deals end to end: screen and ask open cases once, cite policy the user may read, and flow to a decision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import QuestionError
from assistant.identity import User
from assistant.service import AssistantService

from .conftest import run_cli

STAFF = User(id="rep-1", role="sales", org="internal")
PARTNER = User(id="reseller-7", role="partner", org="acme-reseller")
SANCTIONED = "Partner wants 40 rack servers for a university in Tehran, shipped through a Dubai warehouse."
HIDDEN_MINISTRY = (
    "Reseller in Egypt wants video analytics cameras with face matching for a ministry, "
    "but they'd rather not say which ministry."
)
OFFICE = "Twenty laptops and two office printers for a bakery in Lyon."


def test_screen_levels_reasons_and_citations(corpus_service: AssistantService) -> None:
    result = corpus_service.screen(SANCTIONED, STAFF, open_case=False)
    assert result.level == "prohibited"
    assert result.reasons and all(r.rule and r.text for r in result.reasons)
    assert any(c.locator for r in result.reasons for c in r.citations), "reasons must cite the policy"
    assert result.case_ref is None
    assert corpus_service.screen(OFFICE, STAFF, open_case=False).level == "proceed"


def test_partner_never_sees_internal_clauses_as_reasons(corpus_service: AssistantService) -> None:
    result = corpus_service.screen(HIDDEN_MINISTRY, PARTNER, open_case=False)
    assert result.level in ("escalate", "prohibited")
    assert all(c.audience in ("public", "partner") for r in result.reasons for c in r.citations)
    assert result.next_steps
    internal_refs = [step for step in result.next_steps if "RAS " in step or "SEP " in step]
    assert internal_refs == [], "a partner must not be pointed at internal clauses"
    staff = corpus_service.screen(HIDDEN_MINISTRY, STAFF, open_case=False)
    assert any(c.doc_id == "ras" for r in staff.reasons for c in r.citations), "staff see the internal basis"


def test_ask_about_a_risky_deal_opens_one_case(corpus_service: AssistantService) -> None:
    first = corpus_service.ask(HIDDEN_MINISTRY, STAFF, channel="test")
    assert first.risk is not None and first.risk.level in ("escalate", "prohibited")
    assert first.case_ref and first.answer.startswith("Risk:")
    assert first.case_ref in first.answer
    retry = corpus_service.ask(HIDDEN_MINISTRY, STAFF, channel="test")
    assert retry.case_ref == first.case_ref, "a retried question must not open a second case"
    plain = corpus_service.ask("What does UNGP Principle 17 say?", STAFF)
    assert plain.risk is None and plain.case_ref is None


@pytest.mark.parametrize(
    "question",
    [
        "What's the best way to configure BGP on a home router?",
        "How do firewalls with URL filtering work?",
        "What does UNGP Principle 17 say?",
        "Which red flags should a partner's sales staff watch for?",
    ],
)
def test_questions_that_describe_no_deal_open_no_case(corpus_service: AssistantService, question: str) -> None:
    answer = corpus_service.ask(question, STAFF, channel="no-deal")
    assert answer.case_ref is None and answer.risk is None, answer.risk


def test_a_deal_without_close_guidance_still_gets_its_triage(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask(SANCTIONED + " Can we go ahead?", STAFF, open_case=False)
    assert not answer.refused
    assert answer.risk is not None and answer.risk.level == "prohibited"
    assert answer.answer.startswith("Risk: Prohibited.") and "Why:" in answer.answer
    assert answer.next_steps and answer.citations
    assert {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)} == {c.n for c in answer.citations}


@pytest.mark.parametrize("deal", ["", "  ", "d" * 4001])
def test_bad_deals_are_refused(corpus_service: AssistantService, deal: str) -> None:
    with pytest.raises(QuestionError):
        corpus_service.screen(deal, STAFF)


def test_cli_screen_case_decision_and_verify(cli_home: Path, tmp_path: Path) -> None:
    screened = run_cli("screen", "--json", SANCTIONED, home=cli_home)
    assert screened.returncode == 0, screened.stderr
    data = json.loads(screened.stdout)
    assert {"level", "reasons", "signals", "next_steps", "case_ref", "elapsed_ms"} <= set(data)
    ref = data["case_ref"]
    assert data["level"] == "prohibited" and ref and ref.startswith("DD-")

    listed = run_cli("cases", "list", "--json", home=cli_home)
    assert listed.returncode == 0 and ref in listed.stdout

    missing_comment = run_cli("cases", "decide", ref, "reject", "--by", "alice", "--comment", " ", home=cli_home)
    assert missing_comment.returncode == 2 and len(missing_comment.stderr.strip().splitlines()) == 1
    decided = run_cli("cases", "decide", ref, "reject", "--by", "alice", "--comment", "Sanctioned.", home=cli_home)
    assert decided.returncode == 0, decided.stderr
    shown = run_cli("cases", "show", ref, home=cli_home)
    assert "rejected" in shown.stdout and "alice" in shown.stdout
    assert run_cli("cases", "verify", home=cli_home).returncode == 0
    unknown = run_cli("cases", "show", "DD-1999-0001", home=cli_home)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr

    batch = tmp_path / "deals.jsonl"
    batch.write_text(
        json.dumps({"id": "a", "scenario": OFFICE}) + "\n" + json.dumps({"id": "b", "scenario": SANCTIONED}) + "\n",
        encoding="utf-8",
    )
    out = run_cli("screen", "--batch", str(batch), "--json", "--no-case", home=cli_home)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["level"], r["case_ref"]) for r in rows] == [("a", "proceed", None), ("b", "prohibited", None)]
    empty = run_cli("screen", "", home=cli_home)
    assert empty.returncode == 2 and "empty" in empty.stderr
