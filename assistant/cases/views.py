"""What a user may see of a case: the one view the service gives every door (API, pages, Slack)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..enums import UNDECIDED
from ..identity import User
from .models import Case, CaseEvent, Requester


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


# What a partner is told for a case opened before reasons carried a partner wording.
_PARTNER_FALLBACK = "This deal needs a review by Northwind compliance."
# Events whose comment is addressed to the requester; other comments are compliance's working notes.
_REQUESTER_FACING = frozenset({"approve", "reject", "needs_info", "close", "reopen"})


def visible_case(case: Case, user: User) -> Case:
    """The case as this user may see it. Staff see everything; a partner sees its deal text, the level,
    the status and partner-worded reasons: no signals, rule ids, evidence, assignee, channel or keys."""
    if not user.is_partner:
        return dataclasses.replace(case, reasons=visible_reasons(case.reasons, user))
    reasons: list[dict[str, Any]] = []
    for reason in case.reasons:
        text = str(reason.get("partner_text") or _PARTNER_FALLBACK)
        if any(r["text"] == text for r in reasons):
            continue
        cites = [c for c in reason.get("citations", []) if c.get("audience") in user.audiences]
        reasons.append({"text": text, "rule": "", "citations": cites, "evidence": []})
    return dataclasses.replace(
        case,
        facts={"text": case.facts.get("text", case.summary)},
        reasons=reasons,
        requester=Requester(user_id=case.requester.user_id, channel="", org=case.requester.org),
        assignee=None,
        idempotency_key=None,
    )


def visible_events(events: list[CaseEvent], case: Case, user: User) -> list[CaseEvent]:
    """The audit trail as this user may see it: a partner sees what happened and the decisions' comments,
    with the vendor's reviewers as "Compliance" and no payloads or hashes."""
    if not user.is_partner:
        return events
    out = []
    for event in events:
        actor = "requester" if event.actor == case.requester.user_id else "Compliance"
        comment = event.comment if event.action in _REQUESTER_FACING else None
        out.append(dataclasses.replace(event, actor=actor, comment=comment, payload={}, prev_hash="", hash=""))
    return out


def _case_json(shown: Case, user: User) -> dict[str, Any]:
    data = shown.to_dict()
    if user.is_partner:
        for key in ("assignee", "idempotency_key"):
            data.pop(key, None)
        data["requester"] = {"org": shown.requester.org}
    return data


def _events_json(shown: list[CaseEvent], user: User) -> list[dict[str, Any]]:
    items = [e.to_dict() for e in shown]
    if user.is_partner:
        for item in items:
            for key in ("payload", "prev_hash", "hash"):
                item.pop(key, None)
    return items


def sla_text(case: Case, now: datetime) -> str:
    """'due in 2 d 3 h', 'overdue by 5 h', or '' when the case has no deadline or is decided."""
    if case.sla_due_at is None or case.status not in UNDECIDED:
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


@dataclass(frozen=True)
class CaseView:
    """One case as one user may see it, with what a page or card needs to show it."""

    case: Case
    """Filtered for the viewer (`visible_case`)."""
    events: list[CaseEvent]
    """The audit trail, filtered for the viewer (`visible_events`)."""
    actors: dict[str, str]
    """Actor id → the name to show; a partner sees its own organisation's people and "Compliance"."""
    may_decide: bool
    """Whether this viewer may decide the case now (a decider, the case undecided, not its requester)."""
    sla: str
    overdue: bool

    def to_dict(self, viewer: User) -> dict[str, Any]:
        """The API's `{"case": …, "events": …}` object for this viewer."""
        return {"case": _case_json(self.case, viewer), "events": _events_json(self.events, viewer)}


@dataclass(frozen=True)
class CaseListItem:
    """One line of a case list as one user may see it."""

    case: Case
    """Filtered for the viewer (`visible_case`)."""
    sla: str
    overdue: bool

    def to_dict(self, viewer: User) -> dict[str, Any]:
        """The API's case object for this viewer."""
        return _case_json(self.case, viewer)


def list_item(case: Case, user: User, now: datetime) -> CaseListItem:
    """A case as a line of `user`'s list: what they may see of it, and its deadline."""
    return CaseListItem(visible_case(case, user), sla_text(case, now), case.is_overdue(now))


def actor_names(names: dict[str, str], viewer: User, staff: bool) -> dict[str, str]:
    """Which name each actor is shown under: staff see every key's name and organisation; a partner sees
    who acted in its own organisation, and the vendor's staff as "Compliance"."""
    if staff:
        return names
    own = f"({viewer.org})"
    return {actor: (name if name.endswith(own) else "Compliance") for actor, name in names.items()}
