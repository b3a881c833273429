"""Unmasking of the frames clients send, without a native object per frame.

Every frame a client sends is masked with a key of its own (RFC 6455, 5.3),
and Autobahn makes a masker for each. Its native one (NVX, through cffi)
allocates a C object and two buffers per frame and copies the payload twice:
10 µs for a keystroke's few dozen bytes, 4% of the server's time with 1,000
editors. The XOR of the payload and the repeated key as two integers is one
pass in C: 2.5 µs at that size. Past LARGE_FRAME_BYTES the native masker's SIMD
loop is the faster one, and keeps them.
"""

from __future__ import annotations

from typing import Any

import autobahn.websocket.protocol
from autobahn.websocket.xormasker import create_xor_masker as _native

LARGE_FRAME_BYTES = 1024


class XorMasker:
    """Autobahn's masker interface (`process`, `pointer`, `reset`) for one frame's key."""

    __slots__ = ("_key", "_pointer")

    def __init__(self, key: bytes) -> None:
        self._key = bytes(key)
        self._pointer = 0

    def pointer(self) -> int:
        return self._pointer

    def reset(self) -> None:
        self._pointer = 0

    def process(self, data: bytes) -> bytes:
        """(Un)mask the next `len(data)` bytes of the frame's payload."""
        length = len(data)
        shift = self._pointer & 3  # a frame can arrive in pieces of any length
        key = self._key[shift:] + self._key[:shift] if shift else self._key
        self._pointer += length
        stream = (key * ((length >> 2) + 1))[:length]
        masked = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
        return masked.to_bytes(length, "little")


def create_xor_masker(mask: bytes, length: int | None = None) -> Any:
    """Autobahn's factory: ours for the usual small frame, the native one for a large one."""
    if length is not None and length > LARGE_FRAME_BYTES:
        return _native(mask, length)
    return XorMasker(mask)


def install() -> None:
    """Make Autobahn's protocol take its maskers from here (idempotent)."""
    autobahn.websocket.protocol.create_xor_masker = create_xor_masker  # type: ignore[assignment]
