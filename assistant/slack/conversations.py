"""Sales-rep conversations: @mentions (answered in their thread), DMs, thread follow-ups and `/dd`.

Bolt acknowledges events before the listener runs, and runs listeners on its thread pool, so the
slow part (retrieval) never delays the acknowledgement. Slash commands call `ack()` first for the
same reason.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..config import MAX_QUESTION_CHARS
from ..identity import User
from . import blocks as bk
from .door import Door, direct_channel, explain, home_team, idempotency_key, thread_channel

log = logging.getLogger(__name__)

MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
HELP = (
    "*/dd ask QUESTION* — answer a question from the due-diligence guidance, with sources\n"
    "*/dd screen* — open a form to triage a deal (product, end user, country, partner, notes)\n"
    "You can also mention me in a channel or write to me directly."
)


def strip_mentions(text: str) -> str:
    """The message without user mentions (the bot's name is not part of the question)."""
    return " ".join(MENTION.sub(" ", text).split())


def with_thread_context(question: str, earlier: str) -> str:
    """The follow-up with the thread's opening question, so retrieval and triage see both."""
    if not earlier or earlier == question:
        return question
    room = MAX_QUESTION_CHARS - len(question) - 40
    if room < 80:
        return question
    return f"{question}\n\nEarlier in this thread: {bk.clip(earlier, room)}"


def thread_context(client: WebClient, channel: str, thread_ts: str, context: BoltContext) -> tuple[bool, str]:
    """(whether the bot took part in the thread, the thread's opening text when a person wrote it)."""
    replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=100)
    messages: list[dict[str, Any]] = list(replies.get("messages") or [])
    involved = any(
        (context.bot_user_id and m.get("user") == context.bot_user_id)
        or (context.bot_id and m.get("bot_id") == context.bot_id)
        for m in messages
    )
    root = messages[0] if messages else {}
    human_root = not root.get("bot_id") and root.get("user") != context.bot_user_id
    return involved, strip_mentions(str(root.get("text") or "")) if human_root else ""


def answer_question(
    door: Door,
    client: WebClient,
    *,
    question: str,
    user_id: str,
    channel: str,
    reply_thread: str | None,
    event_id: str,
    context: BoltContext,
    body: dict[str, Any] | None = None,
    intro: str | None = None,
    ts: str | None = None,
) -> None:
    """Placeholder, answer, update: the whole 'never silent' path for one question.

    `ts` is a placeholder already posted (else one is posted here). `body` is the request (event
    envelope or slash command) whose team ids and shared-channel flag say who is asking.
    """
    try:
        if ts is None:
            channel, ts = door.placeholder(client, channel, reply_thread)
        thread = reply_thread or ts
        user = door.directory.user(client, user_id, channel=channel, home_team=home_team(context), body=body)
        answer = door.service.ask(
            question,
            user,
            channel=thread_channel(channel, thread),
            idempotency_key=idempotency_key("ask", user_id, event_id),
            on_partial=door.streamer(client, channel, ts),
        )
        door.remember(answer)
        blocks = bk.answer_blocks(answer)
        if intro:
            blocks.insert(0, bk.context(intro))
        door.publish(client, channel, ts, reply_thread, blocks, answer.answer)
        log.info("slack answer", extra={"event_id": event_id, "channel": channel, "case_ref": answer.case_ref})
        if answer.case_ref:
            door.announce_case(client, answer.case_ref)
    except Exception as exc:
        door.fail(client, exc, event_id=event_id, channel=channel, ts=ts, thread_ts=reply_thread)


def register(app: App, door: Door) -> None:
    """Add the conversation listeners to the app."""

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id"):
            return
        event_id = str(body.get("event_id") or "")
        channel = str(event["channel"])
        ts = str(event["ts"])
        root = str(event.get("thread_ts") or ts)
        question = strip_mentions(str(event.get("text") or ""))
        if not question:
            client.chat_postMessage(channel=channel, thread_ts=root, text=HELP)
            return
        user_id = str(event.get("user") or "")
        busy = door.too_busy(user_id)
        if busy:
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=root, text=busy)
            return
        if root != ts:
            try:
                _, earlier = thread_context(client, channel, root, context)
                question = with_thread_context(question, earlier)
            except SlackApiError as exc:
                log.warning("could not read the thread", extra={"event_id": event_id, "error": str(exc)})
        answer_question(
            door,
            client,
            question=question,
            user_id=user_id,
            channel=channel,
            reply_thread=root,
            event_id=event_id,
            context=context,
            body=body,
        )

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # Edits, deletions, joins and every bot's messages (ours included) are not questions.
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return
        event_id = str(body.get("event_id") or "")
        channel = str(event["channel"])
        ts = str(event["ts"])
        thread_ts = event.get("thread_ts")
        is_reply = bool(thread_ts and thread_ts != ts)
        direct = event.get("channel_type") == "im"
        text = str(event.get("text") or "")
        if not direct and (not is_reply or (context.bot_user_id and f"<@{context.bot_user_id}>" in text)):
            return  # channel chatter, or a mention (answered by on_mention)
        question = strip_mentions(text)
        if not question:
            return
        if is_reply:
            try:
                involved, earlier = thread_context(client, channel, str(thread_ts), context)
            except Exception as exc:
                door.fail(client, exc, event_id=event_id, channel=channel, thread_ts=str(thread_ts))
                return
            if not involved and not direct:
                return  # a thread we were never part of
            question = with_thread_context(question, earlier)
        busy = door.too_busy(str(event["user"]))
        if busy:
            thread = str(thread_ts) if is_reply else None
            client.chat_postEphemeral(channel=channel, user=str(event["user"]), thread_ts=thread, text=busy)
            return
        answer_question(
            door,
            client,
            question=question,
            user_id=str(event["user"]),
            channel=channel,
            reply_thread=str(thread_ts) if is_reply else (None if direct else ts),
            event_id=event_id,
            context=context,
            body=body,
        )

    @app.command("/dd")
    def on_dd(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond, context: BoltContext) -> None:
        text = str(command.get("text") or "").strip()
        sub, _, rest = text.partition(" ")
        sub = sub.lower()
        event_id = f"command:{command.get('trigger_id', '')}"
        if sub in ("", "help"):
            ack(text=HELP)
            return
        if sub == "screen":
            ack()
            metadata = {"channel": command.get("channel_id", "")}
            try:
                client.views_open(trigger_id=command["trigger_id"], view=bk.screen_modal(metadata))
            except SlackApiError as exc:
                door.fail(client, exc, event_id=event_id)
                respond(text=f":warning: Could not open the deal form: {exc.response.get('error')}.")
            return
        question = rest.strip() if sub == "ask" else text
        if not question:
            ack(text="Usage: `/dd ask QUESTION`")
            return
        user_id = str(command.get("user_id") or "")
        busy = door.too_busy(user_id)
        if busy:
            ack(text=busy)
            return
        ack(text=f"Looking into it: {bk.escape(bk.clip(question, 200))}")
        channel = str(command.get("channel_id") or "")
        intro = f"<@{user_id}> asked: {bk.escape(bk.clip(question, 500))}"
        try:
            channel, ts = door.placeholder(client, channel, None)
        except SlackApiError as exc:
            # Not in the channel (or a DM between two people): answer through the response URL.
            log.info("cannot post in channel; answering privately", extra={"error": exc.response.get("error")})
            answer_privately(door, client, respond, question, command, event_id, context, intro)
            return
        answer_question(
            door,
            client,
            question=question,
            user_id=user_id,
            channel=channel,
            reply_thread=None,
            event_id=event_id,
            context=context,
            body=command,
            intro=intro,
            ts=ts,
        )


def answer_privately(
    door: Door,
    client: WebClient,
    respond: Respond,
    question: str,
    command: dict[str, Any],
    event_id: str,
    context: BoltContext,
    intro: str,
) -> None:
    """Answer a slash command through its response URL (the bot is not in the channel).

    A deal that needs compliance still opens its case, and the card still goes to compliance: an
    answer only the asker sees must not be a way to screen deals without a trace. The asker is told
    about the decision in their DM with the app.
    """
    try:
        user_id, channel = str(command.get("user_id") or ""), str(command.get("channel_id") or "")
        user: User = door.directory.user(client, user_id, channel=channel, home_team=home_team(context), body=command)
        answer = door.service.ask(
            question,
            user,
            channel=direct_channel(user_id),
            open_case=True,
            idempotency_key=idempotency_key("ask", user_id, event_id),
        )
        door.remember(answer)
        blocks = [bk.context(intro), *bk.answer_blocks(answer)]
        if answer.case_ref:
            ref = answer.case_ref
            told = f"Only you can see this answer. Compliance has case *{ref}*; I will tell you its decision in our DM."
            blocks.insert(1, bk.context(told))
        page = bk.paginate(blocks)[0]
        respond(text=bk.fallback_text(answer.answer), blocks=page, response_type="ephemeral")
        if answer.case_ref:
            door.announce_case(client, answer.case_ref)
    except Exception as exc:
        door.fail(client, exc, event_id=event_id)
        respond(text=f":warning: {explain(exc)} (reference {event_id})", response_type="ephemeral")
