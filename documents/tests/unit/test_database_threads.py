"""Database threads: calls run side by side on several, and go on after one fails."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import InterfaceError, OperationalError, connection

from documents.storage.threads import DatabaseThreads
from documents.tests.support.backends import require_postgresql, terminate_backend


async def test_reads_run_side_by_side():
    pool = DatabaseThreads(threads=3, idle_seconds=10, reads=False)
    # Each read waits for the other two: on one thread, they would never meet.
    meeting = threading.Barrier(3, timeout=5)
    names = await asyncio.gather(
        *(pool.run(lambda: (meeting.wait(), threading.current_thread().name)[1]) for _ in range(3))
    )
    assert len(set(names)) == 3
    pool.stop()


async def test_a_failed_read_raises_in_the_caller_and_the_pool_goes_on():
    pool = DatabaseThreads(threads=1, idle_seconds=10, reads=False)

    def broken() -> None:
        raise ValueError("no such row")

    with pytest.raises(ValueError, match="no such row"):
        await pool.run(broken)
    assert await pool.run(lambda x: x * 2, 21) == 42
    pool.stop()


def test_a_call_whose_caller_is_gone_leaves_the_thread_working():
    """A test's (or a shutdown's) event loop may close while its read is still
    running; the thread must live on, and close_connections must not wait for a
    thread that died (it hung a test run's teardown)."""
    pool = DatabaseThreads(threads=1, idle_seconds=10, reads=False)
    started, release = threading.Event(), threading.Event()

    def slow() -> int:
        started.set()
        release.wait(5)
        return 1

    loop = asyncio.new_event_loop()
    task = loop.create_task(pool.run(slow))
    loop.run_until_complete(asyncio.sleep(0))
    assert started.wait(5)
    task.cancel()
    loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
    loop.close()
    release.set()

    closed = threading.Thread(target=pool.close_connections)
    closed.start()
    closed.join(10)
    assert not closed.is_alive(), "close_connections waited for a thread that is gone"
    assert asyncio.run(pool.run(lambda: threading.current_thread().is_alive()))
    pool.stop()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
async def test_a_read_that_meets_a_dropped_connection_runs_again_on_a_new_one():
    """A database restart leaves each reader thread a dead connection; the next
    socket's read must not fail for it (there is no health check to find it)."""
    require_postgresql()  # ends a PostgreSQL backend
    pool = DatabaseThreads(threads=1, idle_seconds=10, reads=True)
    try:
        first = await pool.run(_backend_pid)
        await asyncio.to_thread(terminate_backend, first)  # as a restart would
        second = await pool.run(_backend_pid)
        assert second != first
    finally:
        await asyncio.to_thread(pool.stop)


@pytest.mark.django_db(transaction=True)
async def test_without_reads_a_dropped_connection_fails_the_call_that_finds_it():
    """The writer's thread: its commits are not repeated blindly (it retries them itself)."""
    require_postgresql()  # ends a PostgreSQL backend
    pool = DatabaseThreads(threads=1, idle_seconds=10, reads=False)
    try:
        first = await pool.run(_backend_pid)
        await asyncio.to_thread(terminate_backend, first)
        with pytest.raises((OperationalError, InterfaceError)):
            await pool.run(_backend_pid)
        assert await pool.run(_backend_pid) != first  # and the next gets a new one
    finally:
        await asyncio.to_thread(pool.stop)
