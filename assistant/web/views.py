"""What a user may see of a case: shared by the JSON API and the pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..cases import Case, CaseEvent
from ..identity import User


def visible_reasons(reasons: list[dict[str, Any]], user: User) -> list[dict[str, Any]]:
    """Case reasons with only the citations the user may read.

    Reasons are filtered when a case is opened, for its requester; filtering again here means a
    partner never sees an internal clause even on a case that staff opened for its organisation.
    """
    out = []
    for reason in reasons:
        cites = [c for c in reason.get("citations", []) if c.get("audience") in user.audiences]
        out.append({**reason, "citations": cites})
    return out


def case_view(case: Case, user: User) -> dict[str, Any]:
    """The case as JSON-ready data for this user."""
    data = case.to_dict()
    data["reasons"] = visible_reasons(case.reasons, user)
    return data


def events_view(events: list[CaseEvent]) -> list[dict[str, Any]]:
    """The audit trail as JSON-ready data."""
    return [e.to_dict() for e in events]


def sla_text(case: Case, now: datetime) -> str:
    """'due in 2 d 3 h', 'overdue by 5 h', or '' when the case has no deadline or is decided."""
    if case.sla_due_at is None or case.status not in ("open", "in_review", "needs_info"):
        return ""
    seconds = int((case.sla_due_at - now).total_seconds())
    span = _span(abs(seconds))
    return f"due in {span}" if seconds >= 0 else f"overdue by {span}"


def _span(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
