"""WebSocket close codes the server uses, each with the reason sent alongside.

Two outside rules decide the numbers. Autobahn (under Daphne) sends only 1000
and 3000-4999 from an application: any other code raises instead of closing.
The stock y-websocket provider (3.x) gives up for good on 4400-4499 and
reconnects on anything else. So a refusal that reconnecting cannot cure lives
in 4400-4499, one that may pass (a limit, a database that is away) in
4500-4599, and the client's own copy of its edits is what a retry sends again.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    ACCESS_CHANGED = 4100  # your role changed: reconnect to continue under the new one
    BAD_FRAME = 4400  # the frame does not follow the y-websocket protocol
    NOT_AUTHENTICATED = 4401  # log in first
    FORBIDDEN = 4403  # access was removed while connected (a stranger gets NOT_FOUND)
    NOT_FOUND = 4404  # no such document, deleted, or not one this user may open
    TOO_LARGE = 4413  # frame or document over its size limit
    UNSUPPORTED_DATA = 4415  # a text frame: the protocol is binary
    INVALID_UPDATE = 4422  # pycrdt rejected the update
    SERVER_ERROR = 4500  # could not load the document or save updates right now: reconnect
    ROOM_FULL = 4509  # too many connections to this document for now
    TOO_MANY_CONNECTIONS = 4510  # this user has too many sockets open: close some, reconnect
    OUT_OF_SYNC = 4520  # an update built on content the server lacks: reconnect to resync
    RATE_LIMITED = 4529  # too many updates or awareness messages per second: slow down, reconnect


def is_final(code: int) -> bool:
    """Whether a stock y-websocket client stops reconnecting after `code`."""
    return 4400 <= code < 4500


# Refusals after which reconnecting cannot help: the client should stop.
FINAL = frozenset(code for code in CloseCode if is_final(code))

# Refusals that may pass: the client reconnects (with backoff) and re-sends
# what the server has not stored, in the sync exchange on reconnect.
RETRY = frozenset(code for code in CloseCode if 4500 <= code < 4600)
