"""Frames written straight to Daphne's connections (documents/realtime/wire.py).

The live and browser tests run every frame through it on real Daphne; these
pin the framing to Autobahn's own and the cases where the ASGI path must be
taken instead.
"""

from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any

import pytest
from autobahn.websocket.protocol import PreparedMessage, WebSocketProtocol
from daphne.server import Server

from documents.realtime.wire import Wire, binary_frame


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
        self.transport = _Transport()
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


def test_an_open_connection_gets_the_framed_bytes_on_its_transport() -> None:
    protocol = _Protocol()
    frame = b"\x00\x02\x05hello"
    assert _wire(protocol).write(frame)
    assert protocol.transport.written == [binary_frame(frame)]


def test_the_same_frame_for_many_connections_is_the_same_bytes() -> None:
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


def test_frames_queued_by_autobahn_stay_in_front() -> None:
    protocol = _Protocol()
    protocol.send_queue.append((b"earlier", False))
    assert _wire(protocol).write(b"later")
    assert protocol.transport.written == []
    assert protocol.queued == [binary_frame(b"later")]


def test_a_connection_not_yet_open_takes_the_asgi_path() -> None:
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
def test_a_closing_or_gone_connection_drops_the_frame_as_daphne_does(
    state: int, details: dict[str, Any]
) -> None:
    protocol = _Protocol(state)
    assert _wire(protocol, details).write(b"frame")
    assert protocol.transport.written == [] and protocol.queued == []
