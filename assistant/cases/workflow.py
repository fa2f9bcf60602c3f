"""The case life cycle as data: which action moves a case from which status to which, and SLA dates.

    open ──assign──▶ in_review ──needs_info──▶ needs_info ──assign──▶ in_review
      │                  │                          │
      └── approve / reject (from open, in_review or needs_info) ──▶ approved | rejected
                                                                      │
    any status but closed ──close──▶ closed      approved | rejected | closed ──reopen──▶ in_review

Decisions and reopening always need a comment; closing needs one unless the case was decided
(closing an undecided case is a withdrawal and must say why).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from ..enums import UNDECIDED
from ..errors import CaseClosed, CommentRequired, InvalidTransition

DECISIONS: Final = ("approve", "reject", "needs_info")

#: Working days a case may wait for a decision, by triage level; None means no deadline.
DEFAULT_SLA_BUSINESS_DAYS: Final[Mapping[str, int | None]] = {
    "prohibited": 1,
    "escalate": 3,
    "enhanced_due_diligence": 5,
    "proceed": None,
}


# action -> {from status: to status}. Anything not listed is refused.
TRANSITIONS: Final[Mapping[str, Mapping[str, str]]] = {
    "assign": {"open": "in_review", "in_review": "in_review", "needs_info": "in_review"},
    "approve": dict.fromkeys(UNDECIDED, "approved"),
    # The first of the two approvals a prohibited case needs: it stays in review for a second reviewer.
    "first_approval": dict.fromkeys(UNDECIDED, "in_review"),
    "reject": dict.fromkeys(UNDECIDED, "rejected"),
    "needs_info": {"open": "needs_info", "in_review": "needs_info"},
    "close": dict.fromkeys((*UNDECIDED, "approved", "rejected"), "closed"),
    "reopen": dict.fromkeys(("approved", "rejected", "closed"), "in_review"),
}


_VERBS: Final = {"needs_info": "ask for more information on", "first_approval": "approve"}


def normalise_decision(decision: str) -> str:
    """`approve`, `reject` or `needs_info` from what a person typed (`needs-info` is accepted)."""
    value = decision.strip().lower().replace("-", "_")
    if value not in DECISIONS:
        raise InvalidTransition(f"unknown decision {decision!r}; use approve, reject or needs-info")
    return value


def comment_required(action: str, from_status: str) -> bool:
    """Whether `action` from `from_status` must carry a comment."""
    if action in ("approve", "first_approval", "reject", "needs_info", "reopen"):
        return True
    return action == "close" and from_status in UNDECIDED


def next_status(ref: str, action: str, from_status: str, comment: str | None) -> str:
    """The status `action` leads to, or the refusal that explains why it cannot happen."""
    targets = TRANSITIONS.get(action)
    if targets is None:
        raise InvalidTransition(f"unknown action {action!r}")
    verb = _VERBS.get(action, action)
    if from_status not in targets:
        if from_status == "closed":
            raise CaseClosed(f"{ref} is closed; reopen it before you {verb} it")
        if from_status in ("approved", "rejected"):
            raise InvalidTransition(f"{ref} is already {from_status}; reopen it before you {verb} it")
        raise InvalidTransition(f"cannot {verb} {ref} while it is {from_status}")
    if comment_required(action, from_status) and not (comment and comment.strip()):
        raise CommentRequired(f"a comment is required to {verb} {ref}")
    return targets[from_status]


def add_business_days(start: datetime, days: int) -> datetime:
    """`start` moved forward by `days` working days (Monday to Friday), keeping the time of day.

    Public holidays are not known here; a case created at the weekend counts from Monday.
    """
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def sla_due_at(level: str, created_at: datetime, business_days: Mapping[str, int | None]) -> datetime | None:
    """When a case of this level must be decided, or None when the level carries no deadline."""
    days = business_days.get(level)
    if days is None:
        return None
    return add_business_days(created_at, days)
