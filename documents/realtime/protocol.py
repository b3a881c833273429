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

Decoding also bounds what a frame may cost before pycrdt sees it. pycrdt
reserves memory for as many entries as a header claims: six bytes claiming
2^27 clients in a state vector cost it 256 MB. So every count is checked
against what the frame's remaining bytes could hold, and against a ceiling
(`Limits`), and awareness entries are checked for what would break their
re-encoding for others (see `check_awareness`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1  # lib0 varuints are JavaScript numbers

# Above this an awareness clock is refused. A stock client adds one per change
# from 0 (at 1,000 changes a second it would take 285,000 years to get here),
# and the server adds a few of its own (a departure's tombstone, re-stamps), so
# the headroom keeps every clock the server writes encodable.
MAX_AWARENESS_CLOCK = MAX_SAFE_INTEGER - 2**20


@dataclass(frozen=True, slots=True)
class Limits:
    """Ceilings on what one frame may claim, beyond what its bytes can hold.

    Documents gain a client id per editing session, and a stock client's state
    vector lists all of them, so the client ceilings are generous: they stop
    absurd claims, while the byte bound stops cheap ones.
    """

    max_clients: int = 100_000  # state vector entries, update client groups, delete-set clients
    max_awareness_entries: int = 10_000  # far above the connections a document allows
    max_awareness_state_bytes: int = 32 * 1024  # one state's JSON; a caret is ~200 bytes


DEFAULT_LIMITS = Limits()


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


# An awareness entry as the frame holds it: client id, clock, the state's JSON (not yet decoded).
RawAwarenessEntry = tuple[int, int, bytes]


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    payload: bytes
    # Read once, by `decode`'s check: stock clients echo every state they are
    # sent, so most frames are entries the server already has, and reading
    # each frame a second time to find that out was half of its cost.
    entries: list[RawAwarenessEntry] = field(compare=False)


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class AuthMessage:
    reason: str


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | QueryAwareness | AuthMessage


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's awareness state; `state` is None when the client has left.

    `encoded`: the state as `encode_state` writes it, when already known. A
    held state is written once, not once per frame: a newcomer's greeting
    holds everyone's, and 100 editors opening a document at once made that
    10,000 JSON encodings.
    """

    client_id: int
    clock: int
    state: Any
    encoded: bytes | None = field(default=None, compare=False, repr=False)


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
        # Most varuints in a frame (types, lengths, clocks) are one byte.
        data, pos = self.data, self.pos
        if pos < len(data) and (byte := data[pos]) < 0x80:
            self.pos = pos + 1
            return byte
        return self._long_var_uint()

    def _long_var_uint(self) -> int:
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

    def skip(self, length: int) -> None:
        if self.pos + length > len(self.data):
            raise ProtocolError("length runs past the end of the frame")
        self.pos += length

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not UTF-8") from None

    def done(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolError("trailing bytes after the message")


# -- frames -------------------------------------------------------------------


def decode(frame: bytes, limits: Limits = DEFAULT_LIMITS) -> Message:
    """Decode one client frame into a message, or raise ProtocolError.

    Sync bodies and awareness payloads are checked against `limits` too, so a
    message returned from here is safe to hand to pycrdt and to the presence.
    """
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
        payload = reader.var_bytes()
        reader.done()  # the framing first, then what the body claims
        return AwarenessMessage(payload, check_awareness(payload, limits))
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
    # The framing first, then what the body claims: a half-read frame has no body to judge.
    if isinstance(message, SyncStep1):
        check_state_vector(message.state_vector, limits.max_clients)
    elif isinstance(message, SyncStep2 | SyncUpdate):
        check_update_header(message.update, limits.max_clients)
    return message


# -- bounds -------------------------------------------------------------------


def _check_count(reader: Reader, what: str, min_entry_bytes: int, ceiling: int) -> int:
    """Read a count whose entries follow; refuse one the rest of the frame cannot hold."""
    count = reader.var_uint()
    room = (len(reader.data) - reader.pos) // min_entry_bytes
    if count > room:
        raise ProtocolError(f"{what} claims {count} entries; the frame holds at most {room}")
    if count > ceiling:
        raise ProtocolError(f"{what} claims {count} entries; at most {ceiling} are accepted")
    return count


def check_state_vector(state_vector: bytes, max_clients: int) -> None:
    """A sync step 1 body: a count, then (client, clock) varuint pairs.

    Only the count is read: it is what pycrdt sizes its map by, and once it is
    within the bytes, the rest costs pycrdt no more than the frame's size.
    Each pair takes at least two bytes.
    """
    _check_count(Reader(state_vector), "state vector", 2, max_clients)


def check_update_header(update: bytes, max_clients: int) -> None:
    """A v1 update's first count: its client struct groups.

    pycrdt sizes a map by it (2^26 claimed in a few bytes cost 128 MB). The
    bound is kept loose on purpose, one byte per group where a real one takes
    three: it is there to cap the cost, and pycrdt's own decoding still judges
    a malformed update (4422, not 4400). The delete set's client count (a
    client and a range count, two bytes at least) can only be reached without
    decoding every struct when there are no groups, as in an update that only
    deletes; pycrdt was measured not to reserve memory by that count, nor by
    a group's struct count, so neither needs the struct walk it would take.
    """
    reader = Reader(update)
    if _check_count(reader, "update", 1, max_clients) == 0:
        _check_count(reader, "update delete set", 2, max_clients)


def check_awareness(payload: bytes, limits: Limits = DEFAULT_LIMITS) -> list[RawAwarenessEntry]:
    """An awareness update's structure, before any JSON is parsed; returns its entries.

    Entries are (client, clock, JSON string), three bytes at least. A clock
    past MAX_AWARENESS_CLOCK is refused rather than clamped: clamping would
    leave the server and the state's owner disagreeing about the clock, and
    no stock client gets anywhere near it. A state of absurd size is refused
    too: it would be relayed to, and re-sent by, every editor.
    """
    return _read_awareness(payload, limits)


def _read_awareness(payload: bytes, limits: Limits | None) -> list[RawAwarenessEntry]:
    reader = Reader(payload)
    if limits is None:
        count = reader.var_uint()
    else:
        count = _check_count(reader, "awareness update", 3, limits.max_awareness_entries)
    var_uint = reader.var_uint
    entries = []
    for _ in range(count):
        client_id = var_uint()
        clock = var_uint()
        length = var_uint()
        if limits is not None:
            if clock > MAX_AWARENESS_CLOCK:
                raise ProtocolError(f"awareness clock {clock} is too large")
            if length > limits.max_awareness_state_bytes:
                raise ProtocolError(f"awareness state of {length} bytes is too large")
        start = reader.pos
        reader.skip(length)
        entries.append((client_id, clock, payload[start : reader.pos]))
    reader.done()
    return entries


# -- encoding -----------------------------------------------------------------


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
    """y-protocols `applyAwarenessUpdate`'s input: count, then (id, clock, JSON)."""
    return awareness_entries(_read_awareness(payload, None), is_news)


def awareness_entries(
    raw: list[RawAwarenessEntry], is_news: Callable[[int, int, bool], bool] | None = None
) -> list[AwarenessEntry]:
    """The entries with their states parsed.

    `is_news(client_id, clock, is_removal)` may rule entries out before their
    JSON is decoded: stock clients re-send every state they receive, so most
    entries a server sees are old news.
    """
    entries = []
    for client_id, clock, state in raw:
        if is_news is not None and not is_news(client_id, clock, state == b"null"):
            continue
        try:
            text = state.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not UTF-8") from None
        entries.append(AwarenessEntry(client_id, clock, parse_state(text)))
    return entries


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(f"awareness state holds {name}, which is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        _refuse_constant(text)  # 1e999: Python reads infinity, and writes it back as Infinity
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_state(raw: str) -> Any:
    """One awareness state's JSON, as something that re-encodes for every client.

    Python accepts NaN and Infinity, which JavaScript's JSON.parse does not:
    refused, or every newcomer's greeting would fail in the browser. A lone
    surrogate escape (a name cut in half mid-emoji) parses into a string that
    cannot be written as UTF-8: replaced with U+FFFD rather than refused,
    because well-formed JSON.stringify emits it for such strings and a 4400
    would lock that editor out for good.
    """
    try:
        state = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)
        if "\\u" in raw and _SURROGATE_ESCAPE.search(raw):
            state = _without_lone_surrogates(state)
    except (ValueError, RecursionError):
        raise ProtocolError("awareness state is not JSON") from None
    return state


def _fix_text(text: str) -> str:
    # json.loads joins escaped surrogate pairs, so any surrogate left is lone.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    return text


def _without_lone_surrogates(value: Any) -> Any:
    """A copy of a parsed JSON value whose strings are all valid UTF-8."""
    if isinstance(value, str):
        return _fix_text(value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_fix_text(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def encode_state(state: Any) -> bytes | None:
    """One state as lib0 writes it, or None when it cannot be written at all.

    Never raises: one client's odd state must not stop everyone else's
    greeting. A lone surrogate is written as its JSON escape, which
    JavaScript reads back as the same string.
    """
    try:
        text = json.dumps(state, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        try:
            return write_var_string(text)
        except UnicodeEncodeError:
            return write_var_string(json.dumps(state, separators=(",", ":"), allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return None


def encode_awareness_entries(entries: list[AwarenessEntry]) -> bytes:
    """y-protocols `encodeAwarenessUpdate` for the given states.

    An entry whose state or clock cannot be written is left out rather than
    raising (see `encode_state`).
    """
    parts = []
    for entry in entries:
        if not 0 <= entry.clock <= MAX_SAFE_INTEGER or not 0 <= entry.client_id <= MAX_SAFE_INTEGER:
            continue
        state = entry.encoded if entry.encoded is not None else encode_state(entry.state)
        if state is None:
            continue
        parts.append(write_var_uint(entry.client_id) + write_var_uint(entry.clock) + state)
    return write_var_uint(len(parts)) + b"".join(parts)
