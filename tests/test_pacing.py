"""Issue, "one home for each transition", tests: the client's retry schedule and rate limiter, on a clock the
test moves (nothing here waits for real)."""

from collections.abc import Callable

import pytest

from skillibrium.merge_client import pacing
from skillibrium.merge_client.errors import Misconfigured, RateLimited, Transient


class Clock:
    """Stands in for `time` in the pacing module: sleeping moves the clock and is written down."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(pacing, "time", fake)
    monkeypatch.setattr("tenacity.nap.time", fake)  # tenacity sleeps between attempts through this
    return fake


def failing(*errors: Exception) -> tuple[list[int], Callable[[], str]]:
    """A call that raises `errors` in turn, then answers "done"; it counts its attempts."""
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, call


def test_transient_failures_are_retried_with_doubling_waits(clock: Clock) -> None:
    calls, call = failing(Transient("502"), Transient("502"), Transient("timeout"))

    assert pacing.with_retries(call, attempts=4) == "done"

    assert len(calls) == 4 and clock.slept == [1.0, 2.0, 4.0]


def test_waits_between_attempts_stop_growing_at_thirty_seconds(clock: Clock) -> None:
    _, call = failing(*[Transient("503")] * 7)

    assert pacing.with_retries(call, attempts=8) == "done"

    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


@pytest.mark.parametrize(("retry_after", "waited"), [(7.0, 7.0), (0.0, 0.5), (600.0, 60.0)])
def test_a_429_waits_as_long_as_merge_asks_within_bounds(
    clock: Clock, retry_after: float, waited: float
) -> None:
    _, call = failing(RateLimited("429", retry_after=retry_after))

    assert pacing.with_retries(call, attempts=2) == "done"

    assert clock.slept == [waited]


def test_the_last_attempts_error_is_raised_as_it_is(clock: Clock) -> None:
    calls, call = failing(Transient("one"), Transient("two"), Transient("three"))

    with pytest.raises(Transient, match="three"):
        pacing.with_retries(call, attempts=3)

    assert len(calls) == 3 and clock.slept == [1.0, 2.0]


def test_errors_that_retrying_cannot_fix_are_raised_at_once(clock: Clock) -> None:
    calls, call = failing(Misconfigured("Invalid token."))

    with pytest.raises(Misconfigured):
        pacing.with_retries(call, attempts=4)

    assert len(calls) == 1 and clock.slept == []


def test_the_rate_limiter_allows_a_burst_then_spaces_requests_at_the_plan_limit(clock: Clock) -> None:
    limiter = pacing.RateLimiter(per_minute=60, burst=3)

    for _ in range(5):
        limiter.acquire()

    assert clock.slept == [1.0, 1.0]  # three at once, then one a second


def test_the_rate_limiter_refills_while_nobody_asks(clock: Clock) -> None:
    limiter = pacing.RateLimiter(per_minute=120, burst=2)
    limiter.acquire()
    limiter.acquire()
    clock.now += 10

    limiter.acquire()
    limiter.acquire()

    assert clock.slept == []


def test_after_merge_says_wait_the_limiter_waits_that_long_first(clock: Clock) -> None:
    limiter = pacing.RateLimiter(per_minute=60, burst=5)

    limiter.pause(12)
    limiter.acquire()

    assert clock.slept == [13.0]  # the pause, then the one token it needs


def test_no_limit_never_waits(clock: Clock) -> None:
    limiter = pacing.RateLimiter(per_minute=0)
    limiter.pause(30)
    for _ in range(100):
        limiter.acquire()

    assert clock.slept == []
