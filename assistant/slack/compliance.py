"""Compliance in Slack: case cards (assign, approve, reject, request info) and the App Home.

Who counts as compliance: the reviewers named in ASSISTANT_SLACK_COMPLIANCE_USERS or the user group
ASSISTANT_SLACK_COMPLIANCE_USERGROUP (see `audiences`), never mere members of the compliance channel.
Nobody decides a case they requested themselves. Every action is checked again by the service
(`decide_case`, `assign_case` refuse other roles), and the Slack user id is the actor on the audit trail.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from ..errors import BadInput, PermissionDenied
from ..identity import User
from . import blocks as bk
from .door import Door, body_user, case_note, home_team
from .interactions import message_place

log = logging.getLogger(__name__)

DECISION_ACTIONS = {"dd_case_approve": "approve", "dd_case_reject": "reject", "dd_case_needs_info": "needs_info"}
DONE = {"approve": "Approved", "reject": "Rejected", "needs_info": "Information requested"}
FIRST_APPROVAL = "First approval (prohibited: a second, different reviewer must approve)"
TELL_REQUESTER = {
    "approve": "Compliance approved *{ref}*: “{comment}”. You may proceed within what was approved.",
    "reject": "Compliance rejected *{ref}*: “{comment}”. Do not proceed with this deal.",
    "needs_info": "Compliance needs more information on *{ref}*: “{comment}”. Please send it to <@{actor}>.",
}


def not_compliance_text(door: Door) -> str:
    if not door.directory.has_reviewers:
        return "Only compliance reviewers can review cases, and none are named for Slack: use the web queue."
    return "Only members of the compliance team named in the app's settings can review cases."


def own_case_text(ref: str) -> str:
    return f"You requested {ref} yourself, so another compliance reviewer must decide it."


def requested_by(door: Door, ref: str, reviewer: User) -> bool:
    """Whether the reviewer is the person who asked for the case (they may not decide it)."""
    case, _ = door.service.case_for(ref, reviewer)
    return case.requester.user_id == reviewer.id


def home_for(door: Door, client: WebClient, user_id: str, context: BoltContext) -> dict[str, Any]:
    """The App Home view for this user: the queue for compliance, their own cases for everyone else."""
    now = datetime.now(UTC)
    reviewer = door.directory.compliance_user(client, user_id, home_team=home_team(context))
    if reviewer is not None:
        queue = door.service.queue(reviewer)
        return bk.home_view(f"Compliance queue: {len(queue)} open", queue, now, "No cases are waiting. :tada:")
    user = door.directory.user(client, user_id, channel=None, home_team=home_team(context))
    mine = door.service.my_cases(user)
    return bk.home_view("Your cases", mine, now, "You have no cases. Ask me about a deal, or use `/dd screen`.")


def register(app: App, door: Door) -> None:
    """Add the case card actions, the decision modal and the App Home to the app."""

    def reviewer_or_refuse(client: WebClient, body: dict[str, Any], context: BoltContext) -> User | None:
        user = door.directory.compliance_user(client, body_user(body), home_team=home_team(context))
        if user is None:
            channel, thread = message_place(body)
            door.fail_action(
                client, PermissionDenied(not_compliance_text(door)), body, channel=channel, thread_ts=thread
            )
        return user

    @app.action("dd_case_assign")
    def on_assign(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        channel, _ = message_place(body)
        ts = str((body.get("container") or {}).get("message_ts") or "")
        try:
            user = reviewer_or_refuse(client, body, context)
            if user is None:
                return
            case = door.service.assign_case(str(action.get("value")), user)
            client.chat_update(
                channel=channel,
                ts=ts,
                text=f"{case.ref} assigned to {user.id}",
                blocks=bk.case_card(case, case_note(user.id, "Assigned", None)),
            )
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel)

    def on_decision_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        channel, _ = message_place(body)
        ts = str((body.get("container") or {}).get("message_ts") or "")
        try:
            reviewer = reviewer_or_refuse(client, body, context)
            if reviewer is None:
                return
            ref, decision = str(action.get("value")), DECISION_ACTIONS[str(action.get("action_id"))]
            if requested_by(door, ref, reviewer):
                door.fail_action(client, PermissionDenied(own_case_text(ref)), body, channel=channel)
                return
            metadata = {"ref": ref, "decision": decision, "channel": channel, "ts": ts}
            client.views_open(trigger_id=body["trigger_id"], view=bk.decision_modal(ref, decision, metadata))
        except Exception as exc:
            door.fail_action(client, exc, body, channel=channel)

    for action_id in DECISION_ACTIONS:
        app.action(action_id)(on_decision_button)

    @app.view("dd_decide")
    def on_decide(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        comment = bk.modal_values(view).get("comment", "")
        ref, decision = str(meta.get("ref") or ""), str(meta.get("decision") or "")
        user = door.directory.compliance_user(client, body_user(body), home_team=home_team(context))
        if user is None:
            ack(response_action="errors", errors={"comment": not_compliance_text(door)})
            return
        try:
            if requested_by(door, ref, user):
                raise PermissionDenied(own_case_text(ref))
            case = door.service.decide_case(ref, decision, user, comment)
        except (BadInput, PermissionDenied) as exc:
            # Refusals (no comment, already decided, ...) are shown on the form; nothing was changed.
            ack(response_action="errors", errors={"comment": str(exc)[:150]})
            return
        ack()
        log.info("case decided in slack", extra={"case_ref": ref, "decision": decision, "view": view.get("id")})
        channel, ts = str(meta.get("channel") or ""), str(meta.get("ts") or "")
        # A prohibited deal needs two reviewers' approvals: the first one leaves the case undecided, and the
        # requester must not hear "approved" until the second.
        first_of_two = decision == "approve" and case.status != "approved"
        done = FIRST_APPROVAL if first_of_two else DONE[decision]
        try:
            if channel and ts:
                client.chat_update(
                    channel=channel,
                    ts=ts,
                    text=f"{case.ref}: {bk.STATUS_LABELS.get(case.status)}",
                    blocks=bk.case_card(case, case_note(user.id, done, comment)),
                )
            if first_of_two:
                return
            said = bk.escape(bk.clip(comment, 1500))  # a comment is text: no pings or links in the rep's thread
            text = TELL_REQUESTER[decision].format(ref=case.ref, comment=said, actor=user.id)
            door.notify_requester(client, case, text)
        except Exception as exc:
            door.fail(client, exc, event_id=f"view:{view.get('id')}", channel=channel or None, user=user.id)

    @app.event("app_home_opened")
    def on_home(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        user_id = str(event.get("user") or "")
        try:
            client.views_publish(user_id=user_id, view=home_for(door, client, user_id, context))
        except Exception as exc:
            door.fail(client, exc, event_id=str(body.get("event_id") or ""))
