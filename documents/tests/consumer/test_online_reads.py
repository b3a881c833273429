"""Who-is-online reads (documents/presence/online.py) on real Redis: sockets that ask for
the same document at once share one read, and a later ask reads again."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.conf import settings

from documents.presence import online

pytestmark = pytest.mark.usefixtures("integration")


@pytest.fixture
def counted_backend(monkeypatch: pytest.MonkeyPatch):
    backend = online.RedisBackend(str(settings.REDIS_URL))
    reads: list[uuid.UUID] = []
    read = backend._read

    async def counted(document_id: uuid.UUID):
        reads.append(document_id)
        return await read(document_id)

    monkeypatch.setattr(backend, "_read", counted)
    monkeypatch.setattr(online, "backend", lambda: backend)
    return backend, reads


async def test_a_burst_of_connects_reads_each_document_once(counted_backend) -> None:
    backend, reads = counted_backend
    first, second = uuid.uuid4(), uuid.uuid4()
    await online.publish(first, "process-a", [{"id": 1}], 3)
    await online.publish(first, "process-b", [{"id": 2}], 4)
    await online.publish(second, "process-a", [{"id": 1}], 5)
    counts = await asyncio.gather(
        *(online.connections_elsewhere(first, "process-a") for _ in range(100)),
        *(online.connections_elsewhere(second, None) for _ in range(50)),
    )
    assert counts == [4] * 100 + [5] * 50
    assert sorted(reads) == sorted([first, second])
    # Over: the next ask sees what changed since.
    await online.publish(first, "process-b", [{"id": 2}], 9)
    assert await online.connections_elsewhere(first, "process-a") == 9
    assert reads.count(first) == 2
    await backend.remove(first, "process-a")
    await backend.remove(first, "process-b")
    await backend.remove(second, "process-a")


async def test_a_socket_that_gives_up_does_not_cancel_the_read_for_the_rest(
    counted_backend,
) -> None:
    backend, reads = counted_backend
    document = uuid.uuid4()
    await online.publish(document, "elsewhere", [{"id": 1}], 2)
    leaving = asyncio.ensure_future(online.connections_elsewhere(document, None))
    staying = asyncio.ensure_future(online.connections_elsewhere(document, None))
    await asyncio.sleep(0)  # both are waiting on the one read
    leaving.cancel()
    assert await staying == 2
    assert leaving.cancelled()
    assert reads == [document]
    await backend.remove(document, "elsewhere")


async def test_a_failed_read_fails_every_waiter_and_the_next_ask_reads_again(
    counted_backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, reads = counted_backend
    document = uuid.uuid4()
    read = backend._read

    async def broken(document_id: uuid.UUID):
        reads.append(document_id)
        raise ConnectionError("Redis went away")

    monkeypatch.setattr(backend, "_read", broken)
    results = await asyncio.gather(
        *(online.connections_elsewhere(document, None) for _ in range(10)),
        return_exceptions=True,
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    assert reads == [document]
    monkeypatch.setattr(backend, "_read", read)
    await online.publish(document, "elsewhere", [{"id": 1}], 1)
    assert await online.connections_elsewhere(document, None) == 1
    await backend.remove(document, "elsewhere")
