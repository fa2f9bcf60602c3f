"""A stand-in for an OpenAI-compatible chat server: a real HTTP server on 127.0.0.1, for tests.

It serves POST /v1/chat/completions, plain JSON or streamed as server-sent events ("data: {...}" chunks,
then "data: [DONE]"), with completions scripted per test: `reply` is a function from the request body to a
`Scripted` answer (content, status, delay). Every request is recorded with its headers and body, so tests
can check what the assistant sent.

    with LLMStandIn() as llm:
        llm.reply = lambda body: Scripted("Ask the reseller again [1].")
        settings = Settings(llm="openai:gpt-4o-mini", llm_base_url=llm.url, llm_api_key="test-key")
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from .loopback import LoopbackServer

_MAX_DELAY_S = 30.0


@dataclass(frozen=True)
class Scripted:
    """One scripted completion: its text, or an HTTP error status, after an optional delay."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    chunk_chars: int = 12


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received."""

    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    def message(self, role: str) -> str:
        """The content of the first message with this role ("" if none)."""
        return next((str(m.get("content", "")) for m in self.messages if m.get("role") == role), "")


class LLMStandIn(LoopbackServer):
    """A threaded loopback server imitating the OpenAI chat-completions endpoint."""

    name = "llm-standin"

    def __init__(self) -> None:
        super().__init__()
        self.reply: Callable[[dict[str, Any]], Scripted] = lambda body: Scripted("")
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """Base URL for an OpenAI client, e.g. http://127.0.0.1:40123/v1."""
        return self.base_url + "/v1"

    def _before_stop(self) -> None:
        self._stopping.set()  # cut delayed answers short

    def script(self, scripted: Scripted | Callable[[dict[str, Any]], Scripted]) -> None:
        """Answer every following request with this completion (or with what the function returns)."""
        self.reply = scripted if callable(scripted) else (lambda body: scripted)
        with self._lock:
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = None
                standin._record(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if self.path.rstrip("/") != "/v1/chat/completions" or not isinstance(body, dict):
                    self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
                    return
                scripted = standin.reply(body)
                if scripted.delay_s:
                    standin._stopping.wait(min(scripted.delay_s, _MAX_DELAY_S))
                try:
                    if scripted.status != 200:
                        self._json(scripted.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                    elif body.get("stream"):
                        self._stream(body, scripted)
                    else:
                        self._json(200, _completion(body, scripted.content))
                except OSError:
                    pass  # the client gave up (timeout test)

            def _json(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], scripted: Scripted) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                text = scripted.content
                pieces = [text[i : i + scripted.chunk_chars] for i in range(0, len(text), scripted.chunk_chars)]
                events = [_chunk(body, {"role": "assistant", "content": ""}, None)]
                events += [_chunk(body, {"content": piece}, None) for piece in pieces]
                events.append(_chunk(body, {}, "stop"))
                if (body.get("stream_options") or {}).get("include_usage"):
                    events.append({**_chunk(body, {}, None), "choices": [], "usage": _usage(text)})
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(0.002)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler


def _usage(text: str) -> dict[str, int]:
    tokens = max(1, len(text.split()))
    return {"prompt_tokens": 100, "completion_tokens": tokens, "total_tokens": 100 + tokens}


def _completion(body: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "standin"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(content),
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "standin"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
