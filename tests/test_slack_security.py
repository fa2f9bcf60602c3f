"""The Slack door's security fixes, end to end: signed requests over HTTP to the real app, the real service
(model, index, case database), and Slack's Web API played by the loopback stand-in.

- one case per deal, not per thread (review F1);
- a private `/dd ask` answer still opens its case (F2);
- decisions only by named reviewers, never on a case one requested, cards only in a private unshared
  channel (F5);
- partner detection fails closed: sharing beats a channel mapping, guests and unknown people are partners,
  buttons read the team from the request (F6);
- user text stays text in notifications and streamed answers (F11);
- a per-user rate limit with a friendly reply (F13).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.service import AssistantService, create_service
from assistant.slack import blocks as bk
from assistant.slack.run import run_slack

from .conftest import make_settings
from .llm_standin import LLMStandIn, Scripted
from .slack_standin import BOT_ID, BOT_USER_ID, ApiCall, SlackStandIn
from .test_llm import opening, passages_sent
from .test_slack_flows import (
    COMPLIANCE_CHANNEL,
    DEAL,
    REP,
    REVIEWER,
    SALES_CHANNEL,
    SlackEnv,
    blocks_of,
    serve_slack,
    slack_settings,
)

REF = re.compile(r"DD-\d{4}-\d{4}")
GROUP = "SCOMPLIANCE"
GROUP_REVIEWER = "UGROUP"
CHANNEL_MEMBER = "UMEMBER"  # in the compliance channel, but not a named reviewer
GUEST_REVIEWER = "UGUESTREV"  # named, but a workspace guest
MAPPED_BUT_SHARED = "CMAPPED"
OTHER_TEAM = "T0OTHER"
IRAN_DEAL = "They now also want an IMSI catcher for the state security service in Iran."
# Internal guidance: staff get the Sales Escalation Procedure (SEP n.n), partners never do.
INTERNAL_QUESTION = "How fast must compliance decide an escalated deal under the Sales Escalation Procedure?"
RATE_LIMIT = 3


@contextmanager
def slack_app(
    tmp: Path, base: AssistantService, embedder: Embedder, standin: SlackStandIn, **updates: Any
) -> Iterator[SlackEnv]:
    """The app over the shared index and a fresh case database, with these settings changed."""
    settings = slack_settings(base.settings, standin, tmp / "cases.db").model_copy(update=updates)
    service = create_service(settings, embedder=embedder)
    with serve_slack(service, settings, standin) as env:
        yield env


@pytest.fixture(scope="module")
def secure(
    tmp_path_factory: pytest.TempPathFactory, corpus_service: AssistantService, embedder: Embedder
) -> Iterator[SlackEnv]:
    with (
        SlackStandIn(
            compliance_members=[REVIEWER, CHANNEL_MEMBER],
            shared_channels=["CSHARED", MAPPED_BUT_SHARED],
            external_users={"UEXT": OTHER_TEAM},
            usergroups={GROUP: [GROUP_REVIEWER]},
            profiles={
                "UGUEST": {"is_restricted": True},
                "UMCG": {"is_ultra_restricted": True},
                GUEST_REVIEWER: {"is_restricted": True},
                "UNOTEAM": {"team_id": None},
            },
        ) as standin,
        slack_app(
            Path(tmp_path_factory.mktemp("slack-security")),
            corpus_service,
            embedder,
            standin,
            slack_compliance_users=f"{REVIEWER}, {GUEST_REVIEWER}",
            slack_compliance_usergroup=GROUP,
            slack_channel_audiences=f"CPARTNER=partner,{MAPPED_BUT_SHARED}=internal",
            slack_rate_limit_per_minute=RATE_LIMIT,
        ) as env,
    ):
        yield env


# -- helpers ------------------------------------------------------------------------------------------------


def now_ts() -> str:
    time.sleep(0.002)  # distinct message timestamps
    return f"{time.time():.6f}"


def mention(env: SlackEnv, user: str, text: str, *, channel: str = SALES_CHANNEL, thread: str | None = None) -> ApiCall:
    """@mention the app (in a thread when given) and wait for the answer that replaced the placeholder."""
    since = env.standin.mark()
    ts = now_ts()
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "channel": channel}
    if thread:
        event["thread_ts"] = thread
    assert env.event(event).status_code == 200
    _, update = env.answer_update(channel, since, thread or ts)
    return update


def direct_message(env: SlackEnv, user: str, text: str) -> dict[str, Any]:
    """The event of a DM to the app."""
    return {"type": "message", "channel_type": "im", "user": user, "channel": "D" + user[1:], "ts": now_ts(),
            "text": text}  # fmt: skip


def ask_directly(env: SlackEnv, user: str, text: str) -> ApiCall:
    since = env.standin.mark()
    assert env.event(direct_message(env, user, text)).status_code == 200
    _, update = env.answer_update("D" + user[1:], since, None)
    return update


def case_ref(call: ApiCall) -> str:
    found = REF.search(call.text)
    assert found, f"no case reference in {call.text[:300]}"
    return found.group(0)


def card_for(env: SlackEnv, ref: str, since: int) -> ApiCall:
    return env.standin.wait_for(
        "chat.postMessage", lambda c: c.body.get("channel") == COMPLIANCE_CHANNEL and ref in c.text, since=since
    )


def opened_case(env: SlackEnv, requester: str, deal: str = DEAL) -> tuple[str, str]:
    """A deal asked by `requester` in a channel: (its case reference, the ts of its card)."""
    since = env.standin.mark()
    ref = case_ref(mention(env, requester, f"{deal} (request {uuid.uuid4().hex[:6]})"))
    return ref, str(card_for(env, ref, since).answer["ts"])


def rendered(call: ApiCall) -> str:
    """What Slack renders of a message: its text and every text object of its blocks (not button values)."""
    texts = [str(call.body.get("text") or "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                texts.append(str(node.get("text") or ""))
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.json_field("blocks"))
    return "\n".join(texts)


def refusal_to_start(settings: Settings) -> BaseException | None:
    """What `assistant slack --http` raised on start (None if it was still serving after a while)."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            run_slack(settings, http=True, port=0, host="127.0.0.1")
        except BaseException as exc:  # handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)  # a server that did start is left to the process's end
    thread.start()
    thread.join(timeout=60)
    return raised[0] if raised else None


def reviewer() -> User:
    return User(id=REVIEWER, role="compliance", org="internal")


def cites_internal_procedure(call: ApiCall) -> bool:
    return re.search(r"\bSEP \d", call.text) is not None


def forged_decision(env: SlackEnv, ref: str, user: str) -> dict[str, Any]:
    """Submit the decision form directly (as if the button had let the user through)."""
    view = bk.decision_modal(ref, "approve", {"ref": ref, "decision": "approve", "channel": "", "ts": ""})
    return dict(env.submit(view, {"comment": "Looks fine to me."}, user=user).json())


# -- F1: one case per deal, not per thread ----------------------------------------------------------------------


def test_two_deals_in_one_thread_are_two_cases_with_two_cards(secure: SlackEnv) -> None:
    since = secure.standin.mark()
    root = now_ts()
    event = {
        "type": "app_mention",
        "user": REP,
        "text": f"<@{BOT_USER_ID}> {DEAL}",
        "ts": root,
        "channel": SALES_CHANNEL,
    }
    secure.event(event)
    first = case_ref(secure.answer_update(SALES_CHANNEL, since, root)[1])
    secure.standin.set_replies(
        SALES_CHANNEL,
        root,
        [
            {"ts": root, "user": REP, "text": f"<@{BOT_USER_ID}> {DEAL}"},
            {"ts": f"{float(root) + 1:.6f}", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": "Risk: Escalate…"},
        ],
    )

    # The same rep adds a different, prohibited deal in the thread: a case of its own, not the first one.
    second_answer = mention(secure, REP, IRAN_DEAL, thread=root)
    second = case_ref(second_answer)
    # Another rep replies in the thread with a third deal.
    since_third = secure.standin.mark()
    reply = {"type": "message", "channel_type": "channel", "user": "USTAFF2", "channel": SALES_CHANNEL,
             "ts": now_ts(), "thread_ts": root,
             "text": "An integrator wants 40 IMSI catchers for the interior ministry in Iran."}  # fmt: skip
    secure.event(reply)
    third = case_ref(secure.answer_update(SALES_CHANNEL, since_third, root)[1])

    assert len({first, second, third}) == 3
    for ref in (first, second, third):
        card_for(secure, ref, since)
    case, _ = secure.service.case_for(second, reviewer())
    assert case.level == "prohibited" and case.status == "open" and case.requester.user_id == REP
    assert "IMSI catcher" in case.facts["text"]
    assert secure.service.case_for(third, reviewer())[0].requester.user_id == "USTAFF2"


# -- F2: a private answer still opens the case --------------------------------------------------------------------


def test_slash_ask_where_the_app_is_not_still_opens_the_case_and_tells_the_asker_later(secure: SlackEnv) -> None:
    secure.standin.refuse("chat.postMessage", "not_in_channel")
    since = secure.standin.mark()
    deal = "Our distributor asks for 30 IMSI catchers for the state security service in Iran."
    assert secure.command(f"ask {deal}", user="UPRIV", channel="CNOTIN").status_code == 200
    private = secure.standin.wait_for("response_url", since=since)
    assert private.body["response_type"] == "ephemeral"
    ref = case_ref(private)
    card = card_for(secure, ref, since)
    case, _ = secure.service.case_for(ref, reviewer())
    assert (case.level, case.status, case.requester.user_id) == ("prohibited", "open", "UPRIV")

    # The decision reaches the asker in their DM with the app (nobody else saw the answer).
    since = secure.standin.mark()
    secure.click("dd_case_reject", ref, user=REVIEWER, channel=COMPLIANCE_CHANNEL, ts=str(card.answer["ts"]))
    view = secure.opened_view("dd_decide", since)
    assert secure.submit(view, {"comment": "Iran is embargoed."}, user=REVIEWER).status_code == 200
    told = secure.standin.wait_for("chat.postMessage", lambda c: c.answer.get("channel") == "DPRIV", since=since)
    assert ref in told.text and "rejected" in told.text


# -- F5: who may decide ---------------------------------------------------------------------------------------------


def test_a_compliance_channel_member_who_is_not_named_cannot_decide(secure: SlackEnv) -> None:
    ref, card_ts = opened_case(secure, "UREQ1")
    since = secure.standin.mark()
    secure.click("dd_case_approve", ref, user=CHANNEL_MEMBER, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    refusal = secure.standin.wait_for("chat.postEphemeral", lambda c: c.body.get("user") == CHANNEL_MEMBER, since=since)
    assert "compliance team named in the app's settings" in refusal.text
    assert forged_decision(secure, ref, CHANNEL_MEMBER)["response_action"] == "errors"
    # A named reviewer who is a workspace guest is refused too.
    assert forged_decision(secure, ref, GUEST_REVIEWER)["response_action"] == "errors"
    assert not [c for c in secure.standin.calls[since:] if c.method == "views.open"]
    assert secure.service.case_for(ref, reviewer())[0].status == "open"


def test_a_member_of_the_compliance_user_group_can_decide(secure: SlackEnv) -> None:
    ref, card_ts = opened_case(secure, "UREQ2")
    since = secure.standin.mark()
    secure.click("dd_case_approve", ref, user=GROUP_REVIEWER, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    view = secure.opened_view("dd_decide", since)
    assert secure.submit(view, {"comment": "End-user statement checked."}, user=GROUP_REVIEWER).status_code == 200
    secure.standin.wait_for("chat.update", lambda c: c.body.get("ts") == card_ts, since=since)
    case, events = secure.service.case_for(ref, reviewer())
    assert case.status == "approved" and events[-1].actor == GROUP_REVIEWER


def test_nobody_decides_a_case_they_requested(secure: SlackEnv) -> None:
    ref, card_ts = opened_case(secure, REVIEWER)
    since = secure.standin.mark()
    secure.click("dd_case_approve", ref, user=REVIEWER, channel=COMPLIANCE_CHANNEL, ts=card_ts)
    refusal = secure.standin.wait_for("chat.postEphemeral", lambda c: c.body.get("user") == REVIEWER, since=since)
    assert f"You requested {ref}" in refusal.text
    refused = forged_decision(secure, ref, REVIEWER)
    assert refused["response_action"] == "errors" and "another compliance reviewer" in json.dumps(refused)
    assert secure.service.case_for(ref, reviewer())[0].status == "open"
    time.sleep(0.3)
    assert not [c for c in secure.standin.calls[since:] if c.method == "views.open"]


def test_a_prohibited_deal_is_approved_only_by_a_second_reviewer(secure: SlackEnv) -> None:
    since = secure.standin.mark()
    thread = now_ts()
    event = {"type": "app_mention", "user": "UREQ3", "text": f"<@{BOT_USER_ID}> {IRAN_DEAL}", "ts": thread,
             "channel": SALES_CHANNEL}  # fmt: skip
    secure.event(event)
    ref = case_ref(secure.answer_update(SALES_CHANNEL, since, thread)[1])
    card_ts = str(card_for(secure, ref, since).answer["ts"])

    def approve(user: str) -> ApiCall:
        mark = secure.standin.mark()
        secure.click("dd_case_approve", ref, user=user, channel=COMPLIANCE_CHANNEL, ts=card_ts)
        view = secure.opened_view("dd_decide", mark)
        assert secure.submit(view, {"comment": f"Reviewed by {user}."}, user=user).status_code == 200
        return secure.standin.wait_for("chat.update", lambda c: c.body.get("ts") == card_ts, since=mark)

    mark = secure.standin.mark()
    first = approve(REVIEWER)
    assert "second, different reviewer must approve" in first.text and "dd_case_approve" in first.text
    time.sleep(0.3)
    assert not [c for c in secure.standin.calls[mark:] if c.method == "chat.postMessage"
                and c.body.get("thread_ts") == thread]  # fmt: skip
    assert secure.service.case_for(ref, reviewer())[0].status == "in_review"

    approve(GROUP_REVIEWER)
    told = secure.standin.wait_for(
        "chat.postMessage", lambda c: c.body.get("thread_ts") == thread and ref in c.text, since=mark
    )
    assert "Compliance approved" in told.text
    assert secure.service.case_for(ref, reviewer())[0].status == "approved"


def test_case_cards_never_go_to_a_public_compliance_channel(
    tmp_path: Path, corpus_service: AssistantService, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="assistant.slack")
    with SlackStandIn(private_channels=()) as standin, slack_app(tmp_path, corpus_service, embedder, standin) as env:
        since = standin.mark()
        ref = case_ref(mention(env, REP, DEAL))
        time.sleep(0.5)
        assert not [c for c in standin.calls[since:] if c.method == "chat.postMessage"
                    and c.body.get("channel") == COMPLIANCE_CHANNEL]  # fmt: skip
        assert env.service.case_for(ref, reviewer())[0].status == "open"  # still in the queue
        assert any("compliance channel refused" in r.getMessage() for r in caplog.records)

        # `assistant slack` refuses to start at all.
        refused = refusal_to_start(env.settings)
        assert isinstance(refused, ConfigError) and "not private" in str(refused)


def test_slack_refuses_to_start_with_a_shared_compliance_channel(tmp_path: Path) -> None:
    with SlackStandIn(private_channels=[COMPLIANCE_CHANNEL], shared_channels=[COMPLIANCE_CHANNEL]) as standin:
        settings = make_settings(tmp_path).model_copy(
            update={
                "slack_bot_token": "xoxb-test-token",
                "slack_signing_secret": "x" * 40,
                "slack_api_url": standin.api_url,
                "slack_compliance_channel": COMPLIANCE_CHANNEL,
            }
        )
        refused = refusal_to_start(settings)
        assert isinstance(refused, ConfigError) and "shared outside this workspace" in str(refused)


# -- F6: partner detection fails closed ------------------------------------------------------------------------------


def test_a_shared_channel_mapped_internal_still_gets_partner_guidance(secure: SlackEnv) -> None:
    assert cites_internal_procedure(mention(secure, "UMAP1", INTERNAL_QUESTION))  # control: staff channel
    assert not cites_internal_procedure(mention(secure, "UMAP2", INTERNAL_QUESTION, channel=MAPPED_BUT_SHARED))


@pytest.mark.parametrize("guest", ["UGUEST", "UMCG"])
def test_workspace_guests_get_partner_guidance(secure: SlackEnv, guest: str) -> None:
    assert not cites_internal_procedure(ask_directly(secure, guest, INTERNAL_QUESTION))


def test_a_guest_gets_partner_guidance_from_slash_commands_too(secure: SlackEnv) -> None:
    since = secure.standin.mark()
    assert secure.command(f"ask {INTERNAL_QUESTION}", user="UGUEST", channel=SALES_CHANNEL).status_code == 200
    _, update = secure.answer_update(SALES_CHANNEL, since, None)
    assert "<@UGUEST> asked" in update.text and not cites_internal_procedure(update)


def test_an_unknown_person_is_a_partner_and_asked_about_again(secure: SlackEnv) -> None:
    secure.standin.refuse("users.info", "fatal_error")
    assert not cites_internal_procedure(ask_directly(secure, "UFLAKY", INTERNAL_QUESTION))
    # The failure was not remembered: once Slack answers, the rep is staff again.
    assert cites_internal_procedure(ask_directly(secure, "UFLAKY", INTERNAL_QUESTION))


def test_a_button_reads_the_clickers_team_from_the_request(secure: SlackEnv) -> None:
    # users.info names no team for this person (as happens for some Slack Connect users); the click does.
    value = json.dumps({"a": "not-cached", "q": INTERNAL_QUESTION})
    since = secure.standin.mark()
    secure.interaction(
        {
            "type": "block_actions",
            "user": {"id": "UNOTEAM", "team_id": OTHER_TEAM},
            "trigger_id": f"trig-{uuid.uuid4().hex[:8]}",
            "container": {"type": "message", "message_ts": "7.7", "channel_id": SALES_CHANNEL},
            "channel": {"id": SALES_CHANNEL},
            "message": {"ts": "7.7", "type": "message"},
            "actions": [{"action_id": "dd_sources", "value": value, "type": "button", "block_id": "b"}],
        }
    )
    view = secure.opened_view("dd_sources", since)
    assert "*[1]*" in json.dumps(view) and re.search(r"\bSEP \d", json.dumps(view)) is None


# -- F11: user text stays text -----------------------------------------------------------------------------------------


def test_pings_and_links_in_a_deal_stay_text_in_cards_and_answers(secure: SlackEnv) -> None:
    deal = ("The police in Egypt want our VMS to identify protesters <!channel> "
            "<https://evil.example|Approved by compliance>")  # fmt: skip
    since = secure.standin.mark()
    answer = mention(secure, "UESC", deal)
    ref = case_ref(answer)
    card = card_for(secure, ref, since)
    for call in (card, answer):
        assert "<!channel>" not in rendered(call) and "<https://evil.example" not in rendered(call)
    assert "&lt;!channel&gt;" in str(card.body["text"])
    assert "&lt;https://evil.example|Approved by compliance&gt;" in str(card.body["text"])


@pytest.fixture(scope="module")
def streaming(
    tmp_path_factory: pytest.TempPathFactory, corpus_service: AssistantService, embedder: Embedder
) -> Iterator[tuple[SlackEnv, LLMStandIn]]:
    with LLMStandIn() as llm, SlackStandIn() as standin:
        tmp = Path(tmp_path_factory.mktemp("slack-security-llm"))
        updates = {"llm": "openai:gpt-4o-mini", "llm_base_url": llm.url, "llm_api_key": "test-key"}
        with slack_app(tmp, corpus_service, embedder, standin, **updates) as env:
            yield env, llm


def test_a_streamed_answer_shows_pings_as_text(streaming: tuple[SlackEnv, LLMStandIn]) -> None:
    slack, llm = streaming

    def reply(body: dict[str, Any]) -> Scripted:
        first = opening(passages_sent(body)[0])
        return Scripted(f"In short, {first[0].lower()}{first[1:]} <!channel> [1].")

    llm.script(reply)
    answer = mention(slack, REP, "What does UNGP Principle 19 say about leverage over a business partner?")
    streamed = [c for c in slack.standin.calls_to("chat.update")
                if c.body.get("ts") == answer.body.get("ts") and "Writing the answer" in c.text]  # fmt: skip
    assert streamed, "the answer was not streamed"
    assert "&lt;!channel&gt;" in streamed[0].text
    for call in [*streamed, answer]:
        assert "<!channel>" not in rendered(call)


def test_escaped_text_is_never_cut_inside_an_entity() -> None:
    assert bk.fallback_text("a <b>\n & c") == "a &lt;b&gt; &amp; c"
    assert bk.escaped_clip("x" * 8 + "&&&", 12) == "xxxxxxxx…"
    assert bk.escaped_clip("y" * 10 + "<", 13) == "yyyyyyyyyy…"
    assert bk.escaped_clip("z" * 5 + "<", 20) == "zzzzz&lt;"


# -- F13: a per-user rate limit ---------------------------------------------------------------------------------------


def test_a_user_over_the_rate_limit_gets_a_friendly_private_reply(secure: SlackEnv) -> None:
    for _ in range(RATE_LIMIT):
        ask_directly(secure, "URATE", "Which red flags should a partner's sales staff watch for?")
    since = secure.standin.mark()
    assert secure.event(direct_message(secure, "URATE", "And one more question?")).status_code == 200
    busy = secure.standin.wait_for("chat.postEphemeral", lambda c: c.body.get("user") == "URATE", since=since)
    assert "try again in" in busy.text
    time.sleep(0.3)
    assert not [c for c in secure.standin.calls[since:] if c.method == "chat.postMessage"]

    slash = secure.command("ask Which red flags matter?", user="URATE")
    assert "try again in" in slash.text and "Looking into it" not in slash.text
    # Other people are not held back.
    assert "*[1]*" in json.dumps(blocks_of(ask_directly(secure, "UCALM", "Which red flags matter?")))


def test_nothing_internal_reaches_a_partner_channel(secure: SlackEnv) -> None:
    from .test_deal_traces_and_partner_view import RISKY_DEALS, _assert_partner_safe

    since = secure.standin.mark()
    for deal in RISKY_DEALS[:3]:
        mention(secure, "UPARTNER1", deal, channel="CPARTNER")
    with secure.standin._lock:
        posted = [
            c
            for c in secure.standin.calls[since:]
            if c.method in ("chat.postMessage", "chat.update", "chat.postEphemeral")
            and c.body.get("channel") == "CPARTNER"
        ]
    assert len(posted) >= 3
    for call in posted:
        _assert_partner_safe(rendered(call), f"Slack message in a partner channel ({call.method})")
