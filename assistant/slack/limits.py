"""A per-user budget for the Slack door: how many costly requests (questions, screenings, escalations) one
Slack user may send in a minute.

It lives in memory, per app process, like the web door's limiter: with several processes each enforces the
limit on its own share. It is a guard against scripted floods (LLM cost, case and card spam), not billing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_SECONDS = 60.0


class RateLimiter:
    """A sliding window of `per_minute` requests per key, thread-safe; `per_minute` <= 0 turns it off."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def hit(self, key: str) -> int | None:
        """Count one request for `key`: None when allowed, else whole seconds to wait (nothing counted)."""
        if self.per_minute <= 0:
            return None
        now = self._clock()
        with self._lock:
            self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return max(1, int(WINDOW_SECONDS - (now - hits[0]) + 0.999))
            hits.append(now)
            return None

    def _sweep(self, now: float) -> None:
        # Forget idle users now and then, so memory follows active users, not everyone ever seen.
        if now - self._last_sweep < WINDOW_SECONDS:
            return
        self._last_sweep = now
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= WINDOW_SECONDS]:
            del self._hits[key]
