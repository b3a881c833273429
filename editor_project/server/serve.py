"""Start Daphne with the WebSocket limits and keepalives this app relies on.

python -m editor_project.server.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from editor_project.server import lazy_debug, masking
from editor_project.server.keepalive import KeepaliveCommandLine

# Twisted listens with a backlog of 50: a class opening one document at once
# overflowed it, and the refused handshakes came back a second later, when
# their SYN was retried. The kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024


def endpoint(host: str, port: int) -> str:
    """The Twisted endpoint Daphne listens on (colons in an IPv6 address escaped)."""
    interface = host.replace(":", "\\:")
    return f"tcp:port={port}:interface={interface}:backlog={LISTEN_BACKLOG}"


# Collect the youngest generation every 10,000 net allocations, not 700. With 1,000
# editors, the objects that live a few milliseconds (an update's frames, futures
# and callbacks) survived a collection made every few milliseconds and were
# promoted, and each time the promoted grew past a quarter of the heap a full
# collection walked all of it (145,000 objects: 60-140 ms with the event loop
# stopped, four or five times in 25 s). At 10,000: one full collection in the
# same 25 s, a young one 3-5 ms, and half the collector's time.
YOUNG_COLLECTION_THRESHOLD = 10_000


def _tune_garbage_collection() -> None:
    """Keep the objects loaded at start-up out of every garbage collection, and
    collect the young ones less often.

    Django, Twisted and the app are a few hundred thousand objects that live
    as long as the process. A full collection walked them all, stopping the
    event loop and every edit in flight for 30-110 ms (measured under load);
    frozen, the same collection takes a third of that.
    """
    import editor_project.asgi  # noqa: F401  (Daphne imports it again, from the cache)

    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, oldest)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "editor_project.settings")
    import django

    django.setup()
    from documents import conf

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    sweep_every = float(conf.get("COMMENT_MAIL_SWEEP_SECONDS"))
    if sweep_every > 0:
        from documents.comments.sweeper import MailSweeper

        # The tails of batched comment mails go out with no operator; a
        # daemon thread, gone with the process (the next sweep, anywhere,
        # picks up what it had not sent).
        MailSweeper(interval=sweep_every).start()
    lazy_debug.install()
    masking.install()
    _tune_garbage_collection()
    # Daphne itself refuses frames past the limit (close code 1009) before
    # buffering them, so a huge frame never reaches memory.
    KeepaliveCommandLine().run(
        [
            "--endpoint",
            endpoint(args.host, args.port),
            "--websocket-max-message-size",
            str(conf.get("MAX_FRAME_BYTES") + 1024),
            # Daphne's own pinger (a 2 s checker) stays out of the way of the
            # precise one in editor_project.server.keepalive.
            "--ping-interval",
            "86400",
            "--websocket_timeout",
            "-1",
            "--application-close-timeout",
            "5",
            "editor_project.asgi:application",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
