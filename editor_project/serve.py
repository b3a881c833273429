"""Start Daphne with the WebSocket limits and keepalives this app relies on.

python -m editor_project.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "editor_project.settings")
    import django

    django.setup()
    from daphne.cli import CommandLineInterface

    from documents import conf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # Daphne itself refuses frames past the limit (close code 1009) before
    # buffering them, so a huge frame never reaches memory. An idle socket is
    # pinged every second and closed when the pong is 2 s late: that is how a
    # vanished network (no FIN, no close frame) is noticed, and its caret
    # removed, in seconds rather than after a TCP timeout.
    CommandLineInterface().run(
        [
            "--bind",
            args.host,
            "--port",
            str(args.port),
            "--websocket-max-message-size",
            str(conf.get("MAX_FRAME_BYTES") + 1024),
            "--ping-interval",
            "1",
            "--ping-timeout",
            "2",
            "--application-close-timeout",
            "5",
            "editor_project.asgi:application",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
