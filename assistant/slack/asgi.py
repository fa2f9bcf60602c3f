"""HTTP mode: a small ASGI app that hands Slack's POSTs to the bolt app.

It serves one path standalone (`/slack/events`) or any path when mounted (the web server mounts it
at /slack/events). Requests are dispatched on a worker thread, because bolt's `App` is synchronous and
its signature check, de-duplication and acknowledgements must not stall the event loop. Bolt checks
every request's signature and refuses timestamps more than five minutes away from now (401).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from ..config import Settings
from ..errors import ConfigError
from ..service import AssistantService
from .app import create_slack_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = 1_000_000  # Slack's payloads are far smaller; anything bigger is not from Slack.


class SlackEventsASGI:
    """An ASGI application that answers Slack's Events API, interactivity and slash command requests."""

    def __init__(self, bolt: App, *, path: str | None = None, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        """Dispatch to `bolt`; only `path` is served when given (standalone), any path when mounted."""
        self.bolt = bolt
        self.path = path
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.path is not None and scope.get("path") != self.path:
            await self._reply(send, 404, b"not found")
            return
        if scope.get("method") != "POST":
            await self._reply(send, 405, b"method not allowed", [(b"allow", b"POST")])
            return
        body = await self._body(receive)
        if body is None:
            await self._reply(send, 413, b"request too large")
            return
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            await self._reply(send, 400, b"body is not UTF-8")
            return
        values: dict[str, list[str]] = {}
        for name, value in scope.get("headers") or []:
            values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        headers: dict[str, str | Sequence[str]] = dict(values)
        request = BoltRequest(body=text, query=(scope.get("query_string") or b"").decode("latin-1"), headers=headers)
        response = await asyncio.to_thread(self.bolt.dispatch, request)
        raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, values in response.headers.items()
            for value in values
        ]
        await self._reply(send, response.status, (response.body or "").encode("utf-8"), raw_headers)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        all_headers = [h for h in headers or [] if h[0].lower() != b"content-length"]
        if not any(name.lower() == b"content-type" for name, _ in all_headers):
            all_headers.append((b"content-type", b"text/plain; charset=utf-8"))
        all_headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": all_headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_slack_asgi(
    service: AssistantService, settings: Settings, *, client: WebClient | None = None, path: str | None = None
) -> SlackEventsASGI:
    """The Slack app as an ASGI application, for the web server to mount at /slack/events.

    HTTP mode never runs without a signing secret: every request must prove it comes from Slack.
    """
    if not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set; HTTP mode verifies every request with it")
    return SlackEventsASGI(create_slack_app(service, settings, client=client), path=path)
