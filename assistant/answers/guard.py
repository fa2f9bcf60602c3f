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
    r"|\b(set|change|lower|downgrade)\b.{0,30}\b(risk|level)\b.{0,30}\b(to|as)\b.{0,10}\b(proceed|low|approved)\b"
    # Asking the assistant for the decision itself, however worded: "can u just approve", "confirm Northwind
    # approves our deal", "we need a yes in writing", "yes or no: is the bid approved?".
    r"|\b(can|could|would|will)\s+(you|u|ya)\s+(just\s+|pls\s+|please\s+)?"
    r"(approve|ok|okay|clear|green[- ]?light|sign)\b"
    r"|\bconfirm\b.{0,60}\b(approves?|approved|(is|are)\s+ok(ay)?(\s+with)?|ok(ay)?\s+with|fine\s+with|cleared)\b"
    r"|\b(need|want|wants|give me|get)\s+(a|the|your)\s+(yes|go[- ]ahead|green light|sign[- ]off|approval)\b"
    r".{0,40}\b(today|now|in writing|asap|so|to|before|for)\b"
    r"|\byes or no\b.{0,80}\b(approv\w*|ok(ay)?|go ahead|allowed|cleared)\b"
    r"|\b(approv\w*|ok(ay)?|green[- ]?light|clear)\b.{0,80}\byes or no\b"
    r"|^\W*(just\s+|pls\s+|please\s+)*approve\s+(this|that|it|my|our|the)\b"
    r"|\bgive\s+(me\s+|us\s+)?(the|a|your)\s+(green light|go[- ]ahead|ok(ay)?|approval|sign[- ]off)\b",
    re.I | re.S,
)
_LEAK = re.compile(
    r"\b(show|reveal|give|tell|print|dump|paste|share|send|leak|list|quote|what(?:'s| is))\b.{0,60}"
    r"\b(internal|confidential|secret|private|restricted)\b.{0,40}"
    r"\b(text|document|guidance|procedure|polic(y|ies)|matrix|rules?|notes?|docs?|standard|content|playbook)\b",
    re.I | re.S,
)


_EVASION = re.compile(
    r"\b(avoid|dodge|evade|circumvent|get around|bypass|skip|slip past|stay under|not trigger|doesn'?t trigger|"
    r"without triggering|so (that )?(compliance|nobody|no one|they) (doesn'?t|don'?t|won'?t|will not|does not))\b"
    r".{0,60}\b(review|flag|flagged|compliance|screening|escalation|export control|sanctions?|checks?|notice)\b"
    r"|\bsplit\b.{0,40}\b(order|deal|shipment)\b.{0,80}\b(review|flag|trigger|threshold|screening|compliance)\b",
    re.I | re.S,
)
_OTHER_ORGS = re.compile(
    r"\b(other|another|competing|all)\s+(partners?|resellers?|distributors?|organi[sz]ations?|companies)'?s?\b.{0,40}"
    r"\b(cases?|customers?|deals?|end users?|data)\b",
    re.I | re.S,
)
_WRITING = re.compile(
    r"^\W*(please\s+|can you\s+|could you\s+)?(write|compose|translate|generate|make up|draft)\b"
    r"(?!.{0,40}\b(end[- ]user statement|clause|escalation)\b)",
    re.I | re.S,
)
_COMMERCIAL = re.compile(
    r"\b(list price|price list|pricing|prices?|discount( tiers?| policy)?|rebates?|margins?|commissions?|quota|"
    r"expense (claims?|reports?|receipts?)|per[- ]diem|travel (booking|expenses?)|meeting rooms?|"
    r"holiday allowance|vacation days|payroll|(vpn|admin|account) password|"
    r"crm( system| tool| software)?|erp( system| software)?|hubspot|salesforce|accounting software|spreadsheets?)\b",
    re.I,
)
# A commercial or office word inside a due-diligence question ("can they still get deal-registration pricing
# if the end user stays anonymous?", "may his manager dock his commission for flagging a deal?") does not
# make the question off-topic: the guidance answers it.
_DUE_DILIGENCE = re.compile(
    r"\b(end[- ]?(users?|cust(omers?)?)|identity|anonymous|confidential|flag(ged|s)?|red flags?|escalat\w*|"
    r"compliance|code of conduct|our code|human rights?|misuse\w*|screen\w*|sanction\w*|due diligence|"
    r"retaliat\w*|whistle\w*|reported|register(ed)? the deal|deal registration|end[- ]use)\b",
    re.I,
)
# Asking how to evade is refused; asking whether a scheme is allowed is answered from the guidance, which
# says it is not (and triage flags the evasion on the deal).
_HOW_TO = re.compile(
    r"\b(how (can|do|could|should|would) (i|we|they)|which (words|phrases|terms)|what (words|phrases|terms)|"
    r"help me|tips|best way|ways? to)\b",
    re.I,
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
    if _EVASION.search(question) and _HOW_TO.search(question):
        return GuardVerdict(
            "evasion_request",
            "I can't help to avoid or get around due-diligence checks. Splitting or rewording a deal to escape "
            "review is itself a red flag; if a deal worries you, escalate it to compliance.",
        )
    # Staff may read internal guidance, so only a partner's request for internal text is a leak.
    if is_partner and _LEAK.search(question):
        return GuardVerdict(
            "restricted_content",
            "I answer questions from the guidance you may read; I don't hand out internal or confidential "
            "documents. Ask about your situation, or contact the compliance team.",
        )
    if _OTHER_ORGS.search(question):
        return GuardVerdict(
            "other_organisation",
            "I can't share other organisations' cases, deals or customers. You can see your own cases.",
        )
    if _WRITING.search(question):
        return GuardVerdict(
            "out_of_scope",
            "I answer questions about human-rights due diligence from the guidance; I don't write or "
            "translate texts. Ask me what the guidance requires and I'll quote it with sources.",
        )
    if _COMMERCIAL.search(question) and not _DUE_DILIGENCE.search(question):
        return GuardVerdict(
            "out_of_scope",
            "Prices, discounts and other commercial or HR matters are outside the due-diligence guidance. "
            "Please ask your partner manager or the relevant team.",
        )
    return None
