"""Limits against a real Daphne: a 20 MB frame, a flood of small updates, too many
connections, a document past its size. Each is refused with its close code and the
server's memory stays bounded."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from pycrdt import Doc, Text

from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.tests.live.test_interop import stored_text

pytestmark = pytest.mark.django_db(transaction=True)


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def connect(server, cookie: str, document_id):
    return await websockets.connect(
        f"{server.ws_url}/ws/documents/{document_id}",
        additional_headers={"Cookie": cookie},
        origin=server.url,
        max_size=None,
    )


async def close_code(ws) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def edits(count: int) -> list[bytes]:
    doc = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(count):
        text += f"{i % 10}"
    return updates


async def test_huge_frame_and_update_flood_are_refused_with_bounded_memory(
    daphne_server, cookies, document
):
    baseline = peak_rss_mb(daphne_server.pid)
    # 20 MB in one frame: refused by the server before it is buffered whole.
    ws = await connect(daphne_server, cookies["owner"], document.id)
    try:
        await ws.send(protocol.encode_sync_update(b"\x00" * (20 * 1024 * 1024)))
        code = await close_code(ws)
    except (websockets.ConnectionClosed, ConnectionResetError):
        # The server answers 1009 from the frame header and hangs up without
        # reading the rest, so the client may only see the reset.
        code = ws.close_code
    assert code in (1009, 1006), code
    after_frame = peak_rss_mb(daphne_server.pid)

    # A flood of small, valid updates: the rate limit closes the socket.
    flooder = await connect(daphne_server, cookies["editor"], document.id)
    for update in edits(3000):
        try:
            await flooder.send(protocol.encode_sync_update(update))
        except websockets.ConnectionClosed:
            break
    assert await close_code(flooder) == CloseCode.RATE_LIMITED
    after_flood = peak_rss_mb(daphne_server.pid)
    print(
        f"\nserver peak RSS: {baseline:.0f} MB at start, {after_frame:.0f} MB after a 20 MB frame, "
        f"{after_flood:.0f} MB after a 3000-update flood"
    )
    assert after_frame - baseline < 60
    assert after_flood - baseline < 80

    # What was accepted before the limit is intact, and others carry on.
    accepted = await asyncio.to_thread(stored_text, document.id)
    assert accepted == "".join(str(i % 10) for i in range(len(accepted)))
    peer = await connect(daphne_server, cookies["owner"], document.id)
    first = protocol.decode(await asyncio.wait_for(peer.recv(), 5))
    assert isinstance(first, protocol.SyncStep1)
    await peer.close()


async def test_connections_per_document_are_capped(server_factory, cookies, document):
    server = server_factory(MAX_CONNECTIONS_PER_DOCUMENT=3)
    sockets = [await connect(server, cookies["editor"], document.id) for _ in range(3)]
    for ws in sockets:
        await asyncio.wait_for(ws.recv(), 5)  # greeted
    extra = await connect(server, cookies["owner"], document.id)
    denied = protocol.decode(await asyncio.wait_for(extra.recv(), 5))
    assert denied == protocol.AuthMessage("too many editors on this document")
    assert await close_code(extra) == CloseCode.ROOM_FULL
    for ws in sockets:
        await ws.close()


async def test_the_connection_cap_counts_every_server_process(server_factory, cookies, document):
    first = server_factory(MAX_CONNECTIONS_PER_DOCUMENT=3)
    second = server_factory(MAX_CONNECTIONS_PER_DOCUMENT=3)
    sockets = [await connect(first, cookies["editor"], document.id) for _ in range(2)]
    sockets.append(await connect(second, cookies["owner"], document.id))
    for ws in sockets:
        await asyncio.wait_for(ws.recv(), 5)  # greeted, and counted in who is online
    extra = await connect(second, cookies["viewer"], document.id)
    denied = protocol.decode(await asyncio.wait_for(extra.recv(), 5))
    assert denied == protocol.AuthMessage("too many editors on this document")
    assert await close_code(extra) == CloseCode.ROOM_FULL
    # One leaves the first process: the second takes a newcomer again.
    await sockets.pop(0).close()
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        ws = await connect(second, cookies["viewer"], document.id)
        if isinstance(protocol.decode(await asyncio.wait_for(ws.recv(), 5)), protocol.SyncStep1):
            sockets.append(ws)
            break
        await ws.close()
        assert asyncio.get_running_loop().time() < deadline, "the departure was never counted"
    for ws in sockets:
        await ws.close()


async def test_document_size_is_capped(server_factory, cookies, document):
    server = server_factory(MAX_DOCUMENT_BYTES=4096)
    ws = await connect(server, cookies["owner"], document.id)
    doc = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text += "x" * 3000
    await ws.send(protocol.encode_sync_update(updates[-1]))
    text += "y" * 3000
    await ws.send(protocol.encode_sync_update(updates[-1]))
    assert await close_code(ws) == CloseCode.TOO_LARGE
    assert await asyncio.to_thread(stored_text, document.id) == "x" * 3000
