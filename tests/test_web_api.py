"""The JSON API through the real app: real keys, the real service over the indexed corpus, problem+json errors."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.errors import ConfigError
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService
from assistant.web import create_web_app

from .web_support import bearer, web_service_over

ESCALATE = "Carrier routers for the state-owned ISP in Pakistan, same operator that cut mobile data in Balochistan."
OFFICE = "Twenty laptops and two office printers for a bakery in Lyon."
ASK_KEYS = {"question", "answer", "refused", "citations", "risk", "case_ref", "elapsed_ms", "answer_id"}
CITATION_KEYS = {"n", "doc_id", "title", "locator", "source_type", "audience", "url", "quote"}
SCREEN_KEYS = {"level", "reasons", "signals", "next_steps", "case_ref", "elapsed_ms"}


@pytest.fixture(scope="module")
def web_service(
    corpus_service: AssistantService, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AssistantService:
    """The session's indexed corpus (read only) with a case database of this module's own."""
    return web_service_over(corpus_service, embedder, tmp_path_factory.mktemp("web-api"))


@pytest.fixture(scope="module")
def client(web_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_web_app(web_service, web_service.settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def partner(web_service: AssistantService) -> dict[str, str]:
    return bearer(web_service, "acme-resellers", "partner")


@pytest.fixture(scope="module")
def compliance(web_service: AssistantService) -> dict[str, str]:
    return bearer(web_service, "internal", "compliance")


def assert_problem(response: object, status: int) -> dict:
    assert getattr(response, "status_code") == status, getattr(response, "text")  # noqa: B009
    headers = getattr(response, "headers")  # noqa: B009
    assert headers["content-type"].startswith("application/problem+json")
    body = getattr(response, "json")()  # noqa: B009
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["indexed_chunks"] > 0


def test_ask_returns_the_ask_json_with_partner_sources(client: TestClient, partner: dict[str, str]) -> None:
    response = client.post(
        "/v1/ask", json={"question": "What must we tell the vendor about the end user?"}, headers=partner
    )
    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= ASK_KEYS
    assert not body["refused"] and body["citations"]
    for citation in body["citations"]:
        assert citation.keys() >= CITATION_KEYS
        assert citation["audience"] in ("public", "partner")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert markers and markers <= {c["n"] for c in body["citations"]}


def test_ask_off_topic_is_refused_not_an_error(client: TestClient, partner: dict[str, str]) -> None:
    response = client.post("/v1/ask", json={"question": "What is a good recipe for banana bread?"}, headers=partner)
    assert response.status_code == 200
    assert response.json()["refused"] is True


def test_validation_errors_are_problem_json(client: TestClient, partner: dict[str, str]) -> None:
    body = assert_problem(client.post("/v1/ask", json={}, headers=partner), 422)
    assert body["errors"][0]["loc"] == ["body", "question"]
    assert "question" in body["detail"]
    assert_problem(client.post("/v1/ask", json={"question": "x" * 4001}, headers=partner), 422)
    assert_problem(client.post("/v1/ask", content=b"{not json", headers=partner), 422)
    assert_problem(client.post("/v1/screen", json={"scenario": "  "}, headers=partner), 422)
    assert_problem(client.get("/v1/cases?status=pending", headers=partner), 422)
    # Whitespace passes the schema, then the service refuses it: 400 with the service's message.
    body = assert_problem(client.post("/v1/ask", json={"question": "   "}, headers=partner), 400)
    assert "empty" in body["detail"]


def test_unknown_route_and_missing_key_are_problem_json(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    response = client.post("/v1/ask", json={"question": "hello"})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.get("/v1/cases", headers={"Authorization": "Bearer ddk_nope_nope"}), 401)
    assert_problem(client.get("/v1/cases", headers={"Authorization": "Basic abc"}), 401)


def test_screen_free_text_and_fields(client: TestClient, partner: dict[str, str]) -> None:
    response = client.post("/v1/screen", json={"scenario": ESCALATE}, headers=partner)
    assert response.status_code == 200
    body = response.json()
    assert body.keys() >= SCREEN_KEYS
    assert body["level"] == "escalate" and re.fullmatch(r"DD-\d{4}-\d{4}", body["case_ref"])
    # A partner's view: the level, partner wording and partner steps; no rule ids or signals.
    assert body["reasons"] and all(r["text"] and not r["rule"] for r in body["reasons"])
    assert all(c["audience"] in ("public", "partner") for r in body["reasons"] for c in r["citations"])
    assert body["next_steps"] and body["signals"] == {}

    # A partner cannot screen a risky deal without leaving a case.
    fields = {"product": "rack servers and storage", "end_user": "a university", "country": "Iran", "open_case": False}
    body = client.post("/v1/screen", json=fields, headers=partner).json()
    assert body["level"] == "prohibited" and re.fullmatch(r"DD-\d{4}-\d{4}", body["case_ref"])

    office = client.post("/v1/screen", json={"scenario": OFFICE}, headers=partner).json()
    assert office["level"] == "proceed" and office["case_ref"] is None


def test_idempotency_key_is_scoped_to_the_caller(
    client: TestClient, web_service: AssistantService, partner: dict[str, str]
) -> None:
    deal = {"scenario": ESCALATE + " Second site."}
    first = client.post("/v1/screen", json=deal, headers={**partner, "Idempotency-Key": "retry-1"}).json()
    again = client.post("/v1/screen", json=deal, headers={**partner, "Idempotency-Key": "retry-1"}).json()
    assert first["case_ref"] == again["case_ref"]
    other = bearer(web_service, "globex", "partner")
    theirs = client.post("/v1/screen", json=deal, headers={**other, "Idempotency-Key": "retry-1"}).json()
    assert theirs["case_ref"] and theirs["case_ref"] != first["case_ref"]


def test_cases_list_get_and_decide(client: TestClient, partner: dict[str, str], compliance: dict[str, str]) -> None:
    ref = client.post("/v1/screen", json={"scenario": ESCALATE + " Third site."}, headers=partner).json()["case_ref"]

    listed = client.get("/v1/cases", params={"status": "open", "level": "escalate"}, headers=partner).json()["items"]
    assert ref in {c["ref"] for c in listed}
    assert all(c["org"] == "acme-resellers" and c["status"] == "open" for c in listed)
    assert client.get("/v1/cases", params={"level": "proceed"}, headers=partner).json() == {
        "items": [],
        "next_cursor": None,
    }

    detail = client.get(f"/v1/cases/{ref}", headers=partner).json()
    assert detail["case"]["ref"] == ref and detail["events"][0]["action"] == "created"

    denied = assert_problem(
        client.post(f"/v1/cases/{ref}/decision", json={"decision": "approve", "comment": "mine"}, headers=partner), 403
    )
    assert "compliance" in denied["detail"]
    assert_problem(
        client.post(f"/v1/cases/{ref}/decision", json={"decision": "approve", "comment": ""}, headers=compliance), 422
    )
    assert_problem(
        client.post(f"/v1/cases/{ref}/decision", json={"decision": "approve", "comment": "  "}, headers=compliance),
        400,
    )

    decided = client.post(
        f"/v1/cases/{ref}/decision",
        json={"decision": "approve", "comment": "End-user statement received."},
        headers=compliance,
    )
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["case"]["status"] == "approved"
    last = body["events"][-1]
    key_id = compliance["Authorization"].split("_")[1]
    assert last["action"] == "approve" and last["actor"] == f"key:{key_id}"
    assert last["comment"] == "End-user statement received." and last["created_at"]

    assert_problem(
        client.post(f"/v1/cases/{ref}/decision", json={"decision": "reject", "comment": "late"}, headers=compliance),
        409,
    )
    assert_problem(client.get("/v1/cases/DD-1999-9999", headers=compliance), 404)


def test_feedback_is_stored(client: TestClient, web_service: AssistantService, partner: dict[str, str]) -> None:
    response = client.post(
        "/v1/feedback",
        json={"answer_id": "abc123", "question": "q?", "helpful": False, "reason": "too vague"},
        headers=partner,
    )
    assert response.status_code == 201 and response.json()["id"] > 0
    stored = web_service.feedback.list()[0]
    assert stored["org"] == "acme-resellers" and stored["reason"] == "too vague" and stored["channel"] == "api"
    assert_problem(client.post("/v1/feedback", json={"answer_id": "x"}, headers=partner), 422)


def test_openapi_and_docs_page_without_a_cdn(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json").json()
    for path in ("/v1/ask", "/v1/screen", "/v1/cases", "/v1/cases/{ref}", "/v1/cases/{ref}/decision", "/v1/feedback"):
        assert path in spec["paths"], path
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/v1/cases/{ref}/decision" in docs.text
    for page in (docs.text, client.get("/signin").text):
        assert not re.search(r"""(src|href)=["']https?://""", page), "pages must not load anything from elsewhere"


def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/ask", "/screen", "/cases", "/cases/DD-2026-0001"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/signin", path


def test_session_secret_must_be_real(web_service: AssistantService, tmp_path: Path) -> None:
    for weak in ("", "changeme", "short-secret"):
        with pytest.raises(ConfigError, match="ASSISTANT_SESSION_SECRET"):
            create_web_app(web_service, web_service.settings.model_copy(update={"session_secret": weak}))
    dev_app = create_web_app(web_service, web_service.settings.model_copy(update={"session_secret": ""}), dev=True)
    assert TestClient(dev_app).get("/healthz").status_code == 200


def test_slack_is_mounted_only_with_a_signing_secret(web_service: AssistantService) -> None:
    plain = create_web_app(web_service, web_service.settings)
    assert not any(getattr(r, "path", "") == "/slack/events" for r in plain.routes)
    slack = {"slack_signing_secret": "s" * 32, "slack_bot_token": "xoxb-test-only"}
    app = create_web_app(web_service, web_service.settings.model_copy(update=slack))
    mounted = any(getattr(r, "path", "") == "/slack/events" for r in app.routes)
    assert mounted == (importlib.util.find_spec("assistant.slack") is not None)
    if mounted:
        # Unsigned requests never reach the Slack listeners.
        response = TestClient(app).post("/slack/events", content=b"{}", headers={"content-type": "application/json"})
        assert response.status_code in (401, 403)
