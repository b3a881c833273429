"""The token bucket behind the per-connection limits."""

from __future__ import annotations

from documents.realtime.rate_limit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_twice_the_rate_then_the_rate():
    clock = Clock()
    bucket = TokenBucket(10, clock)
    assert all(bucket.take() for _ in range(20))
    assert not bucket.take()
    clock.now += 0.5  # five tokens back
    assert sum(bucket.take() for _ in range(10)) == 5


def test_idle_time_refills_no_further_than_the_burst():
    clock = Clock()
    bucket = TokenBucket(10, clock)
    for _ in range(20):
        bucket.take()
    clock.now += 3600
    assert sum(bucket.take() for _ in range(100)) == 20


def test_a_steady_rate_within_the_limit_is_never_refused():
    clock = Clock()
    bucket = TokenBucket(10, clock)
    for _ in range(10_000):
        clock.now += 0.1
        assert bucket.take()
