"""The Slack app end to end: signed requests over HTTP to the real app on a loopback port, answered by the
real service (real model, index and case database), with Slack's Web API played by a loopback stand-in."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn

from assistant.config import Settings
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service
from assistant.slack import create_slack_asgi

from .slack_standin import BOT_ID, BOT_USER_ID, TEAM_ID, ApiCall, SlackStandIn

SECRET = "test-signing-secret-0123456789abcdef"
REP = "UREP"
REVIEWER = "UCOMP"
COMPLIANCE_CHANNEL = "CCOMP"
SALES_CHANNEL = "CSALES"
DEAL = (
    "A reseller in Egypt wants our VMS with face recognition analytics for the city police. Can we sell this to them?"
)


@dataclass
class SlackEnv:
    standin: SlackStandIn
    url: str
    service: AssistantService
    settings: Settings
    http: httpx.Client

    # -- signed requests ---------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
            **(headers or {}),
        }
        started = time.monotonic()
        response = self.http.post(self.url, content=body.encode(), headers=all_headers)
        assert time.monotonic() - started < 3, "Slack needs an acknowledgement within 3 seconds"
        return response

    def event(self, event: dict[str, Any], *, event_id: str | None = None, **kw: Any) -> httpx.Response:
        payload = {
            "token": "unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0DD",
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12]}",
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(payload), "application/json", **kw)

    def interaction(self, payload: dict[str, Any]) -> httpx.Response:
        payload = {"team": {"id": TEAM_ID}, "api_app_id": "A0DD", "token": "unused", **payload}
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def command(self, text: str, *, user: str = REP, channel: str = SALES_CHANNEL) -> httpx.Response:
        form = {
            "command": "/dd",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "team_id": TEAM_ID,
            "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            "response_url": self.standin.response_url(),
            "api_app_id": "A0DD",
            "token": "unused",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    # -- flows the tests share ------------------------------------------------------------------------------

    def click(self, action_id: str, value: str, *, user: str, channel: str, ts: str, thread: str | None = None):
        message = {"ts": ts, "type": "message", **({"thread_ts": thread} if thread else {})}
        return self.interaction(
            {
                "type": "block_actions",
                "user": {"id": user, "team_id": TEAM_ID},
                "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
                "container": {"type": "message", "message_ts": ts, "channel_id": channel},
                "channel": {"id": channel},
                "message": message,
                "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
            }
        )

    def submit(self, view: dict[str, Any], values: dict[str, str], *, user: str) -> httpx.Response:
        state = {k: {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()}
        return self.interaction(
            {
                "type": "view_submission",
                "user": {"id": user, "team_id": TEAM_ID},
                "view": {**view, "id": view.get("id") or f"V{uuid.uuid4().hex[:8]}", "state": {"values": state}},
            }
        )

    def opened_view(self, callback_id: str, since: int) -> dict[str, Any]:
        call = self.standin.wait_for("views.open", lambda c: c.json_field("view")["callback_id"] == callback_id,
                                     since=since)  # fmt: skip
        return dict(call.json_field("view"))

    def answer_update(self, channel: str, since: int, thread: str | None) -> tuple[ApiCall, ApiCall]:
        """The placeholder posted in (channel, thread) and the chat.update that replaced it with an answer."""
        placeholder = self.standin.wait_for(
            "chat.postMessage",
            lambda c: c.body.get("channel") == channel and c.body.get("thread_ts") == thread and "Looking" in c.text,
            since=since,
        )
        ts = placeholder.answer["ts"]
        update = self.standin.wait_for("chat.update", lambda c: c.body.get("ts") == ts, since=since)
        return placeholder, update

    def escalated_case(self) -> tuple[str, str, str, str]:
        """Escalate a deal from a message in a thread: (case ref, card ts, requester channel, thread)."""
        thread = f"{time.time():.6f}"
        value = json.dumps({"a": uuid.uuid4().hex, "q": DEAL})
        since = self.standin.mark()
        self.click("dd_escalate", value, user=REP, channel=SALES_CHANNEL, ts=thread, thread=thread)
        view = self.opened_view("dd_escalate", since)
        facts = f"End user confirmed as the city police (request {uuid.uuid4().hex[:6]})."
        assert self.submit(view, {"facts": facts}, user=REP).status_code == 200
        card = self.standin.wait_for(
            "chat.postMessage", lambda c: c.body.get("channel") == COMPLIANCE_CHANNEL, since=since
        )
        told = self.standin.wait_for(
            "chat.postMessage", lambda c: c.body.get("thread_ts") == thread and "escalated" in c.text, since=since
        )
        ref = str(card.json_field("blocks")[0]["text"]["text"]).split(" ")[0]
        assert ref in told.text
        return ref, str(card.answer["ts"]), SALES_CHANNEL, thread


@contextmanager
def serve_slack(service: AssistantService, settings: Settings, standin: SlackStandIn) -> Iterator[SlackEnv]:
    """The Slack app over `service`, served by uvicorn on a loopback port."""
    asgi = create_slack_asgi(service, settings, path="/slack/events")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(asgi, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        with httpx.Client(trust_env=False, timeout=10) as http:
            yield SlackEnv(standin, f"http://127.0.0.1:{port}/slack/events", service, settings, http)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def slack_settings(base: Settings, standin: SlackStandIn, db: Path) -> Settings:
    """The base settings pointed at the stand-in and a fresh case database."""
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{db}",
            "slack_bot_token": "xoxb-test-token",
            "slack_signing_secret": SECRET,
            "slack_api_url": standin.api_url,
            "slack_compliance_channel": COMPLIANCE_CHANNEL,
            "slack_compliance_users": f"{REVIEWER},UCOMP2",
            "slack_channel_audiences": "CPARTNER=partner",
        }
    )


@pytest.fixture(scope="module")
def slack(
    tmp_path_factory: pytest.TempPathFactory, corpus_service: AssistantService, embedder: Embedder
) -> Iterator[SlackEnv]:
    """The app served by uvicorn on a loopback port, over the shared index and a fresh case database."""
    db = Path(tmp_path_factory.mktemp("slack-cases")) / "cases.db"
    with SlackStandIn(
        compliance_members=[REVIEWER, "UCOMP2"], shared_channels=["CSHARED"], external_users={"UEXT": "T0OTHER"}
    ) as standin:
        settings = slack_settings(corpus_service.settings, standin, db)
        service = create_service(settings, embedder=embedder)
        with serve_slack(service, settings, standin) as env:
            yield env


def blocks_of(call: ApiCall) -> list[dict[str, Any]]:
    return list(call.json_field("blocks") or [])


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    return next(
        e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
    )


# -- requests that must be refused ---------------------------------------------------------------------------


def test_bad_signature_gets_401(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    body = {"type": "event_callback", "event_id": "EvBAD", "event": {"type": "app_mention", "text": "hi"}}
    response = slack.post(json.dumps(body), "application/json", secret="not-the-secret")
    assert response.status_code == 401
    time.sleep(0.3)
    assert slack.standin.calls[since:] == []


def test_stale_timestamp_is_refused(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    event = {"type": "app_mention", "user": REP, "text": f"<@{BOT_USER_ID}> hello", "ts": "1.1", "channel": "C1"}
    response = slack.event(event, timestamp=int(time.time()) - 6 * 60)
    assert response.status_code == 401
    time.sleep(0.3)
    assert [c for c in slack.standin.calls[since:] if c.method.startswith("chat.")] == []


def test_url_verification_echoes_the_challenge(slack: SlackEnv) -> None:
    body = json.dumps({"token": "unused", "challenge": "abc123", "type": "url_verification"})
    response = slack.post(body, "application/json")
    assert response.status_code == 200
    assert "abc123" in response.text


def test_other_paths_and_methods(slack: SlackEnv) -> None:
    assert slack.http.get(slack.url).status_code == 405
    assert slack.http.post(slack.url.replace("/slack/events", "/elsewhere"), content=b"{}").status_code == 404


# -- sales rep flows -------------------------------------------------------------------------------------------


def test_mention_is_answered_in_its_thread_with_sources_and_buttons(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    ts = f"{time.time():.6f}"
    question = "What does UNGP Principle 19 say about leverage over a business partner?"
    event = {"type": "app_mention", "user": REP, "text": f"<@{BOT_USER_ID}> {question}", "ts": ts,
             "channel": SALES_CHANNEL}  # fmt: skip
    response = slack.event(event)
    assert response.status_code == 200
    _, update = slack.answer_update(SALES_CHANNEL, since, ts)
    blocks = blocks_of(update)
    text = json.dumps(blocks)
    assert "*Sources*" in text and "*[1]*" in text
    assert {"dd_feedback_up", "dd_feedback_down", "dd_escalate", "dd_sources"} <= set(action_ids(blocks))
    assert len(blocks) <= 50
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)
    assert json.loads(button_value(blocks, "dd_sources"))["q"] == question


def test_direct_message_is_answered(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    event = {"type": "message", "channel_type": "im", "user": REP, "channel": "DREP", "ts": f"{time.time():.6f}",
             "text": "Which red flags should a partner's sales staff watch for?"}  # fmt: skip
    assert slack.event(event).status_code == 200
    _, update = slack.answer_update("DREP", since, None)
    assert "*[1]*" in json.dumps(blocks_of(update))


def test_thread_follow_up_uses_the_thread_as_context(slack: SlackEnv) -> None:
    root = f"{time.time():.6f}"
    opening = "Which red flags should we look for in a camera deal with a reseller?"
    slack.standin.set_replies(
        SALES_CHANNEL,
        root,
        [
            {"ts": root, "user": REP, "text": f"<@{BOT_USER_ID}> {opening}"},
            {"ts": f"{float(root) + 1:.6f}", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": "Answer…"},
        ],
    )
    since = slack.standin.mark()
    follow_up = "And what documents do I need from them?"
    event = {"type": "message", "channel_type": "channel", "user": REP, "channel": SALES_CHANNEL,
             "ts": f"{float(root) + 2:.6f}", "thread_ts": root, "text": follow_up}  # fmt: skip
    assert slack.event(event).status_code == 200
    _, update = slack.answer_update(SALES_CHANNEL, since, root)
    asked = json.loads(button_value(blocks_of(update), "dd_feedback_up"))["q"]
    assert asked.startswith("And what documents do I need from them?")
    assert opening in asked

    # A thread the bot never took part in is none of its business.
    other = f"{time.time():.6f}"
    slack.standin.set_replies(SALES_CHANNEL, other, [{"ts": other, "user": "UOTHER", "text": "lunch?"}])
    since = slack.standin.mark()
    event = {**event, "ts": f"{float(other) + 1:.6f}", "thread_ts": other, "text": "pizza"}
    slack.event(event)
    slack.standin.wait_for("conversations.replies", lambda c: c.body.get("ts") == other, since=since)
    time.sleep(0.3)
    assert not [c for c in slack.standin.calls[since:] if c.method == "chat.postMessage"]


def test_own_and_other_bot_messages_are_ignored(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    own = {"type": "message", "channel_type": "im", "user": BOT_USER_ID, "bot_id": BOT_ID, "channel": "DBOT",
           "ts": f"{time.time():.6f}", "text": "Which red flags matter?"}  # fmt: skip
    edited = {"type": "message", "subtype": "message_changed", "channel_type": "im", "channel": "DBOT",
              "ts": f"{time.time():.6f}", "message": {"text": "x"}}  # fmt: skip
    assert slack.event(own).status_code == 200
    assert slack.event(edited).status_code == 200
    time.sleep(0.5)
    assert not [c for c in slack.standin.calls[since:] if c.method.startswith("chat.")]


def test_retried_event_is_answered_once(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    event_id = f"EvRETRY{uuid.uuid4().hex[:8]}"
    event = {"type": "message", "channel_type": "im", "user": REP, "channel": "DRETRY", "ts": f"{time.time():.6f}",
             "text": "What does UNGP Principle 19 say about leverage over a business partner?"}  # fmt: skip
    assert slack.event(event, event_id=event_id).status_code == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert slack.event(event, event_id=event_id, headers=retry).status_code == 200
    slack.answer_update("DRETRY", since, None)
    time.sleep(0.5)
    placeholders = [c for c in slack.standin.calls[since:] if c.method == "chat.postMessage"
                    and c.body.get("channel") == "DRETRY"]  # fmt: skip
    assert len(placeholders) == 1


def test_rate_limited_web_api_call_is_retried(slack: SlackEnv) -> None:
    slack.standin.rate_limit("chat.postMessage", times=1, retry_after=1)
    since = slack.standin.mark()
    event = {"type": "message", "channel_type": "im", "user": REP, "channel": "D429", "ts": f"{time.time():.6f}",
             "text": "What must we tell the vendor about the end user?"}  # fmt: skip
    assert slack.event(event).status_code == 200
    slack.standin.wait_for("chat.postMessage", since=since, status=429)
    slack.answer_update("D429", since, None)


def test_slash_ask_acks_then_answers(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    response = slack.command("ask What must a partner tell us about the end user?")
    assert response.status_code == 200
    assert "Looking into it" in response.text
    _, update = slack.answer_update(SALES_CHANNEL, since, None)
    blocks = blocks_of(update)
    assert f"<@{REP}> asked" in json.dumps(blocks)
    assert "dd_feedback_up" in action_ids(blocks)


def test_slash_ask_outside_the_bots_channels_answers_privately(slack: SlackEnv) -> None:
    slack.standin.refuse("chat.postMessage", "not_in_channel")
    since = slack.standin.mark()
    assert slack.command("ask Which red flags should a partner's sales staff watch for?").status_code == 200
    private = slack.standin.wait_for("response_url", since=since)
    assert private.body["response_type"] == "ephemeral" and "*[1]*" in private.text


def test_a_failure_tells_the_user_why(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "user": REP, "text": f"<@{BOT_USER_ID}> " + "why " * 1200, "ts": ts,
             "channel": SALES_CHANNEL}  # fmt: skip
    slack.event(event)
    _, update = slack.answer_update(SALES_CHANNEL, since, ts)
    assert "characters long; the limit is 4000" in update.text


def test_slash_screen_opens_the_deal_form_and_returns_the_triage(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    assert slack.command("screen").status_code == 200
    view = slack.opened_view("dd_screen", since)
    assert {b.get("block_id") for b in view["blocks"]} >= {"product", "end_user", "country", "partner", "notes"}

    empty = slack.submit(view, {}, user=REP)
    assert empty.json()["response_action"] == "errors"

    since = slack.standin.mark()
    fields = {"product": "VMS with face recognition analytics", "end_user": "city police", "country": "EG",
              "partner": "Acme Integrators", "notes": "Tender closes next month."}  # fmt: skip
    assert slack.submit(view, fields, user=REP).status_code == 200
    placeholder = slack.standin.wait_for("chat.postMessage", lambda c: c.body.get("channel") == REP, since=since)
    assert "Screening" in placeholder.text
    update = slack.standin.wait_for("chat.update", lambda c: "Risk level" in c.text, since=since)
    assert update.body["channel"] == "D" + REP[1:]
    assert "Escalate to compliance" in update.text
    card = slack.standin.wait_for("chat.postMessage", lambda c: c.body.get("channel") == COMPLIANCE_CHANNEL,
                                  since=since)  # fmt: skip
    assert "dd_case_assign" in action_ids(blocks_of(card))


def test_feedback_buttons_store_feedback(slack: SlackEnv) -> None:
    answer_id = uuid.uuid4().hex
    value = json.dumps({"a": answer_id, "q": "Which red flags matter?"})
    since = slack.standin.mark()
    assert slack.click("dd_feedback_up", value, user=REP, channel=SALES_CHANNEL, ts="5.5").status_code == 200
    slack.standin.wait_for("chat.postEphemeral", lambda c: "helpful" in c.text, since=since)

    assert slack.click("dd_feedback_down", value, user=REP, channel=SALES_CHANNEL, ts="5.5").status_code == 200
    view = slack.opened_view("dd_feedback_reason", since)
    assert slack.submit(view, {"reason": "It missed the BIS red flags."}, user=REP).status_code == 200
    slack.standin.wait_for("chat.postEphemeral", lambda c: "not helpful" in c.text, since=since)
    rows = [r for r in slack.service.feedback.list() if r["answer_id"] == answer_id]
    assert sorted((r["helpful"], r["reason"]) for r in rows) == [
        (False, "It missed the BIS red flags."),
        (True, None),
    ]
    assert all(r["user_id"] == REP and r["channel"] == "slack" for r in rows)


def test_show_all_sources_opens_a_modal(slack: SlackEnv) -> None:
    value = json.dumps({"a": "not-cached", "q": "Which red flags should a partner's sales staff watch for?"})
    since = slack.standin.mark()
    slack.click("dd_sources", value, user=REP, channel=SALES_CHANNEL, ts="6.6")
    view = slack.opened_view("dd_sources", since)
    assert "*[1]*" in view["blocks"][0]["text"]["text"] and "\n> " in view["blocks"][0]["text"]["text"]


def test_escalate_opens_a_case_and_posts_the_card(slack: SlackEnv) -> None:
    ref, _, _, _ = slack.escalated_case()
    case, events = slack.service.case_for(ref, _reviewer())
    assert case.requester.user_id == REP and case.status == "open"
    assert "End user confirmed" in case.facts["text"]
    assert events[0].action == "created"


# -- compliance flows ---------------------------------------------------------------------------------------


def _reviewer():
    from assistant.identity import User

    return User(id=REVIEWER, role="compliance", org="internal")


def test_assign_to_me_updates_the_card_and_the_trail(slack: SlackEnv) -> None:
    ref, card_ts, _, _ = slack.escalated_case()
    since = slack.standin.mark()
    slack.click("dd_case_assign", ref, user=REP, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    slack.standin.wait_for("chat.postEphemeral", lambda c: "Only members" in c.text, since=since)
    assert slack.service.case_for(ref, _reviewer())[0].assignee is None

    slack.click("dd_case_assign", ref, user=REVIEWER, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    update = slack.standin.wait_for("chat.update", lambda c: c.body.get("ts") == card_ts, since=since)
    assert f"Assigned by <@{REVIEWER}>" in update.text
    case, events = slack.service.case_for(ref, _reviewer())
    assert (case.assignee, case.status) == (REVIEWER, "in_review")
    assert (events[-1].action, events[-1].actor) == ("assign", REVIEWER)


@pytest.mark.parametrize(
    ("action_id", "status", "told"),
    [
        ("dd_case_approve", "approved", "approved"),
        ("dd_case_reject", "rejected", "rejected"),
        ("dd_case_needs_info", "needs_info", "needs more information"),
    ],
)
def test_decision_needs_a_comment_updates_the_card_and_tells_the_requester(
    slack: SlackEnv, action_id: str, status: str, told: str
) -> None:
    ref, card_ts, channel, thread = slack.escalated_case()
    since = slack.standin.mark()
    slack.click(action_id, ref, user=REVIEWER, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    view = slack.opened_view("dd_decide", since)
    comment_block = next(b for b in view["blocks"] if b.get("block_id") == "comment")
    assert comment_block["optional"] is False

    refused = slack.submit(view, {"comment": ""}, user=REVIEWER)
    assert refused.json()["response_action"] == "errors"
    assert slack.service.case_for(ref, _reviewer())[0].status == "open"

    comment = f"Decision on {ref}: end-user statement reviewed."
    assert slack.submit(view, {"comment": comment}, user=REVIEWER).status_code == 200
    update = slack.standin.wait_for("chat.update", lambda c: c.body.get("ts") == card_ts, since=since)
    assert comment in update.text
    if status != "needs_info":
        assert "dd_case_approve" not in action_ids(blocks_of(update))
    notice = slack.standin.wait_for(
        "chat.postMessage", lambda c: c.body.get("thread_ts") == thread and ref in c.text, since=since
    )
    assert notice.body["channel"] == channel and f"<@{REP}>" in notice.text and told in notice.text
    case, events = slack.service.case_for(ref, _reviewer())
    assert case.status == status
    assert (events[-1].actor, events[-1].comment) == (REVIEWER, comment)
    assert slack.service.cases.verify().ok


def test_app_home_shows_the_queue_to_compliance_and_own_cases_to_a_rep(slack: SlackEnv) -> None:
    ref, _, _, _ = slack.escalated_case()
    since = slack.standin.mark()
    slack.event({"type": "app_home_opened", "user": REVIEWER, "channel": "DCOMP", "tab": "home"})
    home = slack.standin.wait_for("views.publish", lambda c: c.body.get("user_id") == REVIEWER, since=since)
    view = home.json_field("view")
    text = json.dumps(view)
    assert "Compliance queue" in text and ref in text
    queue = [c for c in slack.service.cases_for(_reviewer()) if c.status in ("open", "in_review", "needs_info")]
    order = [c.ref for c in sorted(queue, key=lambda c: (c.sla_due_at, c.created_at))]
    shown = [b["text"]["text"].split("*")[1] for b in view["blocks"] if b["type"] == "section" and "SLA due" in
             b["text"]["text"]]  # fmt: skip
    assert shown == order

    slack.event({"type": "app_home_opened", "user": REP, "channel": "DREP", "tab": "home"})
    mine = slack.standin.wait_for("views.publish", lambda c: c.body.get("user_id") == REP, since=since)
    assert "Your cases" in mine.text and ref in mine.text


def test_a_deal_described_in_a_mention_opens_a_case_with_a_card(slack: SlackEnv) -> None:
    since = slack.standin.mark()
    ts = f"{time.time():.6f}"
    event = {"type": "app_mention", "user": REP, "text": f"<@{BOT_USER_ID}> {DEAL}", "ts": ts, "channel": SALES_CHANNEL}
    slack.event(event)
    _, update = slack.answer_update(SALES_CHANNEL, since, ts)
    assert "Risk level" in update.text
    assert "dd_escalate" not in action_ids(blocks_of(update))  # the case is already open
    slack.standin.wait_for("chat.postMessage", lambda c: c.body.get("channel") == COMPLIANCE_CHANNEL, since=since)
