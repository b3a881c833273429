"""Where a keystroke's server time goes: py-spy samples sorted into the stages of its path.

Each sample (a stack, leaf last) is given to the first stage, in the order
below, that one of its frames names; what names none is "other". The order
matters where stages nest: the room's apply of a committed update runs inside
its delivery loop, and a frame's decode inside the consumer's receive.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

# (stage, substrings of a frame "func (path:line)"), tried in order.
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("commit (writer thread: SQL, psycopg)", ("store.py", "writer.py:")),
    ("other database work (reader threads)", ("threads.py",)),
    ("validate (decode the update)", ("validate_update",)),
    ("accept (apply to the shadow)", ("Acceptance.",)),
    ("apply committed update to the room's doc", ("Room._apply", "TextMirror", "TitleMirror")),
    ("awareness (parse, rules, relay)", ("presence/", "AwarenessRelay")),
    ("fan-out (frame out to each editor)", ("Room._deliver", "wire.py", "send_frame")),
    ("other processes (channel layer, heartbeats)", ("peers.py", "channels_redis", "layer.py")),
    ("frame in: decode and dispatch", ("consumer.py", "protocol.py", "rate_limit.py")),
    ("frame in: Daphne, Autobahn, Twisted", ("ws_protocol.py", "autobahn", "twisted")),
    ("connects, pages and HTTP", ("django/core/handlers", "channels/auth", "sessions.py")),
    ("event loop", ("asyncio",)),
]


def stage_of(frames: list[str]) -> str:
    """The stage of one sample; `frames` leaf last."""
    for stage, needles in STAGES:
        for frame in frames:
            if any(needle in frame for needle in needles):
                return stage
    return "other"


def stage_shares(samples: Iterable[tuple[list[str], int]]) -> list[tuple[str, float]]:
    """(stage, % of samples), busiest first."""
    counts: collections.Counter[str] = collections.Counter()
    for frames, n in samples:
        counts[stage_of(frames)] += n
    total = sum(counts.values()) or 1
    return [(stage, 100 * n / total) for stage, n in counts.most_common()]
