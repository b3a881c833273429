"""How many events sockets (/ws/events/) each user holds open on this server process.

A page holds one, so MAX_EVENTS_SOCKETS_PER_USER is a generous number of tabs;
past it a new socket is refused with TOO_MANY_CONNECTIONS (4510), a code the
stock client and ours retry with backoff, so closing a tab lets the next try in
and a loop opening tabs cannot pile up sockets, group memberships and reader
trips on the server.

Counted per process, like the Yjs sockets' per-user caps
(realtime/registry.py): a process that is killed takes its count with it, and
nothing is left to expire. Counting across processes would need a lease in
Redis renewed by every process and dropped when one stops renewing (as presence
is), which is more than this cap is worth: behind a load balancer a user's
sockets spread over N processes, so the cap a user meets is N times this one at
most, and each process still holds at most this many of theirs.

One count per event loop (as the room registry), so each test's loop starts
from nothing.
"""

from __future__ import annotations

from collections import Counter

from documents.per_loop import PerLoop


class EventsSockets:
    """The events sockets open per user on one event loop."""

    def __init__(self) -> None:
        self.open: Counter[int] = Counter()

    def take(self, user_id: int, limit: int) -> bool:
        """Count one more socket of `user_id`, unless they have `limit` open already."""
        if self.open[user_id] >= limit:
            return False
        self.open[user_id] += 1
        return True

    def release(self, user_id: int) -> None:
        """A counted socket closed."""
        self.open[user_id] -= 1
        if self.open[user_id] <= 0:
            del self.open[user_id]


_counts = PerLoop(EventsSockets)


def events_sockets() -> EventsSockets:
    """This event loop's count."""
    return _counts.get()
