"""Per-customer message rate limit: a sliding window of the last minute, in memory.

In memory is enough: the limit protects the model from one customer's flood, and a restart
that forgets the window forgives at most one minute's worth of messages.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

WINDOW_S = 60.0


class Verdict(Enum):
    """What to do with one incoming message."""

    ALLOW = "allow"
    NOTE = "note"
    """Over the limit: drop it, and tell the customer once per window."""
    DROP = "drop"
    """Over the limit and already told: drop it silently, so a flood gets no flood back."""


class RateLimiter:
    """At most ``per_minute`` messages per key in any 60-second window."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[int, deque[float]] = {}
        self._noted_at: dict[int, float] = {}

    def check(self, key: int) -> Verdict:
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= WINDOW_S:
            hits.popleft()
        if len(hits) < self.per_minute:
            hits.append(now)
            self._noted_at.pop(key, None)
            return Verdict.ALLOW
        noted = self._noted_at.get(key)
        if noted is not None and now - noted < WINDOW_S:
            return Verdict.DROP
        self._noted_at[key] = now
        return Verdict.NOTE

    def forget_idle(self) -> None:
        """Drop the windows of keys with no message in the last minute (bounded memory)."""
        now = self._clock()
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= WINDOW_S]:
            del self._hits[key]
            self._noted_at.pop(key, None)
