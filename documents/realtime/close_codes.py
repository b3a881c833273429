"""WebSocket close codes the server uses, each with the reason sent alongside."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    UNSUPPORTED_DATA = 1003  # a text frame: the protocol is binary
    SERVER_ERROR = 1011  # the document could not be loaded; try again later
    ACCESS_CHANGED = 4100  # your role changed: reconnect to continue under the new one
    BAD_FRAME = 4400  # the frame does not follow the y-websocket protocol
    NOT_AUTHENTICATED = 4401  # log in first
    FORBIDDEN = 4403  # no access to this document (or access was removed)
    NOT_FOUND = 4404  # no such document
    ROOM_FULL = 4409  # too many connections to this document
    TOO_LARGE = 4413  # frame or document over its size limit
    INVALID_UPDATE = 4422  # pycrdt rejected the update
    RATE_LIMITED = 4429  # too many updates or awareness messages per second


# Refusals after which reconnecting cannot help.
FINAL = {CloseCode.NOT_AUTHENTICATED, CloseCode.FORBIDDEN, CloseCode.NOT_FOUND}
