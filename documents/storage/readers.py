"""The reads on a socket's way in (its session, its user, its role), on threads of their own.

Every socket that connects reads its session, its user and its role before it
is accepted. On the ORM's one shared worker thread those reads ran one after
another: 100 editors opening a document at once waited in line for 200 calls,
each a few round trips. Here a few threads with a connection each run them side
by side. A thread left idle gives its connection back, and one whose
connection failed (a database restart) opens a new one for the next read.
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

THREADS = 4
IDLE_SECONDS = 10.0

_Job = Callable[[], None]


class ReaderPool:
    """A fixed set of threads, each with its own database connection."""

    def __init__(self, threads: int = THREADS, idle_seconds: float = IDLE_SECONDS) -> None:
        self._size = threads
        self._idle_seconds = idle_seconds
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    async def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a sync read on one of the pool's threads and wait for its result."""
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

    def _start(self) -> None:
        if len(self._threads) >= self._size:
            return
        with self._lock:
            while len(self._threads) < self._size:
                thread = threading.Thread(
                    target=self._work, name=f"db-reads-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self._idle_seconds)
            except queue.Empty:
                connection.close()
                continue
            # Past CONN_MAX_AGE, or left unusable by an error: reconnect first.
            close_old_connections()
            job()


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


pool = ReaderPool()


async def read(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a sync read on the process's reader threads."""
    return await pool.run(func, *args, **kwargs)
