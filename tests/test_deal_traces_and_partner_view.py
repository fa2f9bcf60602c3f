"""Every risky deal leaves a trace, partners see only what is meant for them, and decisions need the right
people: through the real web app and service, with real keys and a real case database."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from assistant.cases import IdempotencyConflict
from assistant.errors import PermissionDenied
from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService
from assistant.web import create_web_app

from .web_support import bearer, web_service_over

REPO = Path(__file__).resolve().parent.parent
RISK = REPO / "corpus" / "risk"
RISKY_DEALS = [
    "IMSI catcher for the state security service in Iran.",
    "Carrier routers for the state-owned ISP in Pakistan, same operator that cut mobile data in Balochistan.",
    "Reseller in Belgrade selling 200 cameras with face recognition to Sarovic Telekom for a city project.",
    "Thai partner has a tender for 800 body-worn cameras for provincial police; they want the audit logs off.",
    "Distributor wants drones with thermal cameras for an end user it will not name, shipped to a forwarder.",
    "Our customer is on the OFAC SDN list; it wants 40 laptops for its office in Madrid.",
]
STAFF = User(id="rep-1", role="sales", org="internal")
REVIEWER = User(id="carol", role="compliance", org="internal")
SECOND = User(id="dave", role="compliance", org="internal")


@pytest.fixture(scope="module")
def web_service(
    corpus_service: AssistantService, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AssistantService:
    return web_service_over(corpus_service, embedder, tmp_path_factory.mktemp("traces"))


@pytest.fixture(scope="module")
def client(web_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_web_app(web_service, web_service.settings)) as test_client:
        yield test_client


# --- what a partner may never see ---------------------------------------------------------------------------


def _internal_sentences() -> list[str]:
    """Sentences a partner must never read: internal documents' text and the policy's internal material."""
    sentences: list[str] = []
    for path in (REPO / "corpus" / "policies").glob("*.md"):
        text = path.read_text(encoding="utf-8")
        if "audience: internal" not in text.split("---")[1]:
            continue
        body = text.split("---", 2)[2]
        sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if len(s.strip()) > 60]
    policy = yaml.safe_load((RISK / "policy.yaml").read_text(encoding="utf-8"))
    for steps in policy["next_steps"].values():
        sentences += [re.sub(r"\s*\(.*?\)\.?$", "", s) for s in steps]
    for section in ("products", "end_users"):
        sentences += [e for entry in policy[section] for e in entry.get("examples", [])]
    sentences += [e for flag in policy["red_flags"] for e in flag.get("examples", [])]
    sentences += [rule["reason"].split("{")[0] for rule in policy["rules"] if len(rule["reason"].split("{")[0]) > 25]
    return sentences


def _internal_words() -> list[str]:
    with (RISK / "restricted_parties.csv").open(encoding="utf-8") as handle:
        lists = {row["list"] for row in csv.DictReader(handle)}
    policy = yaml.safe_load((RISK / "policy.yaml").read_text(encoding="utf-8"))
    return sorted(lists) + [rule["id"] for rule in policy["rules"]]


def _assert_partner_safe(text: str, where: str) -> None:
    folded = " ".join(text.split())
    for sentence in _internal_sentences():
        assert " ".join(sentence.split()) not in folded, f"{where} shows internal text: {sentence!r}"
    for word in _internal_words():
        assert word not in folded, f"{where} shows {word!r}"
    assert not re.search(r"\b[PEC][0-4]\b", folded), f"{where} shows a taxonomy code"
    assert not re.search(r"\bscore\b|similar to:|RAS \d|SEP \d", folded), f"{where} shows screening internals"


def test_partner_responses_pages_and_cases_carry_nothing_internal(
    client: TestClient, web_service: AssistantService
) -> None:
    partner = bearer(web_service, "acme-resellers", "partner")
    refs = []
    for deal in RISKY_DEALS:
        screened = client.post("/v1/screen", json={"scenario": deal}, headers=partner)
        assert screened.status_code == 200, screened.text
        body = screened.json()
        assert body["level"] in ("escalate", "prohibited") and body["case_ref"]
        assert body["signals"] == {} and all(not r["rule"] and not r.get("evidence") for r in body["reasons"])
        _assert_partner_safe(screened.text, f"screen of {deal!r}")
        refs.append(body["case_ref"])
        asked = client.post("/v1/ask", json={"question": deal + " What should I do?"}, headers=partner)
        _assert_partner_safe(asked.text, f"ask of {deal!r}")

    staff = bearer(web_service, "internal", "compliance")
    client.post(f"/v1/cases/{refs[0]}/decision", json={"decision": "needs_info", "comment": "Name the site."},
                headers=staff)  # fmt: skip
    listing = client.get("/v1/cases", headers=partner)
    _assert_partner_safe(listing.text, "the case list")
    for ref in refs:
        detail = client.get(f"/v1/cases/{ref}", headers=partner)
        _assert_partner_safe(detail.text, f"case {ref}")
        data = detail.json()
        assert "signals" not in data["case"]["facts"] and "idempotency_key" not in data["case"]
        assert all(e["actor"] in ("requester", "Compliance") for e in data["events"])
        assert all("payload" not in e and "hash" not in e for e in data["events"])
    # Compliance still sees the whole case: the reasons, evidence and signals behind the level.
    full = client.get(f"/v1/cases/{refs[0]}", headers=staff).json()["case"]
    assert full["facts"]["signals"] and full["reasons"][0]["rule"] and full["reasons"][0]["evidence"]


def test_partner_case_page_shows_partner_wording_only(client: TestClient, web_service: AssistantService) -> None:
    _, secret = web_service.api_keys.create("globex", "partner", "Globex")
    browser = TestClient(client.app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/signin").text)
    assert token
    signin = browser.post("/signin", data={"key": secret, "csrf_token": token.group(1)})
    assert signin.status_code == 303, signin.text
    ref = web_service.screen(RISKY_DEALS[0], User(id="globex-web", role="partner", org="globex")).case_ref
    assert ref
    page = browser.get(f"/cases/{ref}", headers={"accept": "text/html"})
    assert page.status_code == 200 and ref in page.text
    _assert_partner_safe(re.sub(r"<[^>]+>", " ", page.text), f"case page {ref}")


# --- every risky deal leaves a trace --------------------------------------------------------------------------


def test_a_staff_screening_without_a_case_is_still_recorded(web_service: AssistantService) -> None:
    before = len(web_service.screenings.recent(1000))
    result = web_service.screen(RISKY_DEALS[0], STAFF, open_case=False, channel="cli")
    assert result.level == "prohibited" and result.case_ref is None
    traces = web_service.screenings.recent(1000)
    assert len(traces) == before + 1
    assert traces[0].level == "prohibited" and traces[0].user_id == "rep-1" and traces[0].channel == "cli"


def test_a_reused_idempotency_key_with_another_deal_is_a_422(client: TestClient, web_service: AssistantService) -> None:
    partner = bearer(web_service, "initech", "partner")
    key = {**partner, "Idempotency-Key": "deal-42"}
    first = client.post("/v1/screen", json={"scenario": RISKY_DEALS[1]}, headers=key)
    retry = client.post("/v1/screen", json={"scenario": RISKY_DEALS[1]}, headers=key)
    assert first.json()["case_ref"] and retry.json()["case_ref"] == first.json()["case_ref"]
    other = client.post("/v1/screen", json={"scenario": RISKY_DEALS[0]}, headers=key)
    assert other.status_code == 422, other.text
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "idempotency key" in other.json()["detail"]


def test_two_different_deals_under_one_key_never_share_a_case(web_service: AssistantService) -> None:
    first = web_service.screen(RISKY_DEALS[3], STAFF, idempotency_key="slack-ask:C1:1700000000.1")
    assert first.case_ref
    web_service.decide_case(first.case_ref, "approve", REVIEWER, "statement received")
    with pytest.raises(IdempotencyConflict):
        web_service.screen(RISKY_DEALS[0], STAFF, idempotency_key="slack-ask:C1:1700000000.1")
    # Without a caller's key, a case is keyed on the deal: different deals, different cases.
    a = web_service.screen(RISKY_DEALS[4], STAFF)
    b = web_service.screen(RISKY_DEALS[5], STAFF)
    assert a.case_ref and b.case_ref and a.case_ref != b.case_ref


def test_a_partner_organisation_has_a_budget_of_cases_per_hour(
    corpus_service: AssistantService, embedder: Embedder, tmp_path: Path
) -> None:
    service = web_service_over(corpus_service, embedder, tmp_path)
    service.settings = service.settings.model_copy(update={"partner_cases_per_hour": 2})
    app = create_web_app(service, service.settings)
    with TestClient(app) as client:
        partner = bearer(service, "flood-co", "partner")
        for n in range(2):
            ok = client.post("/v1/screen", json={"scenario": f"{RISKY_DEALS[0]} Site {n}."}, headers=partner)
            assert ok.status_code == 200 and ok.json()["case_ref"]
        over = client.post("/v1/screen", json={"scenario": f"{RISKY_DEALS[0]} Site 9."}, headers=partner)
        assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0


# --- the queue shows every case ------------------------------------------------------------------------------


def test_the_queue_pages_through_every_case_undecided_and_soonest_due_first(
    corpus_service: AssistantService, embedder: Embedder, tmp_path: Path
) -> None:
    from assistant.cases import Requester

    service = web_service_over(corpus_service, embedder, tmp_path)
    store = service.cases
    refs = [
        store.create(
            level=("escalate", "prohibited", "enhanced_due_diligence")[n % 3],
            summary=f"deal {n}",
            requester=Requester("rep", "api", "internal"),
        ).ref
        for n in range(230)
    ]
    store.decide(refs[0], "reject", actor="carol", comment="no")
    with TestClient(create_web_app(service, service.settings)) as client:
        staff = bearer(service, "internal", "compliance")
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/cases", params=params, headers=staff).json()
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 230 and len({c["ref"] for c in seen}) == 230
        undecided = [c for c in seen if c["status"] == "open"]
        assert seen[-1]["ref"] == refs[0]  # decided cases come after every undecided one
        dues = [c["sla_due_at"] for c in undecided]
        assert dues == sorted(dues)
        assert refs[-1] in {c["ref"] for c in seen}  # the newest of 230: no cap at 200
        bad = client.get("/v1/cases", params={"cursor": "not-a-cursor"}, headers=staff)
        assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert len(service.cases_for(REVIEWER)) == 230


# --- decisions by the right people -----------------------------------------------------------------------------


def test_nobody_decides_a_case_they_requested(web_service: AssistantService) -> None:
    own = web_service.screen(RISKY_DEALS[1] + " Requested by compliance.", REVIEWER)
    assert own.case_ref
    with pytest.raises(PermissionDenied, match="another reviewer"):
        web_service.decide_case(own.case_ref, "approve", REVIEWER, "looks fine to me")


def test_a_prohibited_case_needs_two_different_reviewers_to_approve(web_service: AssistantService) -> None:
    case = web_service.screen(RISKY_DEALS[0] + " Two reviewers.", STAFF)
    assert case.level == "prohibited" and case.case_ref
    first = web_service.decide_case(case.case_ref, "approve", REVIEWER, "namesake, not the listed party")
    assert first.status == "in_review"
    with pytest.raises(PermissionDenied, match="second, different reviewer"):
        web_service.decide_case(case.case_ref, "approve", REVIEWER, "again")
    second = web_service.decide_case(case.case_ref, "approve", SECOND, "agreed after checking the register")
    assert second.status == "approved"
    _, events = web_service.case_for(case.case_ref, REVIEWER)
    assert [e.action for e in events][-2:] == ["first_approval", "approve"]
    json.dumps([e.to_dict() for e in events], default=str)
