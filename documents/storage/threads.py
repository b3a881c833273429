"""Database work on threads of its own, each with a connection it keeps.

Off the ORM's one shared worker thread, where everything queued behind
everything else: the writer's commits (one thread, so they stay in order) and
a socket's reads on its way in (a few threads, side by side). A thread left
idle gives its connection back; one whose call failed (a database restart)
opens a new connection for the next.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.db import close_old_connections, connection

P = ParamSpec("P")
R = TypeVar("R")

_Job = Callable[[], None]


class DatabaseThreads:
    """A fixed number of threads, each with its own database connection.

    `health_checks`: before each call, let Django replace a connection past
    CONN_MAX_AGE or left unusable (a round trip with conn_health_checks on);
    without, a broken connection costs the call that finds it.
    """

    def __init__(self, threads: int, idle_seconds: float, *, health_checks: bool) -> None:
        self._size = threads
        self._idle_seconds = idle_seconds
        self._health_checks = health_checks
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a sync database call on one of the threads and wait for its result."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()

        def job() -> None:
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                # A broken connection fails again on its next use.
                connection.close()
                loop.call_soon_threadsafe(_fail, future, exc)
            else:
                loop.call_soon_threadsafe(_resolve, future, result)

        self._jobs.put(job)
        return await future

    def close_connections(self) -> None:
        """Have every thread give its connection back now (tests, shutdown); blocks."""
        with self._lock:
            count = len(self._threads)
        if not count:
            return
        # One job per thread: each waits at the barrier until all have taken one.
        barrier = threading.Barrier(count + 1)

        def close() -> None:
            connection.close()
            barrier.wait()

        for _ in range(count):
            self._jobs.put(close)
        barrier.wait()

    def stop(self) -> None:
        """End the threads, their connections given back (shutdown, tests); `run` starts anew."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._jobs.put(None)
        for thread in threads:
            thread.join(timeout=10)

    def _start(self) -> None:
        if len(self._threads) >= self._size:
            return
        with self._lock:
            while len(self._threads) < self._size:
                thread = threading.Thread(target=self._work, daemon=True)
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                connection.close()
                continue
            if job is None:
                connection.close()
                return
            if self._health_checks:
                close_old_connections()
            job()


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
