"""The y-websocket wire protocol: pure encode and decode, no Django, no I/O.

A frame is a lib0 varuint message type followed by its body:

    0 sync       0 step 1 <state vector> | 1 step 2 <update> | 2 update <update>
    1 awareness  <awareness update>
    2 auth       0 permission denied <reason>
    3 query awareness

Byte arrays and strings are a varuint length followed by the bytes (strings are
UTF-8). Decoding is strict: a truncated varuint, a length that runs past the
frame, trailing bytes or an unknown type raise `ProtocolError`, because a frame
we half-understand is a frame we must not act on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # lib0 varuints are JavaScript numbers


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


AUTH_PERMISSION_DENIED = 0


class ProtocolError(ValueError):
    """A frame that does not follow the protocol."""


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class AuthMessage:
    reason: str


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | QueryAwareness | AuthMessage


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's awareness state; `state` is None when the client has left."""

    client_id: int
    clock: int
    state: Any


# -- primitives ---------------------------------------------------------------


def write_var_uint(value: int) -> bytes:
    """lib0 `writeVarUint`: 7 bits per byte, least significant first."""
    if value < 0 or value > MAX_SAFE_INTEGER:
        raise ValueError(f"varuint out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def write_var_bytes(data: bytes) -> bytes:
    """lib0 `writeVarUint8Array`."""
    return write_var_uint(len(data)) + data


def write_var_string(text: str) -> bytes:
    """lib0 `writeVarString`: the UTF-8 byte length, then the bytes."""
    return write_var_bytes(text.encode("utf-8"))


class Reader:
    """A cursor over one frame that refuses to read past its end."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        data, pos, end = self.data, self.pos, len(self.data)
        value = 0
        shift = 0
        while True:
            if pos >= end:
                raise ProtocolError("truncated varuint")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 53:
                raise ProtocolError("varuint too long")
        if value > MAX_SAFE_INTEGER:
            raise ProtocolError("varuint too large")
        self.pos = pos
        return value

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        start = self.pos
        stop = start + length
        if stop > len(self.data):
            raise ProtocolError("length runs past the end of the frame")
        self.pos = stop
        return self.data[start:stop]

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not UTF-8") from None

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("trailing bytes after the message")


# -- frames -------------------------------------------------------------------


def decode(frame: bytes) -> Message:
    """Decode one client frame into a message, or raise ProtocolError."""
    reader = Reader(frame)
    kind = reader.var_uint()
    message: Message
    if kind == MessageType.SYNC:
        sync_kind = reader.var_uint()
        body = reader.var_bytes()
        if sync_kind == SyncType.STEP1:
            message = SyncStep1(body)
        elif sync_kind == SyncType.STEP2:
            message = SyncStep2(body)
        elif sync_kind == SyncType.UPDATE:
            message = SyncUpdate(body)
        else:
            raise ProtocolError(f"unknown sync message type {sync_kind}")
    elif kind == MessageType.AWARENESS:
        message = AwarenessMessage(reader.var_bytes())
    elif kind == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif kind == MessageType.AUTH:
        auth_kind = reader.var_uint()
        if auth_kind != AUTH_PERMISSION_DENIED:
            raise ProtocolError(f"unknown auth message type {auth_kind}")
        message = AuthMessage(reader.var_string())
    else:
        raise ProtocolError(f"unknown message type {kind}")
    reader.done()
    return message


def encode_sync_step1(state_vector: bytes) -> bytes:
    return b"\x00\x00" + write_var_bytes(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return b"\x00\x01" + write_var_bytes(update)


def encode_sync_update(update: bytes) -> bytes:
    return b"\x00\x02" + write_var_bytes(update)


def encode_awareness(payload: bytes) -> bytes:
    return b"\x01" + write_var_bytes(payload)


def encode_query_awareness() -> bytes:
    return b"\x03"


def encode_permission_denied(reason: str) -> bytes:
    return b"\x02\x00" + write_var_string(reason)


# -- awareness updates --------------------------------------------------------


def decode_awareness(
    payload: bytes, is_news: Callable[[int, int, bool], bool] | None = None
) -> list[AwarenessEntry]:
    """y-protocols `applyAwarenessUpdate`'s input: count, then (id, clock, JSON).

    `is_news(client_id, clock, is_removal)` may rule entries out before their
    JSON is parsed: stock clients re-send every state they receive, so most
    entries a server sees are old news.
    """
    reader = Reader(payload)
    count = reader.var_uint()
    entries = []
    for _ in range(count):
        client_id = reader.var_uint()
        clock = reader.var_uint()
        raw = reader.var_string()
        if is_news is not None and not is_news(client_id, clock, raw == "null"):
            continue
        try:
            state = json.loads(raw)
        except ValueError:
            raise ProtocolError("awareness state is not JSON") from None
        entries.append(AwarenessEntry(client_id, clock, state))
    reader.done()
    return entries


def encode_awareness_entries(entries: list[AwarenessEntry]) -> bytes:
    """y-protocols `encodeAwarenessUpdate` for the given states."""
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        parts.append(write_var_uint(entry.client_id))
        parts.append(write_var_uint(entry.clock))
        parts.append(
            write_var_string(json.dumps(entry.state, separators=(",", ":"), ensure_ascii=False))
        )
    return b"".join(parts)
