"""The reader threads: a socket's reads on its way in run side by side, not in one line."""

from __future__ import annotations

import asyncio
import threading

import pytest

from documents.storage.readers import ReaderPool


async def test_reads_run_side_by_side():
    pool = ReaderPool(threads=3)
    # Each read waits for the other two: on one thread, they would never meet.
    meeting = threading.Barrier(3, timeout=5)
    names = await asyncio.gather(
        *(pool.run(lambda: (meeting.wait(), threading.current_thread().name)[1]) for _ in range(3))
    )
    assert len(set(names)) == 3
    pool.close_connections()


async def test_a_failed_read_raises_in_the_caller_and_the_pool_goes_on():
    pool = ReaderPool(threads=1)

    def broken() -> None:
        raise ValueError("no such row")

    with pytest.raises(ValueError, match="no such row"):
        await pool.run(broken)
    assert await pool.run(lambda x: x * 2, 21) == 42
    pool.close_connections()
