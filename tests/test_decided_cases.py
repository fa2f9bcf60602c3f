"""Compliance decisions teach the evaluation: `assistant eval --decided-cases` scores triage on the deals
compliance decided at another level, through the real CLI on a real case database."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import run_cli

PROHIBITED = "Buyer is on the OFAC SDN list; 30 office PCs for their office in Madrid."
ESCALATED = "Thai partner has a tender for 800 body-worn cameras for provincial police."
AGREED = "Reseller in Minsk wants 40 laptops for a bank."


def _screen(home: Path, deal: str) -> str:
    done = run_cli("screen", deal, "--json", home=home)
    assert done.returncode == 0, done.stderr
    ref = json.loads(done.stdout)["case_ref"]
    assert ref
    return str(ref)


def test_decisions_that_differ_from_triage_become_labelled_examples(cli_home: Path) -> None:
    approved_stop = _screen(cli_home, PROHIBITED)
    corrected = _screen(cli_home, ESCALATED)
    agreed = _screen(cli_home, AGREED)
    steps = [
        # A prohibited case is approved by two different reviewers.
        ("decide", approved_stop, "approve", "--comment", "the listing was a namesake", "--by", "carol"),
        ("decide", approved_stop, "approve", "--comment", "cleared with OFAC's help desk", "--by", "dave"),
        ("decide", corrected, "approve", "--comment", "office use only", "--level", "enhanced_due_diligence"),
        ("decide", agreed, "reject", "--comment", "embargoed destination"),
    ]
    for step in steps:
        by = () if "--by" in step else ("--by", "carol")
        done = run_cli("cases", *step, *by, home=cli_home)
        assert done.returncode == 0, done.stderr

    done = run_cli("eval", "--decided-cases", "--json", home=cli_home)
    assert done.returncode == 0, done.stderr
    (decided,) = json.loads(done.stdout)
    assert decided["set"] == "decided cases"
    assert decided["n"] == 2  # the agreed rejection teaches nothing new
    disagreements = {m["id"]: m for m in decided["mismatches"]}
    assert disagreements[approved_stop]["expected"] == "escalate"
    assert disagreements[approved_stop]["predicted"] == "prohibited"
    assert disagreements[corrected]["expected"] == "enhanced_due_diligence"
    assert "should be enhanced_due_diligence" in disagreements[corrected]["why"]


def test_an_unknown_corrected_level_is_refused_in_one_line(cli_home: Path) -> None:
    ref = _screen(cli_home, ESCALATED)
    args = ("decide", ref, "approve", "--by", "carol", "--comment", "x", "--level", "fine")
    done = run_cli("cases", *args, home=cli_home)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
