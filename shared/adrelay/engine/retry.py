"""When a refused call is tried again, and after how long.

Only rate limits, transient failures and auth-after-refresh are retried. Backoff is exponential with
full jitter, bounded; a rate limit waits what the platform says. Short waits happen in place before
the next call; long ones become a durable timer (the run is parked and its runner freed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from adrelay.events.payloads import ErrorCategory
from adrelay.platforms.errors import PlatformCallError

INLINE_WAIT_MAX_S = 1.0


@dataclass(frozen=True)
class RetryPolicy:
    transient_attempts: int = 6
    rate_limit_attempts: int = 40
    lookup_attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0

    def should_retry(self, error: PlatformCallError, attempts: int) -> bool:
        if error.category is ErrorCategory.RATE_LIMIT:
            return attempts < self.rate_limit_attempts
        if error.retryable:
            return attempts < self.transient_attempts
        return False

    def delay(self, error: PlatformCallError | None, attempts: int) -> float:
        if error is not None and error.retry_after_s is not None:
            return max(float(error.retry_after_s), 0.05)
        return self.backoff(attempts)

    def backoff(self, attempts: int) -> float:
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** max(attempts - 1, 0)))
        return random.uniform(ceiling / 2, ceiling)
