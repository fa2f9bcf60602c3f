"""Buttons and modals on answers: feedback, all sources, escalation, and the /dd screen deal form."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from ..answers.models import Answer
from ..cases.models import Case
from ..config import MAX_QUESTION_CHARS
from ..identity import User
from ..risk.triage import DealFields
from . import blocks as bk
from .door import Door, body_user, home_team, idempotency_key, thread_channel

log = logging.getLogger(__name__)


def message_place(body: dict[str, Any]) -> tuple[str, str]:
    """(channel, thread ts) of the message a button sits on; a top-level message starts its own thread."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    thread = str(message.get("thread_ts") or container.get("message_ts") or message.get("ts") or "")
    return channel, thread


def answer_reference(action: dict[str, Any]) -> dict[str, str]:
    """The {'a': answer id, 'q': question} a button on an answer carries."""
    value = json.loads(str(action.get("value") or "{}"))
    return {"a": str(value.get("a") or ""), "q": str(value.get("q") or "")}


def escalate(door: Door, text: str, user: User, channel: str, thread: str, key: str | None) -> Case:
    """Open a case for a deal someone asked compliance to review.

    Triage decides the level; when it would not open a case on its own (proceed or enhanced due
    diligence), the requester's explicit request still does, at the triaged level.
    """
    where = thread_channel(channel, thread)
    screening = door.service.escalate(text, user, channel=where, idempotency_key=key)
    assert screening.case_ref is not None
    case, _ = door.service.case_for(screening.case_ref, user)
    return case


def register(app: App, door: Door) -> None:
    """Add the answer buttons and the modals behind them to the app."""

    def asking_user(client: WebClient, body: dict[str, Any], channel: str | None, context: BoltContext) -> User:
        # The payload's team ids count as much as users.info: buttons get the same checks as messages.
        return door.directory.user(client, body_user(body), channel=channel, home_team=home_team(context), body=body)

    def thank(client: WebClient, channel: str, user_id: str, thread: str | None, text: str) -> None:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user_id, thread_ts=thread, text=text)

    # -- feedback ---------------------------------------------------------------------------------------

    @app.action("dd_feedback_up")
    def on_helpful(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        channel, thread = message_place(body)
        ref = answer_reference(action)
        try:
            user = asking_user(client, body, channel, context)
            door.service.record_feedback(user, answer_id=ref["a"], question=ref["q"], helpful=True, channel="slack")
            thank(client, channel, user.id, thread, "Thanks: noted as helpful.")
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel, thread_ts=thread)

    @app.action("dd_feedback_down")
    def on_not_helpful(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, thread = message_place(body)
        metadata = {**answer_reference(action), "channel": channel, "thread": thread}
        try:
            client.views_open(trigger_id=body["trigger_id"], view=bk.feedback_modal(metadata))
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel, thread_ts=thread)

    def record_not_helpful(client: WebClient, body: dict[str, Any], view: dict[str, Any], context: BoltContext) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        reason = bk.modal_values(view).get("reason") or None
        channel, thread = str(meta.get("channel") or ""), str(meta.get("thread") or "") or None
        try:
            user = asking_user(client, body, channel, context)
            door.service.record_feedback(
                user,
                answer_id=str(meta.get("a") or ""),
                question=str(meta.get("q") or ""),
                helpful=False,
                reason=reason,
                channel="slack",
            )
            thank(client, channel, user.id, thread, "Thanks: noted as not helpful. It helps us improve the guidance.")
        except Exception as exc:
            door.fail(
                client,
                exc,
                event_id=f"view:{view.get('id')}",
                channel=channel or None,
                thread_ts=thread,
                user=body_user(body),
            )

    @app.view("dd_feedback_reason")
    def on_reason(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        record_not_helpful(client, body, view, context)

    @app.view_closed("dd_feedback_reason")
    def on_reason_closed(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        record_not_helpful(client, body, view, context)

    # -- sources ----------------------------------------------------------------------------------------

    @app.action("dd_sources")
    def on_sources(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        channel, thread = message_place(body)
        ref = answer_reference(action)
        try:
            answer: Answer | None = door.recall(ref["a"])
            if answer is None:
                # Another process answered, or this one restarted: answering again gives the same sources.
                busy = door.too_busy(body_user(body))
                if busy:
                    thank(client, channel, body_user(body), thread, busy)
                    return
                user = asking_user(client, body, channel, context)
                answer = door.service.ask(ref["q"], user, channel="slack", open_case=False)
            client.views_open(trigger_id=body["trigger_id"], view=bk.sources_modal(answer.citations))
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel, thread_ts=thread)

    # -- escalation -------------------------------------------------------------------------------------

    @app.action("dd_escalate")
    def on_escalate_button(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        ack()
        channel, thread = message_place(body)
        ref = answer_reference(action)
        metadata = {**ref, "channel": channel, "thread": thread}
        try:
            client.views_open(trigger_id=body["trigger_id"], view=bk.escalate_modal(ref["q"], metadata))
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel, thread_ts=thread)

    @app.view("dd_escalate")
    def on_escalate(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        question = str(meta.get("q") or "")
        facts = bk.modal_values(view).get("facts", "")
        text = question + (f"\n\nAdditional facts: {facts}" if facts else "")
        if len(text) > MAX_QUESTION_CHARS:
            room = max(0, MAX_QUESTION_CHARS - len(question) - 30)
            ack(response_action="errors", errors={"facts": f"Please keep the facts under {room} characters."})
            return
        busy = door.too_busy(body_user(body))
        if busy:
            ack(response_action="errors", errors={"facts": busy})
            return
        ack()
        channel, thread = str(meta.get("channel") or ""), str(meta.get("thread") or "")
        event_id = f"view:{view.get('id')}"
        try:
            user = asking_user(client, body, channel, context)
            key = idempotency_key("escalate", user.id, str(view.get("id") or ""))
            case = escalate(door, text, user, channel, thread, key)
            door.announce_case(client, case.ref)
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                text=(
                    f"<@{user.id}> escalated this to compliance as *{case.ref}* "
                    f"({bk.level_label(case.level)}). You will be told here when it is decided."
                ),
            )
            log.info("escalated from slack", extra={"event_id": event_id, "case_ref": case.ref})
        except Exception as exc:
            door.fail(client, exc, event_id=event_id, channel=channel or None, thread_ts=thread, user=body_user(body))

    # -- /dd screen ---------------------------------------------------------------------------------------

    @app.view("dd_screen")
    def on_screen(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = bk.modal_values(view)
        fields = DealFields(
            product=values.get("product", ""),
            end_user=values.get("end_user", ""),
            country=values.get("country", ""),
            partner=values.get("partner", ""),
            notes=values.get("notes", ""),
        )
        if not fields.as_text():
            ack(response_action="errors", errors={"product": "Describe at least one part of the deal."})
            return
        busy = door.too_busy(body_user(body))
        if busy:
            ack(response_action="errors", errors={"product": busy})
            return
        ack()
        meta = json.loads(view.get("private_metadata") or "{}")
        user_id = body_user(body)
        event_id = f"view:{view.get('id')}"
        channel: str | None = None
        ts: str | None = None
        try:
            # The result goes to the requester's DM with the app: deal details are nobody else's business.
            channel, ts = door.placeholder(client, user_id, None, "Screening your deal")
            user = door.directory.user(
                client, user_id, channel=str(meta.get("channel") or "") or None, home_team=home_team(context), body=body
            )
            screening = door.service.screen(
                fields,
                user,
                channel=thread_channel(channel, ts),
                idempotency_key=idempotency_key("screen", user_id, str(view.get("id") or "")),
            )
            door.publish(
                client,
                channel,
                ts,
                None,
                bk.screening_blocks(screening, fields.as_text()),
                f"Screening: {bk.level_label(screening.level)}",
            )
            if screening.case_ref:
                door.announce_case(client, screening.case_ref)
        except Exception as exc:
            door.fail(client, exc, event_id=event_id, channel=channel or user_id, ts=ts)
