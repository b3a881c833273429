"""Autobahn's per-connection debug dump, formatted only when debug logging is on.

Autobahn pretty-prints its whole configuration for a debug line at every new
connection, whether or not debug lines are kept: about 1 ms of the event loop
per socket, a tenth of what a class opening one document at once cost.
"""

from __future__ import annotations

import pprint
from typing import Any

import autobahn.websocket.protocol


class _Deferred:
    """Stands for `pprint.pformat(value)` until a log line is actually written."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return format(pprint.pformat(self.value), spec)

    def __str__(self) -> str:
        return pprint.pformat(self.value)


def install() -> None:
    """Swap the module's pformat for the deferred one (idempotent)."""
    module = autobahn.websocket.protocol
    # Its other users are debug lines too, but for Timings, which must give a str.
    module.pformat = _Deferred  # type: ignore[assignment]
    module.Timings.__str__ = lambda self: pprint.pformat(self._timings)  # type: ignore[method-assign]
