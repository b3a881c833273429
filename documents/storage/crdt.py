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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pycrdt import Doc

EMPTY_UPDATE = b"\x00\x00"


def is_crdt_failure(exc: BaseException) -> bool:
    """True for pycrdt's errors and panics; False for cancellation, exit, Ctrl+C."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def describe(exc: BaseException) -> str:
    """A one-line description of a failure, for a close reason or a log line."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@contextmanager
def failures_as(error: Callable[[str], BaseException]) -> Iterator[None]:
    """Raise `error(description)` for a pycrdt failure inside the block."""
    try:
        yield
    except BaseException as exc:
        if not is_crdt_failure(exc):
            raise
        raise error(describe(exc)) from exc


@contextmanager
def failures_logged(logger: logging.Logger, message: str, *args: Any) -> Iterator[None]:
    """Log a pycrdt failure inside the block with its traceback, and carry on after it."""
    try:
        yield
    except BaseException as exc:
        if not is_crdt_failure(exc):
            raise
        logger.exception(message, *args)


def doc_from_update(update: bytes) -> Doc[Any]:
    """A new Doc holding `update` (the empty update makes an empty Doc)."""
    doc: Doc[Any] = Doc()
    if update and update != EMPTY_UPDATE:
        doc.apply_update(update)
    return doc
