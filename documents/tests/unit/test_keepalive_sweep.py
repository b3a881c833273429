"""The keepalive sweep (editor_project/server/keepalive.py): who is pinged, who is dropped.

documents/tests/live/test_keepalive.py and test_presence_live.py run it on real
Daphne against real clients; these pin its rules one case at a time.
"""

from __future__ import annotations

from typing import Any

import pytest
from autobahn.websocket.protocol import WebSocketProtocol

from editor_project.server.keepalive import (
    PING_INTERVAL_SECONDS,
    PONG_TIMEOUT_SECONDS,
    KeepaliveProtocol,
    sweep,
)


class Socket(KeepaliveProtocol):
    """A KeepaliveProtocol that records what the sweep does to it instead of sending."""

    def __init__(self, heard_at: float, state: int = WebSocketProtocol.STATE_OPEN) -> None:
        self.heard_at = heard_at
        self.state = state
        self.pinged: list[float] = []
        self.dropped = False

    def sendPing(self, payload: Any = None) -> None:
        self.pinged.append(self.heard_at)

    def onAutoPingTimeout(self) -> None:
        self.dropped = True


def test_a_socket_heard_from_recently_is_not_pinged() -> None:
    typing = Socket(heard_at=100.0)
    sweep([typing], now=100.0 + PING_INTERVAL_SECONDS / 2)
    assert typing.pinged == [] and typing.ping_sent_at is None


def test_a_silent_socket_is_pinged_once_until_it_answers() -> None:
    idle = Socket(heard_at=100.0)
    now = 100.0 + PING_INTERVAL_SECONDS
    sweep([idle], now)
    sweep([idle], now + 0.1)
    assert len(idle.pinged) == 1 and idle.ping_sent_at == now
    idle.heard_at = now + 0.2  # its pong
    sweep([idle], now + 0.3)
    assert idle.ping_sent_at is None and not idle.dropped
    sweep([idle], idle.heard_at + PING_INTERVAL_SECONDS)
    assert len(idle.pinged) == 2  # the next one, an interval after the pong


def test_a_socket_silent_past_the_pong_timeout_is_dropped() -> None:
    gone = Socket(heard_at=100.0)
    pinged_at = 100.0 + PING_INTERVAL_SECONDS
    sweep([gone], pinged_at)
    sweep([gone], pinged_at + PONG_TIMEOUT_SECONDS * 0.9)
    assert not gone.dropped
    sweep([gone], pinged_at + PONG_TIMEOUT_SECONDS)
    assert gone.dropped


@pytest.mark.parametrize(
    "state",
    [
        WebSocketProtocol.STATE_CONNECTING,
        WebSocketProtocol.STATE_CLOSING,
        WebSocketProtocol.STATE_CLOSED,
    ],
)
def test_sockets_not_open_are_left_to_autobahn_and_daphne(state: int) -> None:
    closing = Socket(heard_at=0.0, state=state)
    sweep([closing, object()], now=1_000.0)
    assert closing.pinged == [] and not closing.dropped


def test_the_ping_written_directly_is_autobahns_own_ping_frame() -> None:
    from editor_project.server.keepalive import PING_FRAME

    class Framing(WebSocketProtocol):
        def __init__(self) -> None:
            self.sent: list[bytes] = []
            self.state = WebSocketProtocol.STATE_OPEN
            self.websocket_version = 13
            self.factory = type("Factory", (), {"isServer": True})()
            self.maskServerFrames = False
            self.logFrames = False

        def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
            self.sent.append(data)

    framing = Framing()
    framing.sendPing()
    assert framing.sent == [PING_FRAME]
