"""With an LLM configured, a Slack answer grows in the placeholder before the final answer replaces it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service

from .llm_standin import LLMStandIn
from .slack_standin import BOT_USER_ID, SlackStandIn
from .test_llm import answer_citing
from .test_slack_flows import REP, SALES_CHANNEL, SlackEnv, serve_slack, slack_settings


@pytest.fixture(scope="module")
def streaming_slack(
    tmp_path_factory: pytest.TempPathFactory, corpus_service: AssistantService, embedder: Embedder
) -> Iterator[tuple[SlackEnv, LLMStandIn]]:
    db = Path(tmp_path_factory.mktemp("slack-llm-cases")) / "cases.db"
    with LLMStandIn() as llm, SlackStandIn(compliance_members=["UCOMP"]) as standin:
        settings = slack_settings(corpus_service.settings, standin, db).model_copy(
            update={"llm": "openai:gpt-4o-mini", "llm_base_url": llm.url, "llm_api_key": "test-key"}
        )
        service = create_service(settings, embedder=embedder)
        with serve_slack(service, settings, standin) as env:
            yield env, llm


def test_llm_answer_streams_into_the_placeholder(streaming_slack: tuple[SlackEnv, LLMStandIn]) -> None:
    slack, llm = streaming_slack

    llm.script(answer_citing((1, 1), (2, 2), (3, 3)))  # streamed back in small chunks
    since = slack.standin.mark()
    ts = f"{time.time():.6f}"
    question = "What does UNGP Principle 19 say about leverage over a business partner?"
    event = {"type": "app_mention", "user": REP, "text": f"<@{BOT_USER_ID}> {question}", "ts": ts,
             "channel": SALES_CHANNEL}  # fmt: skip
    assert slack.event(event).status_code == 200
    placeholder, first = slack.answer_update(SALES_CHANNEL, since, ts)
    answer_ts = placeholder.answer["ts"]
    final = slack.standin.wait_for(
        "chat.update",
        lambda c: c.body.get("ts") == answer_ts and "*Sources*" in json.dumps(c.json_field("blocks")),
        since=since,
    )
    # Before the final answer, the placeholder showed the answer being written.
    assert "Writing the answer" in json.dumps(first.json_field("blocks"))
    assert "[1]" in json.dumps(first.json_field("blocks"))
    assert final is not first
    assert llm.requests and llm.requests[-1].body.get("stream") is True
