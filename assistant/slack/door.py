"""What every Slack listener shares: the service, the directory, and how to post, update and fail.

"Never silent": a listener posts a placeholder first, then replaces it with the result or with a
reason for the failure (logged with the event id). Cases opened from Slack remember where they were
asked, in the requester's channel field (`slack:<channel>:<thread ts>`, or `slack-dm:<user>` for an
answer only its asker saw), so decisions can be told there later, by any process.

Each Slack user has a budget of questions, screenings and escalations per minute
(ASSISTANT_SLACK_RATE_LIMIT_PER_MINUTE); past it they get a friendly private reply and nothing runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..answers.models import Answer
from ..cases.models import Case
from ..config import Settings
from ..enums import Role
from ..errors import AssistantError, BadInput, IndexUnavailable, OverBudget, PermissionDenied
from ..identity import STAFF_ORG, User
from ..service import AssistantService
from . import blocks as bk
from .audiences import Directory
from .limits import RateLimiter

log = logging.getLogger(__name__)

ANSWER_CACHE_SIZE = 500
# The app itself, reading a new case to post its card to the compliance channel (which only reviewers read).
COMPLIANCE_POSTER = User(id="slack-app", role=Role.COMPLIANCE, org=STAFF_ORG, display_name="Slack app")


def thread_channel(channel: str, thread_ts: str) -> str:
    """The requester channel recorded on a case: where to tell the requester about it."""
    return f"slack:{channel}:{thread_ts}"


def direct_channel(user_id: str) -> str:
    """The requester channel of a case whose answer only the asker saw: tell them in the app's DM."""
    return f"slack-dm:{user_id}"


def parse_thread_channel(value: str) -> tuple[str, str] | None:
    """(channel, thread ts) from `slack:<channel>:<ts>`, or None for cases opened elsewhere."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != "slack" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def explain(exc: BaseException) -> str:
    """What to tell a user about a failure (never a traceback or an internal detail)."""
    if isinstance(exc, (BadInput, PermissionDenied, OverBudget)):
        return str(exc)
    if isinstance(exc, IndexUnavailable):
        return "The guidance index is not available right now. Please try again in a few minutes."
    if isinstance(exc, SlackApiError):
        return f"Slack refused a request ({exc.response.get('error', 'unknown error')})."
    if isinstance(exc, AssistantError):
        return "The assistant is misconfigured; an administrator has been told."
    return "Something went wrong on my side."


def home_team(context: BoltContext) -> str | None:
    """The app's own workspace: the team auth.test names for the bot token, else the request's team."""
    result = context.authorize_result
    return (result.team_id if result is not None else None) or context.team_id


def idempotency_key(kind: str, user_id: str, request_id: str) -> str | None:
    """A case key for one Slack request (a retry of it carries the same id), or None without an id.

    Never a channel or thread: two deals asked in one thread are two cases.
    """
    return f"slack-{kind}:{user_id}:{request_id}" if user_id and request_id else None


@dataclass
class Door:
    """The Slack door's shared state and helpers (one per app; no globals)."""

    service: AssistantService
    settings: Settings
    directory: Directory
    _answers: OrderedDict[str, Answer] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.slack_rate_limit_per_minute)

    # -- limits -------------------------------------------------------------------------------------------

    def too_busy(self, user_id: str) -> str | None:
        """Count one request of this user; None when it may go on, else the friendly reply to give instead."""
        wait = self.limiter.hit(user_id)
        if wait is None:
            return None
        log.info("slack user over the rate limit", extra={"user": user_id, "retry_after": wait})
        return (
            f":hourglass: You have sent {self.limiter.per_minute} requests in the last minute, which is my limit. "
            f"Please try again in {wait} seconds."
        )

    # -- answers kept for "Show all sources" (a miss re-asks the question) ----------------------------

    def remember(self, answer: Answer) -> None:
        with self._lock:
            self._answers[answer.answer_id] = answer
            while len(self._answers) > ANSWER_CACHE_SIZE:
                self._answers.popitem(last=False)

    def recall(self, answer_id: str) -> Answer | None:
        with self._lock:
            return self._answers.get(answer_id)

    # -- posting ------------------------------------------------------------------------------------

    def placeholder(
        self, client: WebClient, channel: str, thread_ts: str | None, what: str = "Looking into it"
    ) -> tuple[str, str]:
        """Post the 'looking into it' message; returns its (channel id, ts)."""
        reply = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=f"{what}…", blocks=bk.placeholder_blocks(what)
        )
        return str(reply.get("channel") or channel), str(reply["ts"])

    def streamer(self, client: WebClient, channel: str, ts: str, min_interval_s: float = 1.0) -> Callable[[str], None]:
        """An `on_partial` callback that shows a generated answer growing in the placeholder.

        Updates are throttled (Slack rate-limits chat.update); the final answer replaces the message anyway.
        """
        last: dict[str, Any] = {"at": 0.0, "text": ""}

        def update(text: str) -> None:
            now = time.monotonic()
            if text == last["text"] or now - last["at"] < min_interval_s:
                return
            last.update(at=now, text=text)
            try:
                client.chat_update(
                    channel=channel, ts=ts, text=bk.fallback_text(text), blocks=bk.streaming_blocks(text)
                )
            except Exception:  # a failed interim update must not cost the final answer
                log.warning("slack streaming update failed", extra={"channel": channel})

        return update

    def publish(
        self, client: WebClient, channel: str, ts: str, thread_ts: str | None, blocks: list[bk.Block], text: str
    ) -> None:
        """Replace the placeholder with the result; blocks beyond one message follow in the thread."""
        pages = bk.paginate(blocks)
        client.chat_update(channel=channel, ts=ts, text=bk.fallback_text(text), blocks=pages[0])
        for page in pages[1:]:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts or ts, text="(continued)", blocks=page)

    def fail_action(
        self,
        client: WebClient,
        exc: BaseException,
        body: dict[str, Any],
        *,
        channel: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """`fail` for a button or other interaction: its trigger id stands in for the event id."""
        self.fail(
            client,
            exc,
            event_id=f"action:{body.get('trigger_id')}",
            channel=channel,
            thread_ts=thread_ts,
            user=body_user(body),
        )

    def fail(
        self,
        client: WebClient,
        exc: BaseException,
        *,
        event_id: str,
        channel: str | None = None,
        ts: str | None = None,
        thread_ts: str | None = None,
        user: str | None = None,
    ) -> None:
        """Log the failure with the event id and tell the user why (update the placeholder if there is one)."""
        expected = isinstance(exc, (BadInput, PermissionDenied))
        extra = {"event_id": event_id, "channel": channel, "error": type(exc).__name__}
        if expected:
            log.info("slack request refused: %s", exc, extra=extra)
        else:
            log.error("slack request failed", exc_info=exc, extra=extra)
        reason = explain(exc) + ("" if expected else f" (reference {event_id})")
        if channel is None:
            return
        try:
            if ts is not None:
                client.chat_update(channel=channel, ts=ts, text=reason, blocks=bk.failure_blocks(reason))
            elif user is not None:
                client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=reason)
            else:
                client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=reason)
        except SlackApiError as second:
            log.error("could not tell the user about a failure", extra={**extra, "slack_error": str(second)})

    # -- cases ----------------------------------------------------------------------------------------

    def announce_case(self, client: WebClient, ref: str) -> None:
        """Post the case card to the compliance channel, once per case however many processes try."""
        channel = self.settings.slack_compliance_channel
        if not channel:
            log.warning("no compliance channel configured; case not posted", extra={"case_ref": ref})
            return
        problem = self.directory.compliance_channel_problem(client)
        if problem:
            # The case is in the queue (web, CLI); its facts must not go where outsiders can read them.
            log.error(
                "compliance channel refused: %s; case card not posted",
                problem,
                extra={"case_ref": ref, "channel": channel},
            )
            return
        if not self.service.first_time(f"slack-card:{ref}"):
            return
        case = self.service.case_for(ref, COMPLIANCE_POSTER)[0]
        client.chat_postMessage(
            channel=channel, text=f"New case {ref}: {bk.fallback_text(case.summary)}", blocks=bk.case_card(case)
        )
        log.info("case posted to compliance", extra={"case_ref": ref})

    def notify_requester(self, client: WebClient, case: Case, text: str) -> None:
        """Tell the requester in the thread the case came from (if it came from Slack)."""
        where = parse_thread_channel(case.requester.channel)
        if case.requester.channel == direct_channel(case.requester.user_id):
            where = (case.requester.user_id, "")  # posting to a user id lands in the app's DM with them
        if where is None:
            return
        channel, thread_ts = where
        try:
            client.chat_postMessage(
                channel=channel, thread_ts=thread_ts or None, text=f"<@{case.requester.user_id}> {text}"[:3000]
            )
        except SlackApiError as exc:
            log.warning("could not notify the requester", extra={"case_ref": case.ref, "error": str(exc)})


def case_note(actor: str, action: str, comment: str | None) -> str:
    """The line added under a case card after a decision or assignment."""
    said = f": “{bk.escape(bk.clip(comment, 500))}”" if comment else ""
    return f"{action} by <@{actor}>{said}"


def body_user(body: dict[str, Any]) -> str:
    """The acting user id of an interaction payload."""
    return str((body.get("user") or {}).get("id") or body.get("user_id") or "")
