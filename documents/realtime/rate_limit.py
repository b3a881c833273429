"""Per-connection rate limits (pure): a token bucket that allows bursts."""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`rate` actions a second sustained, bursts of twice that; starts full."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._allowance = 2.0 * rate
        self._refilled = clock()

    def take(self) -> bool:
        """Spend one token; False when none is left."""
        now = self._clock()
        self._allowance = min(2.0 * self.rate, self._allowance + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True
