"""What a failure inside pycrdt looks like, and the two ways the app contains one.

Bad input makes pycrdt raise ValueError and friends. A panic in its Rust core
(a decoder bug meeting a crafted update) surfaces as pyo3's PanicException,
which derives from BaseException so that `except Exception` lets it through: a
frame could then take down a room's delivery task instead of closing one
socket. Code that hands pycrdt bytes from outside runs inside `failures_as`
(turn the failure into the caller's error) or `failures_logged` (log it and
carry on); both let cancellation, exit and Ctrl+C through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from pycrdt import Doc

EMPTY_UPDATE = b"\x00\x00"


def is_crdt_failure(exc: BaseException) -> bool:
    """True for pycrdt's errors and panics; False for cancellation, exit, Ctrl+C."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def describe(exc: BaseException) -> str:
    """A one-line description of a failure, for a close reason or a log line."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class _FailuresAs:
    # Classes, not @contextmanager generators: they wrap every keystroke's
    # apply, and a generator costs several times as much to enter and leave.
    __slots__ = ("_error",)

    def __init__(self, error: Callable[[str], BaseException]) -> None:
        self._error = error

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> Literal[False]:
        if exc is None or not is_crdt_failure(exc):
            return False
        raise self._error(describe(exc)) from exc


class _FailuresLogged:
    __slots__ = ("_args", "_logger", "_message")

    def __init__(self, logger: logging.Logger, message: str, args: tuple[Any, ...]) -> None:
        self._logger, self._message, self._args = logger, message, args

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, traceback: Any) -> bool:
        if exc is None or not is_crdt_failure(exc):
            return False
        self._logger.error(self._message, *self._args, exc_info=exc)
        return True


def failures_as(error: Callable[[str], BaseException]) -> _FailuresAs:
    """Raise `error(description)` for a pycrdt failure inside the block."""
    return _FailuresAs(error)


def failures_logged(logger: logging.Logger, message: str, *args: Any) -> _FailuresLogged:
    """Log a pycrdt failure inside the block with its traceback, and carry on after it."""
    return _FailuresLogged(logger, message, args)


def doc_from_update(update: bytes) -> Doc[Any]:
    """A new Doc holding `update` (the empty update makes an empty Doc)."""
    doc: Doc[Any] = Doc()
    if update and update != EMPTY_UPDATE:
        doc.apply_update(update)
    return doc
