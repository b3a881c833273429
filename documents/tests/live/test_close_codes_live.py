"""Close codes through real Daphne (Autobahn refuses some codes that
WebsocketCommunicator lets through), and the stock provider's reaction to them."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import websockets

from devtools.child_server import ChildServer
from devtools.waiting import wait_until
from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode
from documents.tests.live.test_interop import stored_text
from documents.tests.live.test_limits import close_code, connect
from documents.tests.support.realclients import NodeClient

pytestmark = pytest.mark.django_db(transaction=True)


async def text_frame_close(server: ChildServer, cookie: str, document_id: Any) -> int | None:
    ws = await connect(server, cookie, document_id)
    first = protocol.decode(await asyncio.wait_for(ws.recv(), 5))
    assert isinstance(first, protocol.SyncStep1), first  # in the room, counted
    with contextlib.suppress(websockets.ConnectionClosed):
        await ws.send("not a y-websocket frame")
    return await close_code(ws)


async def test_text_frames_close_as_sent_and_release_their_place(server_factory, cookies, document):
    # A cap far below the sockets opened: one leaked place per socket would
    # refuse newcomers within the first wave.
    # One user opens them all: the per-user caps must not be what refuses.
    server = server_factory(
        MAX_CONNECTIONS_PER_DOCUMENT=20,
        MAX_CONNECTIONS_PER_USER_PER_DOCUMENT=20,
        MAX_CONNECTIONS_PER_USER=20,
    )
    assert await text_frame_close(server, cookies["viewer"], document.id) == (
        CloseCode.UNSUPPORTED_DATA
    )
    codes: list[int | None] = []
    for _ in range(10):
        codes += await asyncio.gather(
            *(text_frame_close(server, cookies["editor"], document.id) for _ in range(20))
        )
    assert codes == [CloseCode.UNSUPPORTED_DATA] * 200, set(codes)
    assert "Traceback" not in server.log()

    node = NodeClient(server.ws_url, document.id, cookies["owner"], server.url)
    try:
        await asyncio.to_thread(node.wait_synced)
        node.insert("still welcome")
        await asyncio.to_thread(wait_until, lambda: stored_text(document.id) == "still welcome", 10)
        assert node.closes == []
    finally:
        node.close()


def test_stock_client_closed_for_rate_comes_back_with_its_edits(server_factory, cookies, document):
    server = server_factory(MAX_UPDATES_PER_SECOND=5)  # bursts of 10
    typist = NodeClient(server.ws_url, document.id, cookies["editor"], server.url)
    watcher = NodeClient(server.ws_url, document.id, cookies["owner"], server.url)
    try:
        typist.wait_synced()
        watcher.wait_synced()
        chunks = [f"<{i}>" for i in range(60)]
        for chunk in chunks:
            typist.insert(chunk)  # one update frame each: far past the burst
        everything = "".join(chunks)
        wait_until(lambda: CloseCode.RATE_LIMITED in typist.closes, 10)
        # Nobody reconnects it: the stock provider retries 45xx by itself,
        # and its step 2 on reconnect carries what was refused.
        wait_until(lambda: stored_text(document.id) == everything, 20)
        watcher.wait_text(lambda t: t == everything, 10)
        typist.wait_synced()
        assert typist.text == everything
        print(f"\ntypist closed {typist.closes}; reconnected by itself, all 60 edits stored")
    finally:
        typist.close()
        watcher.close()
