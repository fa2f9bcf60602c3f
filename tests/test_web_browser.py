"""A real browser (Debian's chromium, driven by Playwright) against the real app served by uvicorn on loopback.

A reseller signs in, asks and opens the sources; screens a deal and gets a case reference; compliance finds
the case in the queue and approves it, and the audit trail shows who and when. Screenshots go to
test-artifacts/screenshots/ for the test report.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright

from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService
from assistant.web import create_web_app

from .web_support import web_service_over

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
DEAL = "Carrier routers for the state-owned ISP in Pakistan, same operator that cut mobile data in Balochistan."

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it with .ci/chromium.sh)"
)


@pytest.fixture(scope="module")
def web_service(
    corpus_service: AssistantService, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> AssistantService:
    """The session's indexed corpus (read only) with a case database of this module's own."""
    return web_service_over(corpus_service, embedder, tmp_path_factory.mktemp("web-browser"))


@pytest.fixture(scope="module")
def base_url(web_service: AssistantService) -> Iterator[str]:
    """The app served by uvicorn in a thread, on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_web_app(web_service, web_service.settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, base_url: str, secret: str) -> Page:
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/signin")
    page.fill("#key", secret)
    page.click("button[type=submit]")
    return page


def test_reseller_and_compliance_do_their_jobs_in_a_browser(
    browser: Browser, base_url: str, web_service: AssistantService
) -> None:
    _, reseller_key = web_service.api_keys.create("acme-resellers", "partner", "Rita Reseller")
    compliance_record, compliance_key = web_service.api_keys.create("internal", "compliance", "Carl Compliance")

    # A reseller signs in, asks, and opens a source.
    page = sign_in(browser, base_url, reseller_key)
    page.wait_for_url("**/ask")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text("Rita Reseller")
    page.fill("#question", "What must we tell the vendor about the end user?")
    page.click("form[action='/ask'] button[type=submit]")
    answer = page.get_by_test_id("answer")
    expect(answer).to_contain_text("[1]")
    sources = page.locator("[data-testid=sources] details")
    assert sources.count() >= 1
    first = sources.first
    expect(first.locator("blockquote")).to_be_hidden()
    first.locator("summary").click()
    expect(first.locator("blockquote")).to_be_visible()
    assert "internal" not in " ".join(page.locator("[data-testid=sources] .meta").all_inner_texts())
    shot(page, "01-reseller-answer-with-sources")

    # The reseller screens a deal and gets a case reference.
    page.click("nav >> text=Screen a deal")
    page.fill("#scenario", DEAL)
    page.click("form[action='/screen'] button[type=submit]")
    expect(page.get_by_test_id("level")).to_have_attribute("data-level", "escalate")
    expect(page.get_by_test_id("reasons")).not_to_be_empty()
    expect(page.get_by_test_id("next-steps")).not_to_be_empty()
    ref = page.get_by_test_id("case-ref").inner_text().strip()
    assert re.fullmatch(r"DD-\d{4}-\d{4}", ref)
    shot(page, "02-reseller-screening-with-case")

    # Compliance finds it in the queue (filtered), with its SLA countdown, and approves it with a comment.
    review = sign_in(browser, base_url, compliance_key)
    review.wait_for_url("**/cases")
    review.select_option("select[name=status]", "open")
    review.select_option("select[name=level]", "escalate")
    review.click("form.filters button[type=submit]")
    row = review.locator("[data-testid=queue] tr", has_text=ref)
    expect(row.locator(".sla")).to_contain_text("due in")
    shot(review, "03-compliance-queue")
    row.locator(f"a:text('{ref}')").click()
    review.wait_for_url(f"**/cases/{ref}")
    expect(review.get_by_test_id("reasons")).not_to_be_empty()

    review.select_option("#decision", "approve")
    review.click("form[action$='/decide'] button[type=submit]")
    # The comment is required: the browser will not send the form without one.
    assert review.url.endswith(f"/cases/{ref}")
    expect(review.get_by_test_id("status")).to_have_text("open")
    review.fill("#comment", "End-user statement and shutdown safeguards received.")
    review.click("form[action$='/decide'] button[type=submit]")
    expect(review.get_by_test_id("status")).to_have_text("approved")
    last = review.locator("[data-testid=audit] tbody tr").last
    expect(last.locator(".action")).to_have_text("approve")
    expect(last.locator(".actor")).to_contain_text("Carl Compliance")
    expect(last.locator(".actor")).to_contain_text(f"key:{compliance_record.key_id}")
    when = last.locator("time").get_attribute("datetime")
    assert when and when.startswith(time.strftime("%Y-", time.gmtime()))
    expect(last).to_contain_text("End-user statement and shutdown safeguards received.")
    shot(review, "04-compliance-approved-with-audit-trail")

    # The decision is the service's record too, with the actor.
    case, events = web_service.cases.get(ref), web_service.cases.events(ref)
    assert case.status == "approved" and events[-1].actor == f"key:{compliance_record.key_id}"

    # The reseller sees the outcome on its own case page, without a decision form.
    page.goto(f"/cases/{ref}")
    expect(page.get_by_test_id("status")).to_have_text("approved")
    assert page.locator("form[action$='/decide']").count() == 0
    shot(page, "05-reseller-sees-decision")
