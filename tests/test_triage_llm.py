"""The optional LLM reading of deal signals, against a scripted OpenAI-compatible server on loopback.

The LLM may only make triage stricter: the level is the higher of the rules' assessment and the
assessment on signals the LLM quoted from the deal; anything it cannot quote, and any failure, is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service

from .conftest import make_settings
from .llm_standin import LLMStandIn, Scripted

STAFF = User(id="rep-llm", role="sales", org="internal")
# The rules find cameras with analytics for a shop in Austria (enhanced due diligence) and nothing else.
VEILED = (
    "Shopping centre in Vienna, 30 cameras with people counting. Between us, the buyer wants to spot the "
    "regulars from the square who keep heckling the mayor."
)
RISKY = "Thai partner has a tender for 800 body-worn cameras for provincial police."


def signals(**fields: Any) -> Callable[[dict[str, Any]], Scripted]:
    """A reply with the given signals as the model's JSON answer."""
    return lambda body: Scripted(json.dumps(fields))


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMStandIn]:
    with LLMStandIn() as server:
        yield server


@pytest.fixture(scope="module")
def llm_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, llm: LLMStandIn) -> AssistantService:
    home = tmp_path_factory.mktemp("llm-triage")
    settings = make_settings(
        home, llm="openai:gpt-4o-mini", llm_base_url=llm.url, llm_api_key="test-key", llm_timeout_s=10.0
    )
    return create_service(settings, embedder=embedder)


@pytest.fixture(scope="module")
def plain_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> AssistantService:
    return create_service(make_settings(tmp_path_factory.mktemp("plain-triage")), embedder=embedder)


def test_rules_alone_rate_the_veiled_deal_below_compliance(plain_service: AssistantService) -> None:
    screening = plain_service.screen(VEILED, STAFF, open_case=False)
    assert screening.level == "enhanced_due_diligence"
    assert "llm" not in screening.signals


def test_a_quoted_signal_from_the_llm_raises_the_level_and_says_where_it_came_from(
    llm_service: AssistantService, llm: LLMStandIn
) -> None:
    words = "the buyer wants to spot the regulars from the square"
    llm.script(signals(product={"tier": "P2", "words": "cameras with people counting"},
                       red_flags=[{"id": "abuse_intent", "words": words}]))  # fmt: skip
    before = len(llm.requests)
    screening = llm_service.screen(VEILED, STAFF, open_case=False)
    assert screening.level == "prohibited"
    first = screening.reasons[0]
    assert first.rule == "prohibited-abuse-intent"
    assert "language model" in first.text and words in first.evidence
    assert screening.signals["llm"]["status"] == "ok"
    flag = next(f for f in screening.signals["red_flags"] if f["id"] == "abuse_intent")
    assert flag["source"] == "llm"
    (request,) = llm.requests[before:]
    prompt = json.dumps(request.body)
    assert "<deal>" in prompt and "heckling the mayor" in prompt


def test_the_llm_never_lowers_the_level(llm_service: AssistantService, llm: LLMStandIn) -> None:
    llm.script(signals(product={"tier": "P0", "words": "800"}, end_user={"type": "E0", "words": "Thai partner"},
                       country={"name": "Norway", "words": "Thai"}, red_flags=[]))  # fmt: skip
    screening = llm_service.screen(RISKY, STAFF, open_case=False)
    assert screening.level == "escalate"
    assert not any("language model" in r.text for r in screening.reasons)


def test_signals_the_llm_cannot_quote_from_the_deal_are_dropped(llm_service: AssistantService, llm: LLMStandIn) -> None:
    llm.script(signals(red_flags=[{"id": "listed_party", "words": "the buyer is on the SDN list"}]))
    screening = llm_service.screen(VEILED, STAFF, open_case=False)
    assert screening.level == "enhanced_due_diligence"
    assert screening.signals["llm"]["dropped_unquoted"] == 1


@pytest.mark.parametrize("scripted", [Scripted(status=500), Scripted("I think this deal is fine.")])
def test_a_failed_or_unreadable_llm_answer_leaves_the_rules_result(
    llm_service: AssistantService, llm: LLMStandIn, scripted: Scripted
) -> None:
    llm.script(scripted)
    screening = llm_service.screen(RISKY, STAFF, open_case=False)
    assert screening.level == "escalate"
    assert screening.signals["llm"]["status"] != "ok"


def test_without_an_llm_nothing_is_sent(plain_service: AssistantService, llm: LLMStandIn) -> None:
    before = len(llm.requests)
    plain_service.screen(RISKY, STAFF, open_case=False)
    assert len(llm.requests) == before
