"""Fixed-window attempt counters on Django's cache: logins, sign-ups, named versions.

A counter is one cache key per (scope, subject, window), so it needs no cleanup:
it expires with its window. With REDIS_URL the cache is Redis and the limits
hold across server processes; without it each process counts on its own. A
fixed window lets a burst straddle two windows (up to twice the limit in a
short time) in exchange for one atomic INCR per attempt.

Attempts are counted before they are tried, so parallel requests cannot slip
past a limit between a check and a record; an attempt that turns out fine is
given back with `release`.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponseBase

from documents import conf

# Replaced in tests to move time on without sleeping.
clock: Callable[[], float] = time.time
# Replaced in tests to keep each test's counters apart in a shared cache.
NAMESPACE = "throttle:"
# Set on a request whose attempt was refused for a limit; see `refused_with_429`.
REFUSED_ATTR = "_collab_throttled"


@dataclass(frozen=True, slots=True)
class Counter:
    """One attempt counted against one limit."""

    key: str
    count: int
    limit: int
    retry_after: int  # seconds until the window ends

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit


def _key(scope: str, subject: str, window: int, now: float) -> str:
    # Hashed: usernames may hold characters some cache backends refuse in keys.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"{NAMESPACE}{scope}:{digest}:{int(now // window)}"


def hit(*, scope: str, subject: str, limit: int, window: int) -> Counter:
    """Count one attempt by `subject` against `limit` per `window` seconds."""
    now = clock()
    key = _key(scope, subject, window, now)
    retry_after = max(1, math.ceil(window - now % window))
    # A little past the window's end, so a key never outlives its window by much
    # nor expires while it is still being counted.
    timeout = retry_after + 5
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        count = 1
    return Counter(key=key, count=int(count), limit=limit, retry_after=retry_after)


def release(counter: Counter) -> None:
    """Give back an attempt counted by `hit` that should not count after all."""
    with contextlib.suppress(ValueError):  # the window has ended meanwhile
        cache.decr(counter.key)


def wait_message(seconds: int) -> str:
    """How long to wait, in words."""
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "a minute"
    return f"{minutes} minutes"


def client_address(request: HttpRequest) -> str:
    """The client's IP address: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies.

    With THROTTLE_PROXY_HOPS = N (N reverse proxies in front, each appending the
    address it saw), the client is the N-th entry from the right; anything to
    its left was written by the client and cannot be trusted.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    hops = int(conf.get("THROTTLE_PROXY_HOPS"))
    if hops <= 0:
        return remote
    forwarded = [
        part.strip() for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
    ]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < hops:
        return remote
    return forwarded[-hops]


def mark_refused(request: HttpRequest) -> None:
    """Note that this request was refused for a limit, to be answered with 429."""
    setattr(request, REFUSED_ATTR, True)


def refused_with_429(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Answer 429 instead of 200 when the view's form refused the request for a limit."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if getattr(request, REFUSED_ATTR, False) and response.status_code == 200:
            response.status_code = 429
        return response

    return wrapper
