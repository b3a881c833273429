"""Against a real Daphne: logging out ends that session's open sockets there."""

from __future__ import annotations

import asyncio

import websockets
from django.conf import settings
from django.db import connections
from django.test import Client

from documents.realtime import protocol
from documents.realtime.close_codes import CloseCode


def logged_in(user) -> tuple[Client, str]:
    client = Client()
    client.force_login(user)
    connections.close_all()  # this thread's: the test database is dropped afterwards
    name = settings.SESSION_COOKIE_NAME
    return client, f"{name}={client.cookies[name].value}"


def log_out(client: Client) -> None:
    client.logout()
    connections.close_all()


async def greeted(server, cookie: str, document_id):
    ws = await websockets.connect(
        f"{server.ws_url}/ws/documents/{document_id}",
        additional_headers={"Cookie": cookie},
        origin=server.url,
    )
    first = protocol.decode(await asyncio.wait_for(ws.recv(), 5))
    assert isinstance(first, protocol.SyncStep1), first
    return ws


async def closed_with(ws) -> tuple[int | None, list[str]]:
    """The close code, and the permission-denied reasons sent before it."""
    denied: list[str] = []
    try:
        while True:
            message = protocol.decode(await asyncio.wait_for(ws.recv(), 10))
            if isinstance(message, protocol.AuthMessage):
                denied.append(message.reason)
    except websockets.ConnectionClosed as closed:
        return (closed.rcvd.code if closed.rcvd else None), denied


async def test_logout_ends_that_sessions_sockets_on_a_real_server(
    server_factory, personas, document
):
    server = server_factory()
    laptop, laptop_cookie = await asyncio.to_thread(logged_in, personas["editor"])
    _, phone_cookie = await asyncio.to_thread(logged_in, personas["editor"])
    signed_out = await greeted(server, laptop_cookie, document.id)
    still_in = await greeted(server, phone_cookie, document.id)

    await asyncio.to_thread(log_out, laptop)

    assert await closed_with(signed_out) == (
        CloseCode.NOT_AUTHENTICATED,
        ["you were signed out"],
    )
    # The other session's socket stays open and answers.
    await still_in.send(protocol.encode_sync_step1(b"\x00"))
    answer = protocol.decode(await asyncio.wait_for(still_in.recv(), 5))
    assert isinstance(answer, protocol.SyncStep2 | protocol.AwarenessMessage), answer
    await still_in.close()
    # And the signed-out session cannot come back.
    again = await websockets.connect(
        f"{server.ws_url}/ws/documents/{document.id}",
        additional_headers={"Cookie": laptop_cookie},
        origin=server.url,
    )
    assert await closed_with(again) == (
        CloseCode.NOT_AUTHENTICATED,
        ["log in to open documents"],
    )
