"""Access rules of the web door: organisations stay apart, revoked keys stop working, forms need CSRF tokens,
limits hold, and a partner never receives internal guidance for any of the team's questions."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from assistant.knowledge.embeddings import Embedder
from assistant.knowledge.textproc import sentence_spans
from assistant.service import AssistantService
from assistant.web import create_web_app

from .conftest import EVALS, load_jsonl
from .web_support import web_service_over

ESCALATE = "Carrier routers for the state-owned ISP in Pakistan, same operator that cut mobile data in Balochistan."
PARTNER_AUDIENCES = ("public", "partner")


@pytest.fixture(scope="module")
def web_service(
    corpus_service: AssistantService, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AssistantService:
    """The session's indexed corpus (read only) with a case database of this module's own."""
    return web_service_over(corpus_service, embedder, tmp_path_factory.mktemp("web-security"))


@pytest.fixture(scope="module")
def client(web_service: AssistantService) -> Iterator[TestClient]:
    with TestClient(create_web_app(web_service, web_service.settings)) as test_client:
        yield test_client


def new_key(service: AssistantService, org: str, role: str) -> tuple[str, dict[str, str]]:
    record, secret = service.api_keys.create(org, role, f"{org} {role}")
    return record.key_id, {"Authorization": f"Bearer {secret}"}


def signed_in(app_client: TestClient, secret: str) -> TestClient:
    """A browser-like client signed in with `secret` (a fresh cookie jar)."""
    browser = TestClient(app_client.app, follow_redirects=False)
    browser.post("/signin", data={"key": secret, "csrf_token": csrf_of(browser, "/signin")})
    return browser


def csrf_of(browser: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def is_problem(response: object, status: int) -> bool:
    headers = getattr(response, "headers")  # noqa: B009
    return getattr(response, "status_code") == status and headers["content-type"].startswith(  # noqa: B009
        "application/problem+json"
    )


def test_partner_cannot_reach_another_organisations_case(client: TestClient, web_service: AssistantService) -> None:
    _, org_a = new_key(web_service, "org-a", "partner")
    _, org_b = new_key(web_service, "org-b", "partner")
    _, staff = new_key(web_service, "internal", "compliance")
    ref = client.post("/v1/screen", json={"scenario": ESCALATE}, headers=org_b).json()["case_ref"]
    assert ref

    assert is_problem(client.get(f"/v1/cases/{ref}", headers=org_a), 404)
    assert ref not in {c["ref"] for c in client.get("/v1/cases", headers=org_a).json()["items"]}
    decision = {"decision": "approve", "comment": "let me through"}
    assert is_problem(client.post(f"/v1/cases/{ref}/decision", json=decision, headers=org_a), 403)
    # A partner's idempotency key cannot fish out another organisation's case either.
    key_b = client.post(
        "/v1/screen", json={"scenario": ESCALATE + " Site 2."}, headers={**org_b, "Idempotency-Key": "k"}
    )
    key_a = client.post(
        "/v1/screen", json={"scenario": ESCALATE + " Site 2."}, headers={**org_a, "Idempotency-Key": "k"}
    )
    assert key_a.json()["case_ref"] != key_b.json()["case_ref"]

    assert client.get(f"/v1/cases/{ref}", headers=org_b).status_code == 200
    assert client.get(f"/v1/cases/{ref}", headers=staff).status_code == 200

    # The pages apply the same rule.
    secret_a = org_a["Authorization"].removeprefix("Bearer ")
    browser_a = signed_in(client, secret_a)
    assert browser_a.get(f"/cases/{ref}").status_code == 404
    assert ref not in browser_a.get("/cases").text


def test_revoked_key_is_refused_by_api_and_pages(client: TestClient, web_service: AssistantService) -> None:
    key_id, headers = new_key(web_service, "org-r", "partner")
    assert client.get("/v1/cases", headers=headers).status_code == 200
    browser = signed_in(client, headers["Authorization"].removeprefix("Bearer "))
    assert browser.get("/ask").status_code == 200

    web_service.api_keys.revoke(key_id)
    response = client.get("/v1/cases", headers=headers)
    assert is_problem(response, 401) and "revoked" in response.json()["detail"]
    # The session of a revoked key ends at once.
    after = browser.get("/ask")
    assert after.status_code == 303 and after.headers["location"] == "/signin"


def test_form_posts_need_the_session_csrf_token(client: TestClient, web_service: AssistantService) -> None:
    _, headers = new_key(web_service, "internal", "compliance")
    secret = headers["Authorization"].removeprefix("Bearer ")
    browser = signed_in(client, secret)
    html = {"accept": "text/html"}

    assert browser.post("/ask", data={"question": "What is leverage?"}).status_code == 403
    assert browser.post("/ask", data={"question": "What is leverage?", "csrf_token": "forged"}).status_code == 403
    refused = browser.post("/ask", data={"question": "What is leverage?"}, headers=html)
    assert refused.status_code == 403 and "security token" in refused.text
    other = signed_in(client, secret)
    token_of_other_session = csrf_of(other, "/ask")
    assert browser.post("/ask", data={"question": "x", "csrf_token": token_of_other_session}).status_code == 403
    assert browser.post("/cases/DD-2026-0001/decide", data={"decision": "approve", "comment": "c"}).status_code == 403
    assert browser.post("/signout", data={}).status_code == 403

    fresh = TestClient(client.app, follow_redirects=False)
    assert fresh.post("/signin", data={"key": secret}).status_code == 403  # no login CSRF either

    accepted = browser.post("/ask", data={"question": "What is leverage?", "csrf_token": csrf_of(browser, "/ask")})
    assert accepted.status_code == 200 and 'data-testid="answer"' in accepted.text


def test_session_cookie_is_httponly_samesite_and_tamper_proof(
    client: TestClient, web_service: AssistantService
) -> None:
    _, headers = new_key(web_service, "org-s", "partner")
    browser = TestClient(client.app, follow_redirects=False)
    token = csrf_of(browser, "/signin")
    response = browser.post("/signin", data={"key": headers["Authorization"][7:], "csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/ask"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie

    value = browser.cookies.get("dd_session")
    assert value
    tampered = TestClient(client.app, follow_redirects=False, cookies={"dd_session": value[:-2] + "xx"})
    assert tampered.get("/ask").status_code == 303
    wrong = TestClient(client.app, follow_redirects=False)
    bad = wrong.post("/signin", data={"key": "ddk_0_nope", "csrf_token": csrf_of(wrong, "/signin")})
    assert bad.status_code == 401 and "unknown" in bad.text


def test_rate_limit_per_key_is_429_problem_json(web_service: AssistantService) -> None:
    limited = create_web_app(web_service, web_service.settings.model_copy(update={"rate_limit_per_minute": 3}))
    _, one = new_key(web_service, "org-l", "partner")
    _, two = new_key(web_service, "org-l", "partner")
    with TestClient(limited) as api:
        for _ in range(3):
            assert api.get("/v1/cases", headers=one).status_code == 200
        response = api.get("/v1/cases", headers=one)
        assert is_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert api.get("/v1/cases", headers=two).status_code == 200  # the limit is per key


def test_oversize_bodies_are_413(client: TestClient, web_service: AssistantService) -> None:
    _, headers = new_key(web_service, "org-b", "partner")
    limit = web_service.settings.max_request_bytes
    big = json.dumps({"question": "x" * (limit + 10)})
    assert is_problem(client.post("/v1/ask", content=big, headers={**headers, "content-type": "application/json"}), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(limit // 1000 + 2):
            yield b"y" * 1000
        yield b'"}'

    streamed = client.post("/v1/ask", content=chunks(), headers={**headers, "content-type": "application/json"})
    assert is_problem(streamed, 413)
    long_question = client.post("/v1/ask", json={"question": "z" * 4001}, headers=headers)
    assert is_problem(long_question, 422) and "4000" in long_question.text


def test_security_headers(client: TestClient) -> None:
    response = client.get("/signin")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def internal_only_sentences(service: AssistantService) -> tuple[set[str], list[str]]:
    """Ids of internal passages, and their sentences that appear in no partner or public passage."""
    table = {chunk.id: chunk for chunk in service.store.all_chunks()}
    shared_text = "\n".join(c.text for c in table.values() if c.metadata.get("audience") in PARTNER_AUDIENCES)
    internal_ids = {i for i, c in table.items() if c.metadata.get("audience") not in PARTNER_AUDIENCES}
    sentences: set[str] = set()
    for ident in internal_ids:
        text = table[ident].text
        for start, end in sentence_spans(text):
            sentence = " ".join(text[start:end].split())
            if len(sentence) >= 40 and sentence not in " ".join(shared_text.split()):
                sentences.add(sentence)
    return internal_ids, sorted(sentences)


def test_partner_answers_never_carry_internal_guidance(client: TestClient, web_service: AssistantService) -> None:
    internal_ids, secret_sentences = internal_only_sentences(web_service)
    assert internal_ids and secret_sentences, "the corpus should have internal-only guidance to guard"
    _, partner = new_key(web_service, "org-q", "partner")
    questions = load_jsonl(EVALS / "questions.jsonl")
    assert len(questions) >= 100
    answered = 0
    for item in questions:
        response = client.post("/v1/ask", json={"question": item["question"], "open_case": False}, headers=partner)
        assert response.status_code == 200, (item["id"], response.text)
        body = response.json()
        answered += not body["refused"]
        reason_cites = [c for r in (body["risk"] or {}).get("reasons", []) for c in r.get("citations", [])]
        for citation in body["citations"] + reason_cites:
            assert citation["audience"] in PARTNER_AUDIENCES, (item["id"], citation["doc_id"])
            assert citation["chunk_id"] not in internal_ids, (item["id"], citation["chunk_id"])
        flat = " ".join(json.dumps(body, ensure_ascii=False).replace("\\n", " ").split())
        leaked = [s for s in secret_sentences if s in flat]
        assert not leaked, (item["id"], leaked[:1])
    assert answered > len(questions) // 2, "most questions should be answered from partner guidance"
