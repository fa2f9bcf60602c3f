"""Hardening of the web door: separate rate-limit budgets for sign-in and API keys with no 401/429
oracle, a `__Host-` session cookie that sign-out really ends and that reading the sign-in page never
extends, and no caching of case pages or API answers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService
from assistant.web import create_web_app

from .web_support import web_service_over

ESCALATE = "Carrier routers for the state-owned ISP in Pakistan, same operator that cut mobile data in Balochistan."
PLAIN_COOKIE = "dd_session"
HOST_COOKIE = "__Host-dd_session"
WRONG_KEY = {"Authorization": "Bearer ddk_000000000000_not-a-real-key"}


@pytest.fixture(scope="module")
def web_service(
    corpus_service: AssistantService, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AssistantService:
    """The session's indexed corpus (read only) with a case database of this module's own."""
    return web_service_over(corpus_service, embedder, tmp_path_factory.mktemp("web-hardening"))


@pytest.fixture(scope="module")
def app(web_service: AssistantService) -> FastAPI:
    return create_web_app(web_service, web_service.settings)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def new_secret(service: AssistantService, org: str, role: str) -> str:
    _, secret = service.api_keys.create(org, role, f"{org} {role}")
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def csrf_of(browser: TestClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(browser: TestClient, secret: str) -> None:
    response = browser.post("/signin", data={"key": secret, "csrf_token": csrf_of(browser, "/signin")})
    assert response.status_code == 303, response.text


def browser_for(app: FastAPI, *, https: bool = False, cookies: dict[str, str] | None = None) -> TestClient:
    base_url = "https://testserver" if https else "http://testserver"
    return TestClient(app, base_url=base_url, follow_redirects=False, cookies=cookies)


def limited_app(service: AssistantService, per_minute: int, **settings: object) -> FastAPI:
    return create_web_app(
        service, service.settings.model_copy(update={"rate_limit_per_minute": per_minute, **settings})
    )


# -- rate limits (F13) ----------------------------------------------------------------------------------


def test_failed_api_keys_do_not_lock_the_address_out_of_sign_in(web_service: AssistantService) -> None:
    secret = new_secret(web_service, "org-nat", "partner")
    with browser_for(limited_app(web_service, 3)) as browser:
        for _ in range(3):
            assert browser.get("/v1/cases", headers=WRONG_KEY).status_code == 401
        assert browser.get("/v1/cases", headers=WRONG_KEY).status_code == 429
        # Someone else behind the same address still signs in: sign-in has its own budget.
        sign_in(browser, secret)
        assert browser.get("/ask").status_code == 200


def test_an_address_over_its_failure_budget_learns_nothing_from_any_key(web_service: AssistantService) -> None:
    good = bearer(new_secret(web_service, "org-guess", "partner"))
    with browser_for(limited_app(web_service, 3)) as api:
        for _ in range(3):
            assert api.get("/v1/cases", headers=WRONG_KEY).status_code == 401
        wrong = api.get("/v1/cases", headers=WRONG_KEY)
        right = api.get("/v1/cases", headers=good)
        # A correct guess gets the same 429 as a wrong one, so the limit cannot be used as an oracle.
        assert (wrong.status_code, right.status_code) == (429, 429)
        assert int(right.headers["retry-after"]) >= 1


# -- the session cookie (F14) ---------------------------------------------------------------------------


def test_over_https_the_session_cookie_is_host_prefixed(app: FastAPI, web_service: AssistantService) -> None:
    browser = browser_for(app, https=True)
    secret = new_secret(web_service, "org-tls", "partner")
    response = browser.post("/signin", data={"key": secret, "csrf_token": csrf_of(browser, "/signin")})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{HOST_COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes and "domain" not in attributes
    assert "path=/;" in cookie.lower() + ";"
    assert browser.get("/ask").status_code == 200

    # The same value under the unprefixed name could have been planted by a sibling subdomain: refused.
    value = browser.cookies.get(HOST_COOKIE)
    assert value
    tossed = browser_for(app, https=True, cookies={PLAIN_COOKIE: value})
    assert tossed.get("/ask").status_code == 303


def test_a_setting_forces_secure_cookies_behind_a_tls_proxy(web_service: AssistantService) -> None:
    # TLS ends at a proxy uvicorn does not trust, so the request reads as plain HTTP.
    forced = limited_app(web_service, 10_000, cookie_secure=True)
    cookie = browser_for(forced).get("/signin").headers["set-cookie"]
    assert cookie.startswith(f"{HOST_COOKIE}=") and "secure" in cookie.lower()


def test_sign_out_ends_copies_of_the_session_cookie(app: FastAPI, web_service: AssistantService) -> None:
    secret = new_secret(web_service, "org-copy", "partner")
    browser = browser_for(app)
    sign_in(browser, secret)
    copied = browser_for(app, cookies={PLAIN_COOKIE: browser.cookies[PLAIN_COOKIE]})
    assert copied.get("/ask").status_code == 200

    assert browser.post("/signout", data={"csrf_token": csrf_of(browser, "/ask")}).status_code == 303
    after = copied.get("/ask")
    assert after.status_code == 303 and after.headers["location"] == "/signin"

    again = browser_for(app)
    sign_in(again, secret)
    assert again.get("/ask").status_code == 200


def test_reading_the_sign_in_page_does_not_extend_a_session(app: FastAPI, web_service: AssistantService) -> None:
    browser = browser_for(app)
    sign_in(browser, new_secret(web_service, "org-slide", "partner"))
    page = browser.get("/signin")
    assert page.status_code == 200 and "set-cookie" not in page.headers
    # A browser without a session still gets one (it carries the sign-in form's CSRF token).
    assert "set-cookie" in browser_for(app).get("/signin").headers


# -- caching (F14) --------------------------------------------------------------------------------------


def test_case_pages_and_api_answers_are_not_cached(client: TestClient, web_service: AssistantService) -> None:
    staff = new_secret(web_service, "internal", "compliance")
    screened = client.post("/v1/screen", json={"scenario": ESCALATE}, headers=bearer(staff))
    ref = screened.json()["case_ref"]
    assert ref
    browser = browser_for(client.app)  # type: ignore[arg-type]
    sign_in(browser, staff)
    responses = {
        "POST /v1/screen": screened,
        "GET /v1/cases": client.get("/v1/cases", headers=bearer(staff)),
        "GET /v1/cases/ref": client.get(f"/v1/cases/{ref}", headers=bearer(staff)),
        "401 problem": client.get("/v1/cases"),
        "GET /cases": browser.get("/cases"),
        "GET /cases/ref": browser.get(f"/cases/{ref}"),
    }
    for name, response in responses.items():
        assert "no-store" in response.headers.get("cache-control", ""), name
    assert "no-store" not in client.get("/static/app.js").headers.get("cache-control", "")
