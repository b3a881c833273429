"""A pycrdt client speaking y-websocket through Channels' WebsocketCommunicator."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import re_path
from pycrdt import Doc, Text

from documents.realtime import protocol
from documents.realtime.consumer import DocumentConsumer
from documents.realtime.registry import RoomRegistry
from documents.realtime.routing import _UUID, websocket_urlpatterns


def registry_with(layer: Any) -> tuple[RoomRegistry, Any]:
    """Rooms of their own on `layer`, and the WebSocket app serving them: with two, one
    test process stands in for two server processes."""
    rooms = RoomRegistry(layer)
    consumer = DocumentConsumer.as_asgi(rooms=rooms)
    return rooms, URLRouter([re_path(rf"^ws/documents/(?P<document_id>{_UUID})/?$", consumer)])


def peer_on(app: Any, user: Any, document: Any) -> PeerClient:
    """An editor connecting as `user` to `document` through `app` (one of `registry_with`'s)."""
    peer = PeerClient(user, document.id)
    router = app

    async def with_user(scope: dict, receive: Any, send: Any) -> Any:
        return await router({**scope, "user": user}, receive, send)

    peer.comm.application = with_user
    return peer


def application_for(user: Any) -> Any:
    """The WebSocket app with `user` already authenticated, as AuthMiddleware would."""
    router = URLRouter(websocket_urlpatterns)

    async def app(scope: dict, receive: Any, send: Any) -> Any:
        return await router({**scope, "user": user}, receive, send)

    return app


class PeerClient:
    """One editor: a pycrdt Doc with a Text named `text`, synced over the consumer."""

    def __init__(self, user: Any, document_id: Any, path: str | None = None) -> None:
        self.doc = Doc()
        self.text = self.doc.get("text", type=Text)
        self.updates: list[bytes] = []
        self.awareness: list[list[protocol.AwarenessEntry]] = []
        self.denied: list[str] = []
        self.close_code: int | None = None
        self.comm = WebsocketCommunicator(
            application_for(user), path or f"/ws/documents/{document_id}"
        )
        self._local: list[bytes] = []
        self.doc.observe(self._on_local)
        self._applying = False

    def _on_local(self, event: Any) -> None:
        if not self._applying:
            self._local.append(event.update)

    async def connect(self) -> PeerClient:
        connected, _ = await self.comm.connect()
        assert connected
        return self

    async def sync(self) -> PeerClient:
        """Do the handshake both ways and wait until the server's content is in."""
        await self.comm.send_to(bytes_data=protocol.encode_sync_step1(self.doc.get_state()))
        await self.receive_until(lambda m: isinstance(m, protocol.SyncStep2))
        return self

    async def edit(self, text: str) -> bytes:
        """Append text locally and send the resulting update."""
        self._local.clear()
        self.text += text
        update = self._local[-1]
        await self.send(protocol.encode_sync_update(update))
        return update

    async def edit_alone(self, text: str) -> bytes:
        """`edit`, then wait until the server took the update: it takes the frames
        queued together as one, and some tests need each update on its own."""
        update = await self.edit(text)
        await self.taken()
        return update

    async def taken(self, timeout: float = 5.0) -> None:
        """Wait until the server's consumer has taken every frame sent so far."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.comm.input_queue.empty():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the server took none of the frames sent")
            await asyncio.sleep(0)

    async def send(self, frame: bytes) -> None:
        await self.comm.send_to(bytes_data=frame)

    def _apply(self, update: bytes) -> None:
        self._applying = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying = False

    async def receive_one(self, timeout: float = 2.0) -> protocol.Message | None:
        """Handle one frame from the server; None once the socket is closed."""
        output = await self.comm.receive_output(timeout)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            return None
        message = protocol.decode(output["bytes"])
        if isinstance(message, protocol.SyncStep1):
            await self.send(protocol.encode_sync_step2(self.doc.get_update(message.state_vector)))
        elif isinstance(message, protocol.SyncStep2 | protocol.SyncUpdate):
            self.updates.append(message.update)
            self._apply(message.update)
        elif isinstance(message, protocol.AwarenessMessage):
            self.awareness.append(protocol.decode_awareness(message.payload))
        elif isinstance(message, protocol.AuthMessage):
            self.denied.append(message.reason)
        return message

    async def receive_until(self, predicate: Any, timeout: float = 3.0) -> protocol.Message:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError("expected message did not arrive")
            message = await self.receive_one(remaining)
            if message is None:
                raise AssertionError(f"socket closed with code {self.close_code}")
            if predicate(message):
                return message

    async def wait_text(self, expected: str, timeout: float = 3.0) -> None:
        if str(self.text) == expected:
            return
        await self.receive_until(lambda _: str(self.text) == expected, timeout)

    async def wait_closed(self, timeout: float = 3.0) -> int | None:
        deadline = asyncio.get_running_loop().time() + timeout
        while self.close_code is None:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError("socket was not closed")
            await self.receive_one(remaining)
        return self.close_code

    async def nothing_more(self, within: float = 0.2) -> bool:
        return await self.comm.receive_nothing(within)

    async def close(self) -> None:
        await self.comm.disconnect()
