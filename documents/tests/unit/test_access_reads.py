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


@pytest.mark.django_db
@pytest.mark.usefixtures("integration")
async def test_a_connection_is_never_closed_under_a_statement_in_flight():
    """Many tasks share one connection, given back as soon as each use ends (idle 0 s): the
    idle close waits for the statement in flight, so none finds its connection closed."""
    from documents.storage.loop_connection import LoopConnection

    shared = LoopConnection(idle_seconds=0)
    pids: set[int] = set()

    async def use(i: int) -> int:
        await asyncio.sleep(0.0005 * (i % 7))  # arrivals spread over several turns
        async with shared.using() as conn, conn.cursor() as cursor:
            await cursor.execute("SELECT %s::int, pg_backend_pid() FROM pg_sleep(0.001)", [i])
            value, pid = await cursor.fetchone()
            pids.add(pid)
            return value

    try:
        for wave in range(5):
            # The idle closes queue behind the uses in flight; between waves they run.
            numbers = range(wave * 40, (wave + 1) * 40)
            assert await asyncio.gather(*(use(i) for i in numbers)) == list(numbers)
            await asyncio.sleep(0.05)
    finally:
        await shared.close()
    assert len(pids) >= 5  # given back and opened again each time
