"""A channel layer that drops group messages cannot make editors diverge: each
room notices the gap in sequence numbers and reads the rest from the database.

Two room registries in one process stand in for two server processes; each has
its own Redis channel layer client, wrapped to drop a share of what it sends.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import connections

from documents import metrics
from documents.tests.support.wsclient import peer_on, registry_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]


class LossyLayer:
    """The real layer, except that messages of the given types are dropped at random."""

    def __init__(self, inner: Any, drop: float, types: set[str], seed: int) -> None:
        self.inner = inner
        self.drop = drop
        self.types = types
        self.random = random.Random(seed)
        self.dropped = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _lose(self, message: dict[str, Any]) -> bool:
        if message["type"] in self.types and self.random.random() < self.drop:
            self.dropped += 1
            return True
        return False

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        if not self._lose(message):
            await self.inner.group_send(group, message)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if not self._lose(message):
            await self.inner.send(channel, message)


@pytest.fixture
async def two_processes():
    prefix = f"gaptest{uuid.uuid4().hex[:8]}"
    layers = [
        LossyLayer(
            RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix),
            drop=0.4,
            types={"document.update"},
            seed=i,
        )
        for i in range(2)
    ]
    processes = [registry_with(layer) for layer in layers]
    yield layers, processes
    for rooms, _ in processes:
        await rooms.close()
    for layer in layers:
        await layer.inner.flush()
    await database_sync_to_async(connections.close_all)()


async def test_dropped_updates_are_healed_from_the_database(two_processes, personas, document):
    layers, ((rooms_a, app_a), (rooms_b, app_b)) = two_processes
    heals_before = metrics.REGISTRY.get_sample_value("collab_gap_heals_total") or 0
    alice = await peer_on(app_a, personas["owner"], document).connect()
    await alice.sync()
    bob = await peer_on(app_b, personas["editor"], document).connect()
    await bob.sync()
    # One writer at a time: the reader's room can only learn of the edits
    # through the lossy channel layer or, on a gap, the database.
    for writer, reader, name in ((alice, bob, "a"), (bob, alice, "b")):
        for i in range(60):
            await writer.edit_alone(f"{name}{i};")  # each its own update, relayed
        chunks = [f"{name}{i};" for i in range(60)]
        await reader.receive_until(
            lambda _, r=reader, c=chunks: all(chunk in str(r.text) for chunk in c), timeout=10
        )
    assert str(alice.text) == str(bob.text)
    assert sum(layer.dropped for layer in layers) > 10, "the layer dropped nothing"
    healed = rooms_a.rooms[document.id].healed + rooms_b.rooms[document.id].healed
    assert healed > 0
    # Both "processes" share this test's registry: /metrics counts every heal.
    heals = metrics.REGISTRY.get_sample_value("collab_gap_heals_total") or 0
    assert heals - heals_before == healed
    print(
        f"\ndropped {sum(layer.dropped for layer in layers)} relays; healed {healed} from the database"
    )
    await alice.close()
    await bob.close()


async def test_a_dropped_final_update_is_healed_by_the_heartbeat(two_processes, personas, document):
    layers, ((_, app_a), (_, app_b)) = two_processes
    for layer in layers:
        layer.drop = 1.0  # nothing gets through the fast path at all
    alice = await peer_on(app_a, personas["owner"], document).connect()
    await alice.sync()
    bob = await peer_on(app_b, personas["editor"], document).connect()
    await bob.sync()
    await alice.edit("only the heartbeat carries this")
    await bob.wait_text("only the heartbeat carries this", timeout=5)
    await alice.close()
    await bob.close()


class ReorderingLayer:
    """The real layer, except that some updates are held back a moment: they arrive
    after updates committed later, as two processes' commits often do."""

    def __init__(self, inner: Any, hold: float, seed: int) -> None:
        self.inner = inner
        self.hold = hold
        self.random = random.Random(seed)
        self.held = 0
        self._tasks: set[Any] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if message["type"] != "document.update" or self.random.random() < 0.5:
            await self.inner.send(channel, message)
            return
        self.held += 1

        async def later() -> None:
            await asyncio.sleep(self.random.uniform(0.005, self.hold))
            await self.inner.send(channel, message)

        task = asyncio.ensure_future(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def test_updates_arriving_out_of_order_wait_for_each_other_instead_of_the_database(
    personas, document, settings
):
    # A wait far longer than any hold: no heal is needed, however slow the machine.
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "GAP_WAIT_SECONDS": 2.0}
    prefix = f"reorder{uuid.uuid4().hex[:8]}"
    layers = [
        ReorderingLayer(RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix), 0.03, i)
        for i in range(2)
    ]
    (rooms_a, app_a), (rooms_b, app_b) = (registry_with(layer) for layer in layers)
    try:
        alice = await peer_on(app_a, personas["owner"], document).connect()
        await alice.sync()
        bob = await peer_on(app_b, personas["editor"], document).connect()
        await bob.sync()
        # Both type at once: their commits interleave in the document's sequence.
        for i in range(40):
            await alice.edit_alone(f"a{i};")
            await bob.edit_alone(f"b{i};")
        chunks = [f"{name}{i};" for name in "ab" for i in range(40)]
        for peer in (alice, bob):
            await peer.receive_until(
                lambda _, p=peer: all(chunk in str(p.text) for chunk in chunks), timeout=15
            )
        assert str(alice.text) == str(bob.text)
        assert sum(layer.held for layer in layers) > 10, "nothing was held back"
        assert rooms_a.rooms[document.id].healed + rooms_b.rooms[document.id].healed == 0
        await alice.close()
        await bob.close()
    finally:
        for rooms in (rooms_a, rooms_b):
            await rooms.close()
        await layers[0].inner.flush()
        await database_sync_to_async(connections.close_all)()


class HoldingLayer:
    """The real layer, except that updates are held until `release`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.holding = True
        self.held: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if self.holding and message["type"] == "document.update":
            self.held.append((channel, message))
            return
        await self.inner.send(channel, message)

    async def release(self) -> None:
        self.holding = False
        for channel, message in self.held:
            await self.inner.send(channel, message)


async def test_our_own_commit_reaches_our_editors_before_the_updates_numbered_before_it_arrive(
    personas, document, settings
):
    # Another process's update is committed first and its relay is slow: the
    # editors here see their own colleague's update at once, not after it.
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "GAP_WAIT_SECONDS": 30.0}
    prefix = f"ahead{uuid.uuid4().hex[:8]}"
    slow = HoldingLayer(RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix))
    fast = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix)
    (rooms_a, app_a), (rooms_b, app_b) = registry_with(slow), registry_with(fast)
    try:
        alice = await peer_on(app_a, personas["owner"], document).connect()
        await alice.sync()
        bob = await peer_on(app_b, personas["editor"], document).connect()
        await bob.sync()
        carol = await peer_on(app_b, personas["editor"], document).connect()
        await carol.sync()
        room_a, room_b = rooms_a.rooms[document.id], rooms_b.rooms[document.id]
        start = room_b.last_seq
        await alice.edit("alice ")
        deadline = asyncio.get_running_loop().time() + 5
        while room_a.last_seq == start:
            assert asyncio.get_running_loop().time() < deadline, "alice's update never committed"
            await asyncio.sleep(0.01)
        await bob.edit("bob ")
        await carol.wait_text("bob ", timeout=3)
        assert room_b.last_seq == start  # the sequence still waits for alice's
        await slow.release()
        for peer in (alice, bob, carol):
            await peer.receive_until(
                lambda _, p=peer: "alice" in str(p.text) and "bob" in str(p.text), timeout=5
            )
        assert str(alice.text) == str(bob.text) == str(carol.text)
        assert room_b.last_seq == room_a.last_seq == start + 2
        assert room_a.healed + room_b.healed == 0
        for peer in (alice, bob, carol):
            await peer.close()
    finally:
        for rooms in (rooms_a, rooms_b):
            await rooms.close()
        await fast.flush()
        await database_sync_to_async(connections.close_all)()
