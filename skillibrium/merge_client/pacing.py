"""Stay under Merge's per-linked-account rate limit, and retry what is worth retrying."""

import threading
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from .errors import RateLimited, Transient


def wait_out(seconds: float) -> None:
    """Every wait the client makes for Merge's sake, in one place (tests move the sandbox clock instead)."""
    time.sleep(seconds)


class RateLimiter:
    """A token bucket at the plan's limit, so that a sync never provokes a storm of 429s."""

    def __init__(self, per_minute: int, burst: int = 5) -> None:
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) / self.interval)
            self.updated = now
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) * self.interval
            self.tokens -= 1
        if wait:
            wait_out(wait)

    def pause(self, seconds: float) -> None:
        """Merge said to wait: take every token away until then."""
        with self._lock:
            self.tokens = -seconds / self.interval if self.interval else 0.0
            self.updated = time.monotonic()


def _wait(state: RetryCallState) -> float:
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, RateLimited):
        return min(max(error.retry_after, 0.5), 60.0)
    return min(2.0 ** (state.attempt_number - 1), 30.0)


def with_retries[T](call: Callable[[], T], *, attempts: int) -> T:
    """Transient failures and 429s are retried with backoff (honouring Retry-After); others are not."""
    retrying = Retrying(
        retry=retry_if_exception_type((Transient, RateLimited)),
        stop=stop_after_attempt(attempts),
        wait=_wait,
        sleep=lambda seconds: wait_out(seconds),
        reraise=True,
    )
    return retrying(call)
