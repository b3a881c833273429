"""Frames whose headers lie about their size, floods of sync step 1, and awareness
states that would break others' greetings: refused before pycrdt or the presence
pays for them, and the room carries on for everyone else."""

from __future__ import annotations

import asyncio
import resource
import time

import pytest

from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.realtime.protocol import MAX_SAFE_INTEGER
from documents.tests.support.wsclient import PeerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("rooms")]

varint = protocol.write_var_uint


async def open_peer(user, document) -> PeerClient:
    return await (await PeerClient(user, document.id).connect()).sync()


def peak_rss_mb() -> float:
    # Linux reports kilobytes. A peak, so an earlier test's could mask a rise:
    # that can only let a regression pass here, never fail a good build.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def the_room_carries_on(alice: PeerClient, personas, document, expected: str) -> None:
    await alice.edit(" still")
    bob = await open_peer(personas["viewer"], document)
    await bob.wait_text(expected + " still")
    await bob.close()


HOSTILE = {
    # 6 bytes claiming 2^27 clients: pycrdt reserved 256 MB for it, 200-340 ms.
    "step 1, 2^27 clients": protocol.encode_sync_step1(varint(2**27) + b"\x01\x01"),
    # 10 bytes claiming 2^26 client groups: 128 MB while validating.
    "update, 2^26 groups": protocol.encode_sync_update(varint(2**26) + b"\x00" * 6),
    "step 2, 2^26 groups": protocol.encode_sync_step2(varint(2**26) + b"\x00" * 6),
    "deletes, 2^26 clients": protocol.encode_sync_update(b"\x00" + varint(2**26) + b"\x00\x00"),
}


@pytest.mark.parametrize("frame", HOSTILE.values(), ids=HOSTILE.keys())
async def test_lying_headers_are_closed_with_4400_quickly(personas, document, frame):
    alice = await open_peer(personas["owner"], document)
    await alice.edit("intact")
    mallory = await open_peer(personas["editor"], document)
    before = peak_rss_mb()
    started = time.perf_counter()
    await mallory.send(frame)
    assert await mallory.wait_closed() == CloseCode.BAD_FRAME
    elapsed = time.perf_counter() - started
    grown = peak_rss_mb() - before
    print(f"\nclosed after {elapsed * 1000:.1f} ms, peak memory +{grown:.0f} MB")
    assert grown < 64
    await the_room_carries_on(alice, personas, document, "intact")
    await alice.close()


async def test_a_flood_of_sync_step_1_is_rate_limited(personas, document, settings):
    settings.COLLAB = {"MAX_SYNC_STEP1_PER_SECOND": 2}  # a burst of 4
    alice = await open_peer(personas["owner"], document)
    await alice.edit("intact")
    mallory = await open_peer(personas["editor"], document)  # its handshake took one
    for _ in range(4):
        await mallory.send(protocol.encode_sync_step1(b"\x00"))
    assert await mallory.wait_closed() == CloseCode.RATE_LIMITED
    await the_room_carries_on(alice, personas, document, "intact")
    await alice.close()


async def test_step_1_at_the_editors_probe_rate_is_fine(personas, document):
    # The editor's save-status probe: a step 1 at most every 300 ms or so.
    alice = await open_peer(personas["owner"], document)
    for _ in range(8):
        await alice.send(protocol.encode_sync_step1(alice.doc.get_state()))
        await alice.receive_until(lambda m: isinstance(m, protocol.SyncStep2))
        await asyncio.sleep(0.25)  # the client's pacing, not a wait for the server
    await alice.edit("fine")
    await alice.close()


def awareness_frame(*entries: tuple[int, int, str]) -> bytes:
    payload = varint(len(entries)) + b"".join(
        varint(c) + varint(k) + protocol.write_var_string(raw) for c, k, raw in entries
    )
    return protocol.encode_awareness(payload)


async def test_a_lone_surrogate_cannot_stop_later_joins(personas, document):
    mallory = await open_peer(personas["editor"], document)
    await mallory.send(awareness_frame((77, 1, '{"name":"\\ud800"}')))
    await mallory.receive_until(lambda m: isinstance(m, protocol.AwarenessMessage))
    for _ in range(2):
        newcomer = await open_peer(personas["viewer"], document)
        greeted = [e for batch in newcomer.awareness for e in batch]
        assert [e.client_id for e in greeted] == [77]
        assert greeted[0].state["name"] == "\ufffd"
        await newcomer.close()
    await mallory.close()


async def test_an_awareness_clock_at_the_top_is_refused_and_cannot_stay(personas, document):
    alice = await open_peer(personas["owner"], document)
    mallory = await open_peer(personas["editor"], document)
    await mallory.send(awareness_frame((77, MAX_SAFE_INTEGER, '{"x":1}')))
    assert await mallory.wait_closed() == CloseCode.BAD_FRAME
    newcomer = await open_peer(personas["viewer"], document)
    assert all(e.client_id != 77 for batch in newcomer.awareness for e in batch)
    await newcomer.close()
    await alice.close()


async def test_javascript_unreadable_json_is_refused(personas, document):
    mallory = await open_peer(personas["editor"], document)
    await mallory.send(awareness_frame((77, 1, '{"x":NaN}')))
    assert await mallory.wait_closed() == CloseCode.BAD_FRAME
    newcomer = await open_peer(personas["viewer"], document)
    assert newcomer.awareness == [] or all(
        e.client_id != 77 for batch in newcomer.awareness for e in batch
    )
    await newcomer.close()
