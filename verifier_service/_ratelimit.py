"""Rate limits per API key and per client address: token buckets, in memory, per process.

Each bucket holds up to ``burst`` requests and refills at ``rate`` per second; a request that
finds it empty is refused (429 ``rate_limited``) with the seconds to wait. The table is bounded:
past ``max_clients`` buckets the least recently used is dropped (a dropped client starts full).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, max_clients: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._max = rate, float(burst), max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when ``client`` may go ahead (one token taken), else the seconds until it may."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        return wait
