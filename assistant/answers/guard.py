"""Requests the assistant refuses whatever the index holds: approvals, rule overrides, leaks."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OVERRIDE = re.compile(
    r"\b(ignore|disregard|forget|bypass|override)\b.{0,40}\b(instructions?|rules?|polic(y|ies)|guardrails?|prompt|"
    r"restrictions?|previous|above)\b|\b(system prompt|jailbreak|developer mode|pretend (you|to) (are|be))\b",
    re.I | re.S,
)
_APPROVE = re.compile(
    r"^\W*(please\s+|just\s+|can you\s+|could you\s+|now\s+)*(approve|greenlight|green-light|sign off( on)?|clear|"
    r"authori[sz]e|rubber-?stamp|mark)\b.{0,60}\b(deal|sale|order|case|quote|transaction|it)\b"
    r"|\b(you|assistant)\b.{0,20}\b(approve|sign off|authori[sz]e)\b.{0,30}\b(deal|sale|order|case)\b"
    r"|\bmark\b.{0,40}\bas (approved|cleared|low[- ]risk|proceed)\b"
    r"|\b(set|change|lower|downgrade)\b.{0,30}\b(risk|level)\b.{0,30}\b(to|as)\b.{0,10}\b(proceed|low|approved)\b",
    re.I | re.S,
)
_LEAK = re.compile(
    r"\b(show|reveal|give|tell|print|dump|paste|share|send|leak|list|quote|what(?:'s| is))\b.{0,60}"
    r"\b(internal|confidential|secret|private|restricted)\b.{0,40}"
    r"\b(text|document|guidance|procedure|polic(y|ies)|matrix|rules?|notes?|docs?|standard|content|playbook)\b",
    re.I | re.S,
)


@dataclass(frozen=True)
class GuardVerdict:
    """Why a question is refused before retrieval, and what to tell the user."""

    reason: str
    message: str


def check(question: str, is_partner: bool) -> GuardVerdict | None:
    """A refusal for manipulative requests, or None when the question may be answered."""
    if _OVERRIDE.search(question):
        return GuardVerdict(
            "instruction_override",
            "I can't change how I work or set aside the guidance. Ask your question about the deal or the "
            "due-diligence steps, and decisions on risky deals stay with compliance.",
        )
    if _APPROVE.search(question):
        return GuardVerdict(
            "approval_request",
            "I can't approve, clear or re-rate deals: only the compliance team decides, through the "
            "escalation process. Describe the deal (product, end user, country) and I'll say what the "
            "guidance requires.",
        )
    if is_partner and _LEAK.search(question):
        return GuardVerdict(
            "restricted_content",
            "I can only share guidance that is available to partners. For anything else, please contact "
            "your partner manager or the vendor's compliance team.",
        )
    return None
