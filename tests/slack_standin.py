"""A stand-in for Slack's Web API: a real HTTP server on 127.0.0.1, for tests.

Point SLACK_API_URL at `standin.api_url`. It records every call (method, parsed JSON or form body,
query), answers `ok` with plausible payloads, and can be told to answer 429 with Retry-After. Paths
under /response/ play slash commands' response URLs.

    with SlackStandIn(compliance_members=["UCOMP"]) as slack:
        ...  # send signed requests to the app
        update = slack.wait_for("chat.update", lambda call: "Sources" in call.text)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .loopback import LoopbackServer

TEAM_ID = "T0HOME"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"


@dataclass(frozen=True)
class ApiCall:
    """One request the stand-in received, and the status it answered with."""

    method: str
    body: dict[str, Any]
    status: int
    answer: dict[str, Any]

    @property
    def text(self) -> str:
        """Everything a person would read in the call: its text, blocks and view, as one string."""
        parts = [str(self.body.get(k, "")) for k in ("text", "blocks", "view", "attachments")]
        return "\n".join(parts)

    def json_field(self, name: str) -> Any:
        """A field that may arrive as JSON text (form bodies) or as structure (JSON bodies)."""
        value = self.body.get(name)
        return json.loads(value) if isinstance(value, str) else value


class SlackStandIn(LoopbackServer):
    """A threaded loopback HTTP server that imitates the parts of Slack's Web API the app uses."""

    def __init__(
        self,
        *,
        compliance_members: Iterable[str] = (),
        shared_channels: Iterable[str] = (),
        external_users: dict[str, str] | None = None,
        private_channels: Iterable[str] = ("CCOMP",),
        usergroups: dict[str, list[str]] | None = None,
        profiles: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """`shared_channels` are Slack Connect channels; `external_users` maps user ids to another team.

        `private_channels` are private (by default the tests' compliance channel, CCOMP); `usergroups` maps
        user group ids to their members; `profiles` adds fields to (or, with None, removes them from) what
        users.info says about a user, e.g. {"UGUEST": {"is_restricted": True}} or {"UX": {"team_id": None}}.
        """
        super().__init__()
        self.compliance_members = list(compliance_members)
        self.shared_channels = set(shared_channels)
        self.external_users = dict(external_users or {})
        self.private_channels = set(private_channels)
        self.usergroups = {k: list(v) for k, v in (usergroups or {}).items()}
        self.profiles = {k: dict(v) for k, v in (profiles or {}).items()}
        self.calls: list[ApiCall] = []
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._rate_limits: dict[str, tuple[int, int]] = {}
        self._refusals: dict[str, tuple[int, str]] = {}
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # -- life cycle ---------------------------------------------------------------------------------------

    name = "slack-standin"

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL (with its trailing slash, like https://slack.com/api/)."""
        return self.base_url + "/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A slash command response URL served by the stand-in."""
        return f"{self.base_url}/response/{name}"

    # -- behaviour ------------------------------------------------------------------------------------------

    def rate_limit(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and Retry-After."""
        with self._lock:
            self._rate_limits[method] = (times, retry_after)

    def refuse(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with ok=false and this error (e.g. not_in_channel)."""
        with self._lock:
            self._refusals[method] = (times, error)

    def set_replies(self, channel: str, thread_ts: str, messages: list[dict[str, Any]]) -> None:
        """What conversations.replies returns for a thread (its first message is the root)."""
        with self._lock:
            self.replies[(channel, thread_ts)] = messages

    # -- inspection -----------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def mark(self) -> int:
        """The number of calls so far; pass it to wait_for(since=...) to look only at newer ones."""
        with self._lock:
            return len(self.calls)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        since: int = 0,
        timeout: float = 30.0,
        status: int = 200,
    ) -> ApiCall:
        """The first call of `method` (after `since`) that matches; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for call in self.calls[since:]:
                    if call.method == method and call.status == status and (predicate is None or predicate(call)):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [f"{c.method}:{c.status}" for c in self.calls[since:]]
                    raise AssertionError(f"no matching {method} call within {timeout}s; saw {seen}")
                self._changed.wait(left)

    # -- answers ---------------------------------------------------------------------------------------------

    def _answer(self, method: str, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            times, retry_after = self._rate_limits.get(method, (0, 0))
            if times > 0:
                self._rate_limits[method] = (times - 1, retry_after)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
            times, error = self._refusals.get(method, (0, ""))
            if times > 0:
                self._refusals[method] = (times - 1, error)
                return 200, {"ok": False, "error": error}, {}
        channel = str(body.get("channel") or "")
        if method == "auth.test":
            return 200, {"ok": True, "url": "https://home.slack.test/", "team": "Home", "user": "dd",
                         "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}, {}  # fmt: skip
        if method == "chat.postMessage":
            if channel.startswith("U"):
                channel = "D" + channel[1:]  # posting to a user id opens the app's DM with them
            ts = f"{1_700_000_000 + next(self._ts)}.000100"
            message = {"ts": ts, "text": body.get("text", ""), "user": BOT_USER_ID, "bot_id": BOT_ID}
            return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}
        if method == "chat.update":
            return 200, {"ok": True, "channel": channel, "ts": body.get("ts"), "text": body.get("text", "")}, {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}, {}
        if method in ("views.open", "views.publish", "views.update"):
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else dict(view or {})
            return 200, {"ok": True, "view": {"id": f"V{next(self._ts):06d}", **view}}, {}
        if method == "users.info":
            user = str(body.get("user") or "")
            team = self.external_users.get(user, TEAM_ID)
            profile = {"id": user, "team_id": team, "name": user.lower(), "real_name": f"Person {user}",
                       "is_bot": False, **self.profiles.get(user, {})}  # fmt: skip
            return 200, {"ok": True, "user": {k: v for k, v in profile.items() if v is not None}}, {}
        if method == "conversations.info":
            shared = channel in self.shared_channels
            info = {"id": channel, "name": channel.lower(), "is_channel": True, "is_ext_shared": shared,
                    "is_shared": shared, "is_im": channel.startswith("D"),
                    "is_private": channel in self.private_channels}  # fmt: skip
            return 200, {"ok": True, "channel": info}, {}
        if method == "usergroups.users.list":
            group = str(body.get("usergroup") or "")
            if group not in self.usergroups:
                return 200, {"ok": False, "error": "no_such_subteam"}, {}
            return 200, {"ok": True, "users": self.usergroups[group]}, {}
        if method == "conversations.members":
            return 200, {"ok": True, "members": self.compliance_members, "response_metadata": {"next_cursor": ""}}, {}
        if method == "conversations.replies":
            with self._lock:
                messages = self.replies.get((channel, str(body.get("ts") or "")), [])
            return 200, {"ok": True, "messages": messages, "has_more": False}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _record(self, call: ApiCall) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                url = urlsplit(self.path)
                body: dict[str, Any] = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if raw:
                    if "json" in (self.headers.get("Content-Type") or ""):
                        body.update(json.loads(raw))
                    else:
                        body.update({k: v[0] for k, v in parse_qs(raw.decode("utf-8")).items()})
                if url.path.startswith("/response/"):
                    standin._record(ApiCall("response_url", body, 200, {}))
                    self._send(200, b"ok", "text/plain", {})
                    return
                method = url.path.removeprefix("/api/")
                status, payload, headers = standin._answer(method, body)
                standin._record(ApiCall(method, body, status, payload))
                self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

            def _send(self, status: int, data: bytes, content_type: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
