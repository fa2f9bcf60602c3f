"""Limits that keep one caller from hurting the others: requests per key, body size, question length.

The rate limiter lives in memory, per app instance: with several worker processes each enforces the
limit on its own share, which is the usual trade for not needing a shared store.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import MAX_QUESTION_CHARS
from ..errors import RateLimited
from .problems import problem

#: The longest question or deal description the web door accepts (the service enforces the same).
MAX_TEXT_CHARS = MAX_QUESTION_CHARS
#: Short free-text fields (deal fields, feedback reason, decision comment).
MAX_FIELD_CHARS = 2000


class RateLimiter:
    """A sliding-window limit of `per_minute` requests per key, thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.window = 60.0
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def hit(self, key: str) -> None:
        """Count one request for `key`, or raise RateLimited when the window is full (nothing counted)."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        with self._lock:
            self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.per_minute:
                raise RateLimited(self._retry_after(now, hits))
            hits.append(now)

    def check(self, key: str) -> None:
        """Raise RateLimited when `key`'s window is full, without counting a request."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key)
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if hits and len(hits) >= self.per_minute:
                raise RateLimited(self._retry_after(now, hits))

    def _retry_after(self, now: float, hits: deque[float]) -> int:
        # Whole seconds until the oldest hit leaves the window.
        return max(1, int(self.window - (now - hits[0]) + 0.999))

    def _sweep(self, now: float) -> None:
        # Forget idle keys now and then, so memory follows active callers, not every caller ever seen.
        if now - self._last_sweep < self.window:
            return
        self._last_sweep = now
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]:
            del self._hits[key]


class BodyTooLarge(HTTPException):
    """Raised while reading a streamed body that grows past the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit} bytes")


class BodySizeLimit:
    """ASGI middleware refusing request bodies over `max_bytes` with 413 problem+json.

    Kept rather than FastAPI's own `max_body_size` (0.165): measured, that answers 413 as text/plain from
    inside the routing layer, past the app's error handlers, so API callers would lose the problem+json
    contract.

    A declared Content-Length over the limit is refused before anything is read; a body without one
    (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = problem(
                413,
                f"the request body is {declared} bytes; the limit is {self.max_bytes}",
                instance=scope.get("path", ""),
            )
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
