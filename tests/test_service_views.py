"""The service owns who sees and decides what: the queue, "my cases", the case view and operator actions."""

from __future__ import annotations

import pytest

from assistant.enums import UNDECIDED, Role
from assistant.errors import NotFound, PermissionDenied
from assistant.identity import User
from assistant.risk.triage import DealFields
from assistant.service import AssistantService

REVIEWER = User(id="rev-1", role=Role.COMPLIANCE, org="internal")
OTHER_REVIEWER = User(id="rev-2", role=Role.COMPLIANCE, org="internal")
REP = User(id="rep-1", role=Role.SALES, org="internal")
PARTNER = User(id="key:p1", role=Role.PARTNER, org="acme")
OTHER_PARTNER = User(id="key:p2", role=Role.PARTNER, org="globex")


def _open(service: AssistantService, level: str, requester: User, summary: str) -> str:
    from assistant.cases import Requester

    return service.cases.create(
        level=level,
        summary=summary,
        requester=Requester(requester.id, "web", requester.org),
        reasons=[{"text": "why", "rule": "R", "citations": [], "partner_text": "Needs a review."}],
    ).ref


def test_queue_is_undecided_cases_soonest_due_first_and_scoped_to_the_viewer(service: AssistantService) -> None:
    escalated = _open(service, "escalate", PARTNER, "cameras for a ministry")  # due in 3 working days
    prohibited = _open(service, "prohibited", REP, "intrusion kit")  # due in 1 working day
    other_org = _open(service, "escalate", OTHER_PARTNER, "routers")
    decided = _open(service, "escalate", REP, "DPI")
    service.decide_case(decided, "reject", REVIEWER, "no")

    queue = [c.ref for c in service.queue(REVIEWER)]
    assert queue[0] == prohibited and decided not in queue
    assert set(queue) == {escalated, prohibited, other_org}
    assert all(c.status in UNDECIDED for c in service.queue(REVIEWER))
    # a partner's queue holds its own organisation's cases only
    assert [c.ref for c in service.queue(PARTNER)] == [escalated]
    assert [c.ref for c in service.my_cases(OTHER_PARTNER)] == [other_org]
    # every list a door shows a partner is already filtered: partner wording, no assignee or rule ids
    service.assign_case(escalated, REVIEWER)
    items, _ = service.case_page(PARTNER)
    for shown in [*service.queue(PARTNER), *service.my_cases(PARTNER), *(i.case for i in items)]:
        assert shown.assignee is None
        assert [r["text"] for r in shown.reasons] == ["Needs a review."] and not any(r["rule"] for r in shown.reasons)
    assert service.queue(REVIEWER)[0].reasons[0]["rule"] == "R"  # staff see the rule


def test_case_view_filters_for_partners_and_says_who_may_decide(service: AssistantService) -> None:
    ref = _open(service, "escalate", REVIEWER, "thermal cameras")
    service.assign_case(ref, OTHER_REVIEWER)

    own = service.case_view(ref, REVIEWER)
    assert not own.may_decide  # nobody decides a case they asked for
    assert service.case_view(ref, OTHER_REVIEWER).may_decide
    assert not service.case_view(ref, REP).may_decide  # sales may read, not decide

    partner_ref = _open(service, "escalate", PARTNER, "cameras for a ministry")
    seen = service.case_view(partner_ref, PARTNER)
    assert not seen.may_decide
    assert [r["text"] for r in seen.case.reasons] == ["Needs a review."]  # partner wording, no rule ids
    data = seen.to_dict(PARTNER)
    assert "assignee" not in data["case"] and all("hash" not in e for e in data["events"])
    with pytest.raises(NotFound):
        service.case_view(partner_ref, OTHER_PARTNER)  # another organisation's case does not exist for it


def test_operator_actions_pass_the_role_checks(service: AssistantService) -> None:
    ref = _open(service, "escalate", REP, "core routers")
    with pytest.raises(PermissionDenied):
        service.close_case(ref, REP, comment="closing my own")
    with pytest.raises(PermissionDenied):
        service.export_cases(PARTNER, "json")
    with pytest.raises(PermissionDenied):
        service.create_key(REVIEWER, "acme", "partner")  # keys are for admins
    admin = User(id="ops", role=Role.ADMIN, org="internal")
    record, secret = service.create_key(admin, "acme", "partner", "portal")
    found = service.authenticate_key(secret)
    assert found is not None and found[0].org == "acme" and found[0].role == "partner"
    service.revoke_key(admin, record.key_id)
    assert service.authenticate_key(secret) is None


def test_free_text_and_fields_combine_by_one_rule() -> None:
    fields = DealFields(product="body cameras", country="Kenya", notes="urgent")
    assert AssistantService.deal_from("  just text  ", DealFields()) == "just text"
    assert AssistantService.deal_from("", fields) == fields
    combined = AssistantService.deal_from("for the county police", fields)
    assert isinstance(combined, DealFields)
    assert combined.notes == "for the county police urgent" and combined.product == "body cameras"
