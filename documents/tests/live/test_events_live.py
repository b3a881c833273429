"""The comments' events socket (/ws/events/) through real Daphne: its refusals reach
the client with their own close codes (Autobahn refuses an IntEnum as one, which
WebsocketCommunicator lets through)."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from documents.realtime.close_codes import CloseCode
from documents.tests.live.test_limits import close_code

pytestmark = pytest.mark.django_db(transaction=True)


async def events_socket(server, cookie: str | None):
    return await websockets.connect(
        f"{server.ws_url}/ws/events/",
        additional_headers={"Cookie": cookie} if cookie else {},
        origin=server.url,
    )


async def test_past_the_cap_an_events_socket_is_told_to_come_back_later(server_factory, cookies):
    server = server_factory(MAX_EVENTS_SOCKETS_PER_USER=2)
    held = [await events_socket(server, cookies["editor"]) for _ in range(2)]
    try:
        refused = await events_socket(server, cookies["editor"])
        assert await close_code(refused) == CloseCode.TOO_MANY_CONNECTIONS
        # Another user is not counted against this one.
        other = await events_socket(server, cookies["owner"])
        await other.send('{"subscribe": "00000000-0000-0000-0000-000000000000"}')
        assert "not found" in await asyncio.wait_for(other.recv(), 5)
        await other.close()
    finally:
        for ws in held:
            await ws.close()


async def test_a_frame_that_is_not_a_subscription_closes_with_bad_frame(daphne_server, cookies):
    ws = await events_socket(daphne_server, cookies["editor"])
    await ws.send("not json")
    assert await close_code(ws) == CloseCode.BAD_FRAME


async def test_a_signed_out_page_is_told_4401_and_not_left_retrying(daphne_server):
    ws = await events_socket(daphne_server, None)
    assert await close_code(ws) == CloseCode.NOT_AUTHENTICATED
