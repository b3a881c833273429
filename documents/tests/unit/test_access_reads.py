"""`access_reads.Batcher`: calls of one turn of the loop answered by one fetch, and what
arrives while a fetch is in flight answered by the next."""

from __future__ import annotations

import asyncio

import pytest

from documents.storage.access_reads import Batcher


async def test_calls_of_one_turn_share_a_fetch_and_later_ones_wait_for_the_next():
    fetched: list[list[int]] = []
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> list[int]:
        fetched.append(keys)
        await release.wait()
        return [k * 10 for k in keys]

    batcher: Batcher[int, int] = Batcher(fetch)
    first = [asyncio.ensure_future(batcher.get(k)) for k in (1, 2, 3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.get(k)) for k in (4, 5)]
    await asyncio.sleep(0)
    assert fetched == [[1, 2, 3]]  # the second batch waits for the first
    release.set()
    assert await asyncio.gather(*first, *later) == [10, 20, 30, 40, 50]
    assert fetched == [[1, 2, 3], [4, 5]]


async def test_a_failed_fetch_fails_its_batch_only():
    calls = 0

    async def fetch(keys: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("database away")
        return [k.upper() for k in keys]

    batcher: Batcher[str, str] = Batcher(fetch)
    failed = await asyncio.gather(batcher.get("a"), batcher.get("b"), return_exceptions=True)
    assert all(isinstance(f, OSError) for f in failed)
    assert await batcher.get("c") == "C"


async def test_a_caller_that_gives_up_does_not_hold_the_others():
    release = asyncio.Event()

    async def fetch(keys: list[int]) -> list[int]:
        await release.wait()
        return keys

    batcher: Batcher[int, int] = Batcher(fetch)
    gone = asyncio.ensure_future(batcher.get(1))
    kept = asyncio.ensure_future(batcher.get(2))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert await kept == 2
    with pytest.raises(asyncio.CancelledError):
        await gone
