"""A room's sends to the other processes do not hold up its own editors.

Two room registries in one process, each with its own Redis pub/sub layer,
stand in for two server processes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connections

from documents.realtime.layer import PubSubChannelLayer
from documents.tests.support.polling import until
from documents.tests.support.wsclient import peer_on, registry_with

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("integration")]


@pytest.fixture
async def two_processes():
    prefix = f"peersend{uuid.uuid4().hex[:8]}"
    layers = [PubSubChannelLayer(hosts=[settings.REDIS_URL], prefix=prefix) for _ in range(2)]
    processes = [registry_with(layer) for layer in layers]
    yield layers, processes
    for rooms, _ in processes:
        await rooms.close()
    for layer in layers:
        await layer.flush()
    await database_sync_to_async(connections.close_all)()


async def test_local_editors_get_updates_while_redis_holds_the_publishes(
    two_processes, personas, document
):
    (layer_a, _), ((rooms_a, app_a), (_, app_b)) = two_processes
    alice = await peer_on(app_a, personas["owner"], document).connect()
    await alice.sync()
    carol = await peer_on(app_a, personas["editor"], document).connect()
    await carol.sync()
    bob = await peer_on(app_b, personas["editor"], document).connect()
    await bob.sync()
    await alice.edit_alone("seen everywhere;")
    await bob.wait_text("seen everywhere;", timeout=5)
    await carol.wait_text("seen everywhere;", timeout=5)
    room_a = rooms_a.rooms[document.id]
    await until(lambda: room_a.awareness.peers(), "process a to know process b")

    # From here process a's publishes are held and never answered.
    publisher = layer_a._get_layer()._shards[0]._publisher
    assert publisher is not None
    held: list[asyncio.Future[None]] = []

    def hold(channel: str, message: bytes) -> asyncio.Future[None]:
        held.append(asyncio.get_running_loop().create_future())
        return held[-1]

    publisher.publish_soon = hold  # type: ignore[method-assign]
    started = time.monotonic()
    for i in range(5):
        await alice.edit_alone(f"local {i};")
    # Each update is published to process b from the room's delivery loop; the
    # next one must not wait for that publish (2 s each before giving up).
    await carol.wait_text(str(alice.text), timeout=1.5)
    assert time.monotonic() - started < 1.5
    assert len(held) >= 5, "the updates were not published"
    for future in held:
        future.set_result(None)
    await alice.close()
    await carol.close()
    await bob.close()


async def test_updates_sent_without_waiting_reach_the_peer_through_the_layer(
    two_processes, personas, document
):
    _, ((rooms_a, app_a), (rooms_b, app_b)) = two_processes
    alice = await peer_on(app_a, personas["owner"], document).connect()
    await alice.sync()
    bob = await peer_on(app_b, personas["editor"], document).connect()
    await bob.sync()
    room_a = rooms_a.rooms[document.id]
    await until(lambda: room_a.awareness.peers(), "process a to know process b")
    for i in range(40):
        await alice.edit_alone(f"{i};")
    await bob.wait_text(str(alice.text), timeout=5)
    assert rooms_b.rooms[document.id].healed == 0, "updates were missed and read from the database"
    await alice.close()
    await bob.close()


async def test_a_peers_update_reaches_the_room_while_its_listen_loop_is_held(
    two_processes, personas, document
):
    """Updates from a known peer go to the room as they are read off the layer's socket,
    not behind everything else in the room's channel (heartbeats, carets)."""
    _, ((rooms_a, app_a), (rooms_b, app_b)) = two_processes
    alice = await peer_on(app_a, personas["owner"], document).connect()
    await alice.sync()
    bob = await peer_on(app_b, personas["editor"], document).connect()
    await bob.sync()
    room_a, room_b = rooms_a.rooms[document.id], rooms_b.rooms[document.id]
    await until(
        lambda: room_a.awareness.peers() and room_b.awareness.peers(),
        "the processes to know each other",
    )
    release = asyncio.Event()
    dispatch = room_b.peers._dispatch

    async def held(message: dict[str, Any]) -> None:
        await release.wait()
        await dispatch(message)

    room_b.peers._dispatch = held  # type: ignore[method-assign]
    for i in range(10):
        await alice.edit_alone(f"{i};")
    await bob.wait_text(str(alice.text), timeout=3)
    assert room_b.healed == 0, "read from the database, not heard from the peer"
    release.set()
    await alice.close()
    await bob.close()
