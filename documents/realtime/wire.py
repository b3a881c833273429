"""A frame written straight onto a socket's connection, framed once for all its readers.

Each frame sent through ASGI passes Channels' session wrapper, the outage
guard, Daphne's `handle_reply` and Autobahn's framing, per socket. A room
sends the same update to every editor, and an unmasked server frame is the
same bytes for each of them, so under Daphne the room's frames are framed
once and written to each connection's transport, as the Node servers do: in
profiles of one document with 100 editors that chain was 40% of the server's
time. Frames stay in order with those sent through ASGI: both write to the
transport synchronously, in the order they are issued.

Written how? Twisted buffers every write until the reactor's next turn: it
registers the socket for writing, sends, and unregisters it, two epoll calls,
a selector update and a trip through its asyncio bridge per connection and
turn; with 1,000 editors that was a fifth of the server's time. So the first
frame a connection gets in a turn of the event loop is sent on the socket at
once, as Node's servers do (when nothing waits in Twisted's buffer; whatever
the kernel does not take goes there behind it). Frames that follow in the
same turn (a group commit delivering many updates at once) are held by the
wire and sent together at the start of the next turn, one system call for
all of them, without asking the reactor for a writable turn. Anything a
consumer sends through ASGI first flushes what its wire holds, so the two
paths stay in order.

Daphne hands each application `partial(Server.handle_reply, protocol)` as its
send; `WireMiddleware` finds the connection there and puts a `Wire` into the
scope. Under anything else (the test communicator, another ASGI server) there
is none, and frames take the ASGI path.
"""

from __future__ import annotations

import asyncio
import struct
from functools import partial
from typing import Any

from autobahn.websocket.protocol import WebSocketProtocol
from daphne.server import Server
from twisted.internet import tcp

SCOPE_KEY = "collab.wire"
_OPEN = WebSocketProtocol.STATE_OPEN
_CONNECTING = WebSocketProtocol.STATE_CONNECTING


def binary_frame(payload: bytes) -> bytes:
    """RFC 6455 framing of one unfragmented, unmasked binary message."""
    length = len(payload)
    if length <= 125:
        return bytes((0x82, length)) + payload
    if length <= 0xFFFF:
        return struct.pack("!BBH", 0x82, 126, length) + payload
    return struct.pack("!BBQ", 0x82, 127, length) + payload


class _LastFrame:
    """The framing of the frame written last: a room writes one frame to each editor in turn."""

    __slots__ = ("framed", "payload")

    def __init__(self) -> None:
        self.payload = b""
        self.framed = binary_frame(b"")

    def of(self, payload: bytes) -> bytes:
        # Identity, not equality: comparing would cost as much as framing, and
        # the reference held here keeps the id from being reused.
        if payload is not self.payload:
            self.payload = payload
            self.framed = binary_frame(payload)
        return self.framed


_last = _LastFrame()


class _Turns:
    """Counts the turns of the event loop in which frames were sent directly, and
    sends what wires held back in one at the start of the next."""

    __slots__ = ("_held", "_loop", "number")

    def __init__(self) -> None:
        self.number = 0
        self._loop: asyncio.AbstractEventLoop | None = None  # where the next turn is due
        self._held: list[Wire] = []

    def current(self) -> int:
        """This turn's number; the count moves on when the loop next runs its callbacks."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            loop.call_soon(self._next)
            self._loop = loop
        return self.number

    def hold(self, wire: Wire) -> None:
        """`wire` holds frames for the start of the next turn."""
        self.current()
        self._held.append(wire)

    def _next(self) -> None:
        self.number += 1
        self._loop = None
        held, self._held = self._held, []
        for wire in held:
            wire.flush()


_turns = _Turns()


class Wire:
    """One Daphne WebSocket connection, written to directly."""

    __slots__ = ("_connections", "_held", "_protocol", "_turn")

    def __init__(self, connections: dict[Any, dict[str, Any]], protocol: Any) -> None:
        self._connections = connections
        self._protocol = protocol
        self._turn = -1  # the last turn a frame was sent on the socket directly
        self._held: list[bytes] | None = None  # for the start of the next turn

    @classmethod
    def of(cls, send: Any) -> Wire | None:
        """The connection behind Daphne's ASGI send; None for any other send."""
        if not isinstance(send, partial) or len(send.args) != 1:
            return None
        server = getattr(send.func, "__self__", None)
        if not isinstance(server, Server) or send.func.__name__ != "handle_reply":
            return None
        return cls(server.connections, send.args[0])

    def write(self, payload: bytes) -> bool:
        """Send `payload` as a binary message; False: not open yet, send it through ASGI."""
        protocol = self._protocol
        details = self._connections.get(protocol)
        if details is None or details.get("disconnected"):
            return True  # gone: Daphne's own send drops it too
        state = protocol.state
        if state != _OPEN:
            return state != _CONNECTING  # closing: Autobahn would drop it
        data = _last.of(payload)
        held = self._held
        if held is not None:
            held.append(data)
        elif protocol.send_queue:
            protocol.sendData(data)  # behind what Autobahn has queued
        elif self._turn == _turns.number:
            self._held = [data]
            _turns.hold(self)
        else:
            self._turn = _turns.current()
            send_now(protocol.transport, data)
        return True

    def flush(self) -> None:
        """Send what this wire holds now: before a frame through ASGI, or at a new turn."""
        held, self._held = self._held, None
        if not held:
            return
        protocol = self._protocol
        details = self._connections.get(protocol)
        if details is None or details.get("disconnected") or protocol.state != _OPEN:
            return  # closed meanwhile: Autobahn drops what is sent after the close
        data = held[0] if len(held) == 1 else b"".join(held)
        if protocol.send_queue:
            protocol.sendData(data)
        else:
            send_now(protocol.transport, data)


def send_now(transport: Any, data: bytes) -> None:
    """Send on the socket now if Twisted holds nothing for it; the rest through Twisted."""
    if (
        isinstance(transport, tcp.Connection)
        and transport.connected
        and not transport.disconnecting
        and not getattr(transport, "_writeDisconnected", True)
        and not getattr(transport, "_tempDataLen", 1)
        and transport.offset == len(transport.dataBuffer)
    ):
        try:
            sent = transport.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = 0  # Twisted's own write meets the error and closes the connection
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)


class WireMiddleware:
    """Outermost WebSocket middleware: give the consumer its connection's `Wire`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        wire = Wire.of(send)
        if wire is not None:
            scope = {**scope, SCOPE_KEY: wire}
        return await self.app(scope, receive, send)
