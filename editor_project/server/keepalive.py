"""Daphne with a keepalive that notices a vanished network in about a second.

A socket whose network is gone (a laptop lid shut, Wi-Fi lost: no FIN, no close
frame) stays open to the server until a ping goes unanswered, and until then
its caret lingers on everyone's screen. Daphne pings from a checker that wakes
every 2 s, so detection took 2-4 s. Here Autobahn pings each socket
PING_INTERVAL_SECONDS after its last pong and drops it when a pong is
PONG_TIMEOUT_SECONDS late: 1.0-1.5 s. Pongs are tiny control frames answered by
the browser's network stack, not by page scripts; a second covers a slow link,
and a provider dropped by mistake reconnects and resyncs by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from twisted.internet import error

PING_INTERVAL_SECONDS = 0.5
PONG_TIMEOUT_SECONDS = 1.0


class _Call:
    def __init__(self, delayed: Any) -> None:
        self._delayed = delayed

    def cancel(self) -> None:
        # Autobahn may cancel a timer that has just fired.
        with contextlib.suppress(error.AlreadyCalled, error.AlreadyCancelled):
            self._delayed.cancel()


class ReactorTimer:
    """Autobahn's timer interface on plain reactor calls.

    Autobahn schedules its timeouts on a batched timer that rounds every
    deadline down to a whole second: a 0.5 s ping interval came out as 0 s (a
    ping-pong loop that doubled the server's CPU) and a 1 s pong timeout as
    anything from 0 to 1 s (dropping healthy sockets).
    """

    def call_later(self, delay: float, func: Callable[..., Any], *args: Any, **kw: Any) -> _Call:
        # Imported here: importing the reactor installs one, and Daphne must
        # have installed its asyncio reactor first.
        from twisted.internet import reactor

        clock: Any = reactor  # zope interfaces confuse mypy's view of callLater
        return _Call(clock.callLater(delay, func, *args, **kw))


class KeepaliveServer(Server):  # type: ignore[misc]
    """Daphne with Autobahn's per-socket keepalive on precise timers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ready = kwargs.pop("ready_callable", None)

        def on_ready() -> None:
            # run() has built the factory; the reactor has not accepted a
            # connection yet.
            factory = self.ws_factory
            factory._batched_timer = ReactorTimer()
            factory.setProtocolOptions(
                autoPingInterval=PING_INTERVAL_SECONDS,
                autoPingTimeout=PONG_TIMEOUT_SECONDS,
                # A late pong is what counts, whatever data arrived meanwhile;
                # re-arming the timers on every frame costs per message.
                autoPingRestartOnAnyTraffic=False,
            )
            if ready is not None:
                ready()

        super().__init__(*args, ready_callable=on_ready, **kwargs)


class KeepaliveCommandLine(CommandLineInterface):  # type: ignore[misc]
    """`daphne`'s command line, serving with KeepaliveServer."""

    server_class = KeepaliveServer
