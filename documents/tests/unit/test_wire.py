"""Frames written straight to Daphne's connections (documents/realtime/wire.py).

The live and browser tests run every frame through it on real Daphne; these
pin the framing to Autobahn's own and the cases where the ASGI path must be
taken instead.
"""

from __future__ import annotations

import asyncio
import socket
from collections import deque
from functools import partial
from typing import Any

import pytest
from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from daphne.server import Server
from twisted.internet import tcp

from documents.realtime.wire import Wire, binary_frame, send_now


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 300_000])
def test_framing_matches_autobahns_prepared_messages(length: int) -> None:
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    expected = PreparedMessage(payload, isBinary=True, applyMask=False, doNotCompress=True)
    assert binary_frame(payload) == expected.payloadHybi


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


class _Protocol:
    """The parts of Daphne's WebSocketProtocol a Wire reads."""

    def __init__(self, state: int = WebSocketProtocol.STATE_OPEN) -> None:
        self.state = state
        self.send_queue: deque[tuple[bytes, bool]] = deque()
        self.transport: Any = _Transport()
        self.queued: list[bytes] = []

    def sendData(self, data: bytes) -> None:
        self.queued.append(data)


def _server() -> Server:
    """A Daphne server as its `run` leaves it, without listening."""
    server = Server(application=None, endpoints=["tcp:port=0:interface=127.0.0.1"])
    server.connections = {}
    return server


def _wire(protocol: _Protocol, details: dict[str, Any] | None = None) -> Wire:
    server = _server()
    server.connections[protocol] = details if details is not None else {}
    wire = Wire.of(partial(server.handle_reply, protocol))
    assert wire is not None
    return wire


def test_only_daphnes_own_send_has_a_wire() -> None:
    async def send(message: dict[str, Any]) -> None: ...

    server = _server()
    assert Wire.of(send) is None
    assert Wire.of(partial(send, object())) is None
    assert Wire.of(partial(server.handle_reply)) is None
    assert Wire.of(partial(server.handle_reply, object())) is not None


async def test_an_open_connection_gets_the_framed_bytes_on_its_transport() -> None:
    protocol = _Protocol()
    frame = b"\x00\x02\x05hello"
    assert _wire(protocol).write(frame)
    assert protocol.transport.written == [binary_frame(frame)]


async def test_the_same_frame_for_many_connections_is_the_same_bytes() -> None:
    protocols = [_Protocol() for _ in range(3)]
    frame = b"\x00\x02" + b"x" * 200
    for protocol in protocols:
        assert _wire(protocol).write(frame)
    written = [protocol.transport.written[0] for protocol in protocols]
    assert written[0] == binary_frame(frame)
    assert written[1] is written[0] and written[2] is written[0]
    # An equal frame built anew is framed anew, not mistaken for the last one.
    other = bytes(frame[:-1]) + b"y"
    assert _wire(protocols[0]).write(other)
    assert protocols[0].transport.written[-1] == binary_frame(other)


async def test_only_the_first_frame_of_a_turn_is_sent_at_once_the_rest_together_after() -> None:
    wire, _protocol, transport, peer = _socket_wire()
    assert wire.write(b"one")
    assert wire.write(b"two")
    assert wire.write(b"three")
    assert _read(peer, 5) == binary_frame(b"one")
    # Held by the wire, not left to Twisted (which would ask the reactor for a
    # writable turn): nothing more has reached the socket or Twisted's buffer.
    assert transport._tempDataBuffer == []
    await asyncio.sleep(0)  # the loop's next turn
    assert _read(peer, 12) == binary_frame(b"two") + binary_frame(b"three")
    assert transport._tempDataBuffer == []
    assert wire.write(b"four")
    assert _read(peer, 6) == binary_frame(b"four")


async def test_held_frames_of_many_connections_leave_at_the_next_turn() -> None:
    pairs = [_pair() for _ in range(3)]
    wires = []
    for transport, _peer in pairs:
        protocol = _Protocol()
        protocol.transport = transport
        wires.append(_wire(protocol))
    for n in range(3):
        for wire in wires:
            assert wire.write(b"frame %d" % n)
    await asyncio.sleep(0)
    for _transport, peer in pairs:
        expected = b"".join(binary_frame(b"frame %d" % n) for n in range(3))
        assert _read(peer, len(expected)) == expected


async def test_a_flush_sends_what_is_held_before_anything_else() -> None:
    wire, _protocol, transport, peer = _socket_wire()
    assert wire.write(b"one") and wire.write(b"two")
    wire.flush()  # what a consumer does before it sends through ASGI
    transport.write(b"asgi")  # Autobahn's write of the consumer's frame
    assert _read(peer, 10) == binary_frame(b"one") + binary_frame(b"two")
    assert transport._tempDataBuffer == [b"asgi"]
    await asyncio.sleep(0)
    assert transport._tempDataBuffer == [b"asgi"]  # nothing sent twice


async def test_a_connection_closed_before_the_next_turn_drops_what_was_held() -> None:
    wire, protocol, transport, peer = _socket_wire()
    assert wire.write(b"one") and wire.write(b"two")
    assert _read(peer, 5) == binary_frame(b"one")
    protocol.state = WebSocketProtocol.STATE_CLOSING
    await asyncio.sleep(0)
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)
    assert transport._tempDataBuffer == []


def test_frames_held_on_a_loop_that_ended_do_not_stop_the_next_loop() -> None:
    """Tests run many event loops; a turn that was due on a closed one must not
    leave a later loop's frames held for good."""
    wire, _protocol, _transport, peer = _socket_wire()

    async def two_frames(first: bytes, second: bytes) -> None:
        assert wire.write(first) and wire.write(second)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(two_frames(b"a", b"b"))
    loop.close()  # its next turn never ran
    assert _read(peer, 3) == binary_frame(b"a")

    async def then() -> None:
        await two_frames(b"c", b"d")
        await asyncio.sleep(0)

    asyncio.run(then())
    assert _read(peer, 9) == binary_frame(b"b") + binary_frame(b"c") + binary_frame(b"d")


async def test_frames_queued_by_autobahn_stay_in_front() -> None:
    protocol = _Protocol()
    protocol.send_queue.append((b"earlier", False))
    assert _wire(protocol).write(b"later")
    assert protocol.transport.written == []
    assert protocol.queued == [binary_frame(b"later")]


async def test_a_connection_not_yet_open_takes_the_asgi_path() -> None:
    protocol = _Protocol(WebSocketProtocol.STATE_CONNECTING)
    assert not _wire(protocol).write(b"frame")
    assert protocol.transport.written == []


@pytest.mark.parametrize(
    ("state", "details"),
    [
        (WebSocketProtocol.STATE_CLOSING, {}),
        (WebSocketProtocol.STATE_CLOSED, {}),
        (WebSocketProtocol.STATE_OPEN, {"disconnected": 1.0}),
    ],
)
async def test_a_closing_or_gone_connection_drops_the_frame_as_daphne_does(
    state: int, details: dict[str, Any]
) -> None:
    protocol = _Protocol(state)
    assert _wire(protocol, details).write(b"frame")
    assert protocol.transport.written == [] and protocol.queued == []


class _Connection(tcp.Server):
    """A Twisted TCP connection on one end of a socket pair, as its reactor leaves it
    between turns; what it buffers is kept instead of waiting for a reactor."""

    def __init__(self, sock: socket.socket) -> None:  # no reactor, no protocol
        self.socket = sock
        self.connected = 1
        self.disconnecting = 0
        self._writeDisconnected = False
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataBuffer: list[bytes] = []
        self._tempDataLen = 0
        self.producer = None

    def startWriting(self) -> None:
        """Would ask the reactor for a writable turn; the buffer stays as it is."""


def _pair() -> tuple[_Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    return _Connection(ours), theirs


def _socket_wire() -> tuple[Wire, _Protocol, _Connection, socket.socket]:
    """A wire on a Twisted connection over a socket pair, and the peer's end."""
    transport, peer = _pair()
    protocol = _Protocol()
    protocol.transport = transport
    return _wire(protocol), protocol, transport, peer


def _read(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(5)
    data = b""
    while len(data) < size:
        data += sock.recv(size - len(data))
    return data


def test_with_nothing_buffered_the_bytes_go_onto_the_socket_at_once() -> None:
    transport, peer = _pair()
    send_now(transport, b"hello")
    assert _read(peer, 5) == b"hello"
    assert transport._tempDataLen == 0


def test_bytes_behind_buffered_ones_wait_in_twisteds_buffer() -> None:
    transport, peer = _pair()
    transport.write(b"first")  # buffered until the reactor's turn
    send_now(transport, b"second")
    assert transport._tempDataBuffer == [b"first", b"second"]
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(1)


def test_what_the_kernel_does_not_take_is_buffered_in_order() -> None:
    transport, peer = _pair()
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    big = bytes(range(256)) * 4096  # 1 MiB: more than the socket takes at once
    send_now(transport, big)
    assert 0 < transport._tempDataLen < len(big)
    sent = len(big) - transport._tempDataLen
    assert _read(peer, sent) == big[:sent]
    assert b"".join(transport._tempDataBuffer) == big[sent:]


def test_a_closing_connection_is_left_to_twisted() -> None:
    transport, _peer = _pair()
    transport.disconnecting = 1
    send_now(transport, b"late")
    assert transport._tempDataBuffer == [b"late"]
