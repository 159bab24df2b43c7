"""Rate limits for public endpoints (no sign-in): a sliding window per client address.

Counts live in the serving process. That bounds what one process serves to one address, which is
what protects the database; with several processes the effective limit is that many times higher.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import Request

from zhishui.kit.errors import TooManyRequests


class SlidingWindow:
    def __init__(self, limit: int, window_seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self._now = now
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request; None if allowed, else the seconds until the next one would be."""
        now = self._now()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle addresses so memory stays bounded
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.window}
            return None


def per_address(name: str, *, limit: int, window_seconds: float) -> Callable[[Request], None]:
    """A route dependency allowing `limit` requests per `window_seconds` from one address."""

    def dependency(request: Request) -> None:
        limiters: dict[str, SlidingWindow] = request.app.state.rate_limiters
        limiter = limiters.get(name)
        if limiter is None:
            limiter = limiters.setdefault(name, SlidingWindow(limit, window_seconds))
        address = request.client.host if request.client else "unknown"
        wait = limiter.hit(address)
        if wait is not None:
            seconds = max(1, int(wait + 0.999))
            raise TooManyRequests(f"请求过于频繁，请 {seconds} 秒后再试", retry_after=seconds)

    return dependency
