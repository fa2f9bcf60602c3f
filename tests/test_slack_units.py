"""Slack door pieces on their own: Block Kit limits, channel scopes and identities, settings checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from assistant.answers.models import Answer, Citation, Risk
from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.knowledge.embeddings import Embedder
from assistant.slack import blocks as bk
from assistant.slack.audiences import Directory, parse_channel_audiences
from assistant.slack.door import parse_thread_channel, thread_channel
from assistant.slack.run import check_settings, run_slack

from .conftest import make_settings
from .slack_standin import TEAM_ID, SlackStandIn


@pytest.fixture(scope="module")
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(compliance_members=["UCOMP"], shared_channels=["CSHARED"], external_users={"UEXT": "TX"}) as s:
        yield s


def _citation(n: int) -> Citation:
    return Citation(
        n=n,
        doc_id=f"doc{n}",
        title=f"Title <{n}> & co",
        locator=f"RAS {n}.1",
        source_type="policy",
        audience="internal",
        url="https://example.test/doc" if n % 2 else "",
        quote="A quote. " * 80,
        chunk_id=f"c{n}",
    )


def test_split_text_respects_the_section_limit_and_keeps_every_word() -> None:
    text = ("Sentence number one is here. " * 120 + "\n\n") * 3
    pieces = bk.split_text(text)
    assert len(pieces) > 3
    assert all(0 < len(p) <= bk.SECTION_LIMIT for p in pieces)
    assert " ".join(" ".join(pieces).split()) == " ".join(text.split())
    unbroken = "x" * 7000
    assert [len(p) for p in bk.split_text(unbroken)] == [3000, 3000, 1000]


def test_long_answers_stay_within_slack_limits() -> None:
    answer = Answer(
        question="q" * 3000,
        answer="Long answer [1]. " * 1500,
        refused=False,
        citations=[_citation(n) for n in range(1, 13)],
        next_steps=[f"Step {i}" for i in range(30)],
        risk=Risk(level="escalate", reasons=[{"text": "Because.", "citations": [{"locator": "RAS 4.3"}]}]),
    )
    blocks = bk.answer_blocks(answer)
    pages = bk.paginate(blocks)
    assert len(pages) >= 1 and all(len(page) <= bk.MESSAGE_BLOCK_LIMIT for page in pages)
    assert [b for page in pages for b in page] == blocks
    assert all(len(b["text"]["text"]) <= bk.SECTION_LIMIT for b in blocks if b["type"] == "section")
    actions = [b for b in blocks if b["type"] == "actions"]
    assert actions and all(len(e["value"]) <= bk.BUTTON_VALUE_LIMIT for e in actions[0]["elements"])
    assert "Title &lt;1&gt; &amp; co" in str(blocks)
    assert "<https://example.test/doc|" in str(blocks)
    modal = bk.sources_modal(answer.citations)
    assert len(modal["blocks"]) == 12 and len(modal["private_metadata"]) <= 3000


def test_channel_audiences_are_parsed_and_bad_entries_named() -> None:
    assert parse_channel_audiences(" C1=partner, C2=internal;C3=public ") == {
        "C1": "partner",
        "C2": "internal",
        "C3": "partner",
    }
    assert parse_channel_audiences("") == {}
    with pytest.raises(ConfigError, match="C9=everyone"):
        parse_channel_audiences("C1=partner,C9=everyone")


def test_scopes_users_and_compliance_come_from_settings_and_slack(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    directory = Directory({"CPARTNER": "partner", "CSHARED2": "internal"}, "CCOMP", compliance_users=["UCOMP"])
    assert directory.scope(client, "CPARTNER") == "partner"
    assert directory.scope(client, "CSHARED") == "partner"  # Slack Connect
    assert directory.scope(client, "CSALES") == "internal"
    assert directory.scope(client, "CX", {"is_ext_shared_channel": True}) == "partner"
    assert directory.scope(client, "DREP") == "internal"

    rep = directory.user(client, "UREP", channel="CSALES", home_team=TEAM_ID)
    assert (rep.role, rep.org, rep.audiences) == ("sales", "internal", ("public", "partner", "internal"))
    in_shared = directory.user(client, "UREP", channel="CSHARED", home_team=TEAM_ID)
    assert in_shared.role == "partner" and "internal" not in in_shared.audiences
    guest = directory.user(client, "UEXT", channel="DEXT", home_team=TEAM_ID)
    assert (guest.role, guest.org) == ("partner", "slack:TX")

    assert directory.compliance_user(client, "UCOMP") is not None
    assert directory.compliance_user(client, "UREP") is None
    assert Directory({}, "").compliance_user(client, "UCOMP") is None


def test_an_unknown_channel_is_treated_as_partner(standin: SlackStandIn) -> None:
    client = WebClient(token="xoxb-test", base_url=standin.base_url + "/nowhere/")
    assert Directory({}, "CCOMP").scope(client, "CUNKNOWN") == "partner"


def test_thread_channel_round_trips() -> None:
    assert parse_thread_channel(thread_channel("C1", "17.5")) == ("C1", "17.5")
    assert parse_thread_channel("cli") is None
    assert parse_thread_channel("slack") is None


def test_missing_slack_settings_are_named(tmp_path: Path) -> None:
    base = make_settings(tmp_path)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        run_slack(base, http=True, port=0)
    with_bot = base.model_copy(update={"slack_bot_token": "xoxb-1"})
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        check_settings(with_bot, http=True)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        check_settings(with_bot, http=False)
    check_settings(with_bot.model_copy(update={"slack_app_token": "xapp-1"}), http=False)


def test_creating_the_app_calls_nobody(standin: SlackStandIn, tmp_path: Path, embedder: Embedder) -> None:
    from assistant.service import create_service
    from assistant.slack import create_slack_app

    settings: Settings = make_settings(tmp_path).model_copy(
        update={"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "slack_api_url": standin.api_url}
    )
    since = standin.mark()
    app = create_slack_app(create_service(settings, embedder=embedder), settings)
    assert app.client.base_url == standin.api_url
    assert standin.calls[since:] == []


def test_the_manifest_declares_what_the_app_uses() -> None:
    import yaml

    manifest = yaml.safe_load((Path(__file__).resolve().parents[1] / "slack" / "manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/dd"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "app_home_opened", "message.im", "message.channels"} <= events
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "commands", "users:read", "channels:read", "im:history", "app_mentions:read"} <= scopes
