"""Start Daphne with the WebSocket limits and keepalives this app relies on.

python -m editor_project.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server

# A vanished network (no FIN, no close frame) is noticed when a ping goes
# unanswered: every socket is pinged PING_INTERVAL_SECONDS after its last pong
# and dropped when the next pong is PONG_TIMEOUT_SECONDS late, so its caret is
# gone within about 1.5 s instead of after a TCP timeout. Pongs are tiny
# control frames; a second covers a slow mobile link, and a provider that is
# dropped by mistake reconnects and resyncs by itself.
PING_INTERVAL_SECONDS = 0.5
PONG_TIMEOUT_SECONDS = 1  # whole seconds: Daphne passes it to Autobahn


class KeepaliveServer(Server):
    """Daphne with Autobahn's own per-socket keepalive switched on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ready = kwargs.pop("ready_callable", None)

        def on_ready() -> None:
            # The factory exists once run() starts and before the reactor
            # accepts a connection.
            self.ws_factory.setProtocolOptions(autoPingInterval=PING_INTERVAL_SECONDS)
            if ready is not None:
                ready()

        super().__init__(*args, ready_callable=on_ready, **kwargs)


class KeepaliveCommandLine(CommandLineInterface):
    server_class = KeepaliveServer


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "editor_project.settings")
    import django

    django.setup()
    from documents import conf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # Daphne itself refuses frames past the limit (close code 1009) before
    # buffering them, so a huge frame never reaches memory.
    KeepaliveCommandLine().run(
        [
            "--bind",
            args.host,
            "--port",
            str(args.port),
            "--websocket-max-message-size",
            str(conf.get("MAX_FRAME_BYTES") + 1024),
            # Daphne's own pinger only wakes every 2 s; Autobahn's does the
            # pinging (see KeepaliveServer), Daphne's is kept out of its way.
            "--ping-interval",
            "86400",
            "--ping-timeout",
            str(PONG_TIMEOUT_SECONDS),
            "--websocket_timeout",
            "-1",
            "--application-close-timeout",
            "5",
            "editor_project.asgi:application",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
