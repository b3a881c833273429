"""Awareness through the consumer: newcomers, ownership, server-stamped identity,
departures, and coalescing."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from documents.identity import identity
from documents.realtime import protocol
from documents.realtime.protocol import AwarenessEntry
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]


def awareness_frame(*entries: AwarenessEntry) -> bytes:
    return protocol.encode_awareness(protocol.encode_awareness_entries(list(entries)))


async def open_peer(user, document) -> PeerClient:
    peer = await PeerClient(user, document.id).connect()
    return await peer.sync()


def states_seen(peer: PeerClient) -> dict[int, AwarenessEntry]:
    latest: dict[int, AwarenessEntry] = {}
    for batch in peer.awareness:
        for entry in batch:
            latest[entry.client_id] = entry
    return latest


async def wait_for_state(peer: PeerClient, client_id: int, predicate, timeout: float = 2.0):
    def matches(_: object) -> bool:
        entry = states_seen(peer).get(client_id)
        return entry is not None and predicate(entry)

    if not matches(None):
        await peer.receive_until(matches, timeout)
    return states_seen(peer)[client_id]


async def test_newcomer_receives_everyone_already_present(personas, document):
    alice = await open_peer(personas["owner"], document)
    await alice.send(awareness_frame(AwarenessEntry(101, 1, {"cursor": {"anchor": 3}})))
    bob = await open_peer(personas["editor"], document)
    entry = await wait_for_state(bob, 101, lambda e: e.state is not None)
    assert entry.state["cursor"] == {"anchor": 3}
    assert entry.state["user"] == await database_sync_to_async(identity)(personas["owner"])
    await alice.close()
    await bob.close()


async def test_forged_user_is_replaced_by_the_server_identity(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    forged = {"user": {"name": "Owner", "color": "#000000", "id": personas["owner"].pk}}
    await bob.send(awareness_frame(AwarenessEntry(202, 1, forged)))
    entry = await wait_for_state(alice, 202, lambda e: e.state is not None)
    assert entry.state["user"] == await database_sync_to_async(identity)(personas["editor"])
    await alice.close()
    await bob.close()


async def test_spoofed_client_id_is_dropped(personas, document):
    alice = await open_peer(personas["owner"], document)
    await alice.send(awareness_frame(AwarenessEntry(303, 1, {"cursor": None})))
    bob = await open_peer(personas["editor"], document)
    await wait_for_state(bob, 303, lambda e: e.state is not None)
    # Mallory claims alice's id with a newer clock, then tries to remove it.
    mallory = await open_peer(personas["viewer"], document)
    await mallory.send(awareness_frame(AwarenessEntry(303, 9, {"cursor": {"anchor": 666}})))
    await mallory.send(awareness_frame(AwarenessEntry(303, 10, None)))
    # Then her own caret: once bob has it, her forgeries were handled before it.
    await mallory.send(awareness_frame(AwarenessEntry(404, 1, {"cursor": None})))
    await wait_for_state(bob, 404, lambda e: e.state is not None)
    entry = states_seen(bob)[303]
    assert entry.clock == 1 and entry.state is not None
    assert entry.state["user"] == await database_sync_to_async(identity)(personas["owner"])
    for peer in (alice, bob, mallory):
        await peer.close()


async def test_departure_is_broadcast_at_once(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    await bob.send(awareness_frame(AwarenessEntry(404, 5, {"cursor": None})))
    await wait_for_state(alice, 404, lambda e: e.state is not None)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bob.close()  # no awareness goodbye from the client
    entry = await wait_for_state(alice, 404, lambda e: e.state is None, timeout=1.0)
    assert entry.clock == 6
    assert loop.time() - started < 0.5
    await alice.close()


async def test_repeated_state_is_not_forwarded(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    frame = awareness_frame(AwarenessEntry(505, 1, {"cursor": None}))
    await bob.send(frame)
    await wait_for_state(alice, 505, lambda e: e.state is not None)
    # Stock clients re-send what they receive; an old clock must die here.
    await bob.send(frame)
    await alice.send(frame)
    assert await alice.nothing_more(0.3)
    await alice.close()
    await bob.close()


async def test_a_burst_of_caret_moves_is_coalesced(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    for clock in range(1, 51):
        await bob.send(awareness_frame(AwarenessEntry(606, clock, {"cursor": {"anchor": clock}})))
    entry = await wait_for_state(alice, 606, lambda e: e.clock == 50)
    assert entry.state["cursor"] == {"anchor": 50}
    frames_with_606 = sum(1 for batch in alice.awareness if any(e.client_id == 606 for e in batch))
    assert frames_with_606 < 10, f"{frames_with_606} frames for 50 moves"
    await alice.close()
    await bob.close()


async def test_a_lone_caret_move_goes_out_at_once_and_a_burst_waits_for_the_interval(
    personas, document, settings
):
    """A long interval tells "sent at once" from "held for the interval" without timing."""
    settings.COLLAB = {**getattr(settings, "COLLAB", {}), "AWARENESS_FLUSH_SECONDS": 3.0}
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    await bob.send(awareness_frame(AwarenessEntry(616, 1, {"cursor": {"anchor": 1}})))
    await wait_for_state(alice, 616, lambda e: e.clock == 1, timeout=1.5)
    # The next move comes within the interval after that flush: it waits for it.
    await bob.send(awareness_frame(AwarenessEntry(616, 2, {"cursor": {"anchor": 2}})))
    assert await alice.nothing_more(1.0)
    await wait_for_state(alice, 616, lambda e: e.clock == 2, timeout=4.0)
    await alice.close()
    await bob.close()


async def test_query_awareness_is_answered_with_all_states(personas, document):
    alice = await open_peer(personas["owner"], document)
    await alice.send(awareness_frame(AwarenessEntry(707, 1, {"cursor": None})))
    bob = await open_peer(personas["editor"], document)
    await wait_for_state(bob, 707, lambda e: e.state is not None)
    bob.awareness.clear()
    await bob.send(protocol.encode_query_awareness())
    await wait_for_state(bob, 707, lambda e: e.state is not None)
    await alice.close()
    await bob.close()


async def test_a_stale_resend_cannot_bring_back_a_departed_caret(personas, document):
    alice = await open_peer(personas["owner"], document)
    bob = await open_peer(personas["editor"], document)
    state = AwarenessEntry(808, 3, {"cursor": {"anchor": 1}})
    await alice.send(awareness_frame(state))
    await wait_for_state(bob, 808, lambda e: e.state is not None)
    # Stock clients re-send what they receive: bob echoes alice's state...
    await bob.send(awareness_frame(state))
    await alice.send(awareness_frame(AwarenessEntry(808, 4, None)))  # alice leaves politely
    await wait_for_state(bob, 808, lambda e: e.state is None)
    # ...and the echo arriving after her goodbye must not resurrect her.
    await bob.send(awareness_frame(state))
    await alice.close()
    assert await bob.nothing_more(0.3)
    carol = await open_peer(personas["viewer"], document)
    assert 808 not in states_seen(carol)
    for peer in (bob, carol):
        await peer.close()


async def test_a_reconnecting_user_keeps_its_client_id(personas, document):
    first = await open_peer(personas["owner"], document)
    watcher = await open_peer(personas["editor"], document)
    await first.send(awareness_frame(AwarenessEntry(909, 1, {"cursor": None})))
    await wait_for_state(watcher, 909, lambda e: e.state is not None)
    # The provider reconnected before the server noticed the old socket die.
    second = await open_peer(personas["owner"], document)
    await second.send(awareness_frame(AwarenessEntry(909, 2, {"cursor": {"anchor": 5}})))
    await wait_for_state(watcher, 909, lambda e: e.clock == 2)
    await first.close()
    # The old socket's end does not remove the caret the new one now holds.
    assert await watcher.nothing_more(0.3)
    assert states_seen(watcher)[909].state is not None
    await second.close()
    await wait_for_state(watcher, 909, lambda e: e.state is None)
    await watcher.close()


async def test_an_awareness_flood_closes_only_the_flooder(personas, document):
    from documents.realtime.close_codes import CloseCode

    alice = await open_peer(personas["owner"], document)
    mallory = await open_peer(personas["editor"], document)
    # Far past MAX_AWARENESS_PER_SECOND (100, bursts of 200) within a second.
    for clock in range(1, 1001):
        await mallory.send(awareness_frame(AwarenessEntry(505, clock, {"cursor": None})))
    assert await mallory.wait_closed() == CloseCode.RATE_LIMITED
    # Alice's carets and edits still flow.
    bob = await open_peer(personas["viewer"], document)
    await alice.send(awareness_frame(AwarenessEntry(606, 1, {"cursor": {"anchor": 1}})))
    await wait_for_state(bob, 606, lambda e: e.state is not None)
    await alice.edit("still here")
    await bob.wait_text("still here")
    for peer in (alice, bob):
        await peer.close()


async def test_a_chosen_caret_colour_reaches_the_other_editors(personas, document):
    from documents.identity import PALETTE
    from documents.models import Profile

    owner = personas["owner"]
    derived = (await database_sync_to_async(identity)(owner))["color"]
    chosen = next(c for c in PALETTE if c != derived)
    await database_sync_to_async(Profile.objects.create)(user=owner, caret_color=chosen)
    alice = await PeerClient(owner, document.id).connect()
    await alice.sync()
    bob = await open_peer(personas["editor"], document)
    await alice.send(awareness_frame(AwarenessEntry(303, 1, {"cursor": None})))
    entry = await wait_for_state(bob, 303, lambda e: e.state is not None)
    assert entry.state["user"]["color"] == chosen
    await alice.close()
    await bob.close()
