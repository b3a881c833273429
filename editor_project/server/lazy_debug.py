"""Autobahn's debug lines, formatted only when debug logging is on.

Autobahn computes the arguments of its debug lines whether or not they are
kept: at every new connection it pretty-printed its whole configuration (about
1 ms of the event loop per socket, a tenth of what a class opening one
document at once cost), and at every read from a socket it built the coloured
name of its own method (1.3% of the server's time with 1,000 editors).
"""

from __future__ import annotations

import pprint
from typing import Any

import autobahn.twisted.websocket
import autobahn.util
import autobahn.websocket.protocol

_hltype = autobahn.util.hltype


class _Deferred:
    """Stands for a formatted `value` until a log line is actually written."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def text(self) -> str:
        raise NotImplementedError

    def __format__(self, spec: str) -> str:
        return format(self.text(), spec)

    def __str__(self) -> str:
        return self.text()


class _Pformat(_Deferred):
    __slots__ = ()

    def text(self) -> str:
        return pprint.pformat(self.value)


class _Hltype(_Deferred):
    __slots__ = ()

    def text(self) -> str:
        return str(_hltype(self.value))


def install() -> None:
    """Swap Autobahn's formatters for the deferred ones (idempotent)."""
    protocol = autobahn.websocket.protocol
    # Its other users are debug lines too, but for Timings, which must give a str.
    protocol.pformat = _Pformat  # type: ignore[assignment]
    protocol.Timings.__str__ = lambda self: pprint.pformat(self._timings)  # type: ignore[method-assign]
    # Only the modules' own names: autobahn.util.hltype itself stays as it is.
    protocol.hltype = _Hltype  # type: ignore[assignment]
    autobahn.twisted.websocket.hltype = _Hltype  # type: ignore[assignment,attr-defined]
