"""The server's keepalive against a real Daphne: steady pings, no ping storm."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest
import websockets
from websockets.frames import Opcode

pytestmark = pytest.mark.django_db(transaction=True)


class FrameLog(logging.Handler):
    """Frames a websockets client received, from its debug log."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.pings: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg != "< %s" or not isinstance(record.args, tuple):
            return
        if getattr(record.args[0], "opcode", None) is Opcode.PING:
            self.pings.append(time.monotonic())


async def test_an_idle_socket_is_pinged_twice_a_second_and_stays_open(
    daphne_server, cookies, document
):
    frames = FrameLog()
    logger = logging.getLogger("keepalive-probe")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(frames)
    ws = await websockets.connect(
        f"{daphne_server.ws_url}/ws/documents/{document.id}",
        additional_headers={"Cookie": cookies["editor"]},
        origin=daphne_server.url,
        logger=logger,
    )
    try:
        started = time.monotonic()
        # Idle for 3 s while the client answers pings; drain the greeting.
        while time.monotonic() - started < 3:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.2)
        pings = [t - started for t in frames.pings]
        # One ping 0.5 s after each pong: about six in 3 s. A timer that
        # rounds 0.5 s down to nothing pings thousands of times instead.
        assert 4 <= len(pings) <= 8, pings
        assert ws.state is websockets.protocol.State.OPEN
    finally:
        await ws.close()
        logger.removeHandler(frames)
