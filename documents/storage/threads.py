"""Database work on threads of its own, each with a connection it keeps.

Off the ORM's one shared worker thread, where everything queued behind
everything else: the writer's commits (one thread, so they stay in order) and
a socket's reads on its way in (a few threads, side by side). A thread left
idle gives its connection back; one whose call failed (a database restart)
opens a new connection for the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import psycopg
from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

# What a lost or refused connection raises (Django wraps psycopg's, but not on
# every path): a read that meets one runs again, the writer retries its commit;
# anything else is about the call itself and is not repeated.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

# How long close_connections waits for the threads; a thread stuck in a query
# must not hang a shutdown or a test run.
CLOSE_TIMEOUT_SECONDS = 30

P = ParamSpec("P")
R = TypeVar("R")

_Job = Callable[[], None]


class DatabaseThreads:
    """A fixed number of threads, each with its own database connection.

    `reads`: the calls only read, so one that meets a broken connection (a
    database restart) runs once more, on a new one; before each call a
    connection past CONN_MAX_AGE, or one that failed, is replaced. Django's
    health check (a round trip before every call) would cost a socket's way
    in one round trip in four. Without `reads` (the writer, which retries
    commits itself) a broken connection costs the call that finds it.
    """

    def __init__(self, threads: int, idle_seconds: float, *, reads: bool) -> None:
        self._size = threads
        self._idle_seconds = idle_seconds
        self._reads = reads
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
                try:
                    result = func(*args, **kwargs)
                except UNREACHABLE:
                    if not self._reads:
                        raise
                    # The connection it found was broken: a read can be repeated.
                    _close_connection()
                    result = func(*args, **kwargs)
            except BaseException as exc:
                # A broken connection fails again on its next use.
                _close_connection()
                _deliver(loop, _fail, future, exc)
            else:
                _deliver(loop, _resolve, future, result)

        self._jobs.put(job)
        return await future

    def close_connections(self) -> None:
        """Have every thread give its connection back now (tests, shutdown); blocks."""
        with self._lock:
            count = len(self._threads)
        if not count:
            return
        # One job per thread: each waits at the barrier until all have taken one.
        barrier = threading.Barrier(count + 1, timeout=CLOSE_TIMEOUT_SECONDS)

        def close() -> None:
            _close_connection()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

        for _ in range(count):
            self._jobs.put(close)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            log.warning("database threads did not all close their connections in time")

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
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._idle_seconds)
                except queue.Empty:
                    _close_connection()
                    continue
                if job is None:
                    return
                if self._reads:
                    _retire_old_connection()
                job()
        finally:
            _close_connection()
            # A thread that ended, however, is no longer counted (close_connections
            # waits for as many threads as are listed).
            with self._lock:
                if threading.current_thread() in self._threads:
                    self._threads.remove(threading.current_thread())


def _retire_old_connection() -> None:
    """Close a connection past its age or left failed, without a health-check round trip."""
    try:
        connection.close_if_unusable_or_obsolete()
    except Exception:
        # The database is unreachable: the job's own query says so.
        _close_connection()
    # Django would check the connection with a round trip at the next cursor.
    connection.health_check_done = True  # type: ignore[attr-defined]


def _close_connection() -> None:
    try:
        connection.close()
    except Exception:
        log.warning("closing a database connection failed", exc_info=True)


def _deliver(
    loop: asyncio.AbstractEventLoop,
    callback: Callable[[asyncio.Future[Any], Any], None],
    future: asyncio.Future[Any],
    value: Any,
) -> None:
    # The loop is closed when its caller is gone (a shutdown, a test's end):
    # nobody is waiting, and the thread must live on for the next call.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(callback, future, value)


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
