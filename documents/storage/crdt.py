"""What a failure inside pycrdt looks like.

Bad input makes pycrdt raise ValueError and friends. A panic in its Rust core
(a decoder bug meeting a crafted update) surfaces as pyo3's PanicException,
which derives from BaseException so that `except Exception` lets it through: a
frame could then take down a room's delivery task instead of closing one
socket. Code that hands pycrdt bytes from outside catches BaseException and
asks `is_crdt_failure` whether it is one of these.
"""

from __future__ import annotations


def is_crdt_failure(exc: BaseException) -> bool:
    """True for pycrdt's errors and panics; False for cancellation, exit, Ctrl+C."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"
