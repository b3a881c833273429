"""The wire protocol, byte for byte against y-protocols and lib0 (run in Node)."""

from __future__ import annotations

import json
import subprocess
from functools import cache

import pytest

from devtools.paths import YCLIENTS
from documents.realtime import protocol
from documents.realtime.protocol import AwarenessEntry, ProtocolError


@cache
def reference() -> dict:
    """Sample messages encoded by the JavaScript reference implementation."""
    result = subprocess.run(
        ["node", "encode.mjs"], cwd=YCLIENTS, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("index", "value"), list(enumerate([0, 1, 127, 128, 300, 16384, 2**31, 2**53 - 1]))
)
def test_var_uint_matches_lib0(index, value):
    encoded = protocol.write_var_uint(value)
    assert encoded.hex() == reference()["varuints"][index]
    assert protocol.Reader(encoded).var_uint() == value


@pytest.mark.parametrize(("index", "text"), list(enumerate(["", "hello", "héllo wörld ✓", "🙂"])))
def test_var_string_matches_lib0(index, text):
    encoded = protocol.write_var_string(text)
    assert encoded.hex() == reference()["strings"][index]
    assert protocol.Reader(encoded).var_string() == text


def test_sync_messages_match_y_protocols():
    ref = reference()
    update = bytes.fromhex(ref["update"])
    state_vector = bytes.fromhex(ref["stateVector"])
    assert protocol.encode_sync_step1(state_vector).hex() == ref["step1"]
    assert protocol.encode_sync_step2(update).hex() == ref["step2"]
    assert protocol.encode_sync_update(update).hex() == ref["syncUpdate"]
    assert protocol.decode(bytes.fromhex(ref["step1"])) == protocol.SyncStep1(state_vector)
    assert protocol.decode(bytes.fromhex(ref["step2"])) == protocol.SyncStep2(update)
    assert protocol.decode(bytes.fromhex(ref["syncUpdate"])) == protocol.SyncUpdate(update)


def test_auth_and_query_messages_match_y_protocols():
    ref = reference()
    assert protocol.encode_permission_denied("read-only access").hex() == ref["permissionDenied"]
    assert protocol.encode_query_awareness().hex() == ref["queryAwareness"]
    assert protocol.decode(b"\x03") == protocol.QueryAwareness()
    assert protocol.decode(bytes.fromhex(ref["permissionDenied"])) == protocol.AuthMessage(
        "read-only access"
    )


def test_awareness_round_trips_byte_for_byte():
    ref = reference()
    payload = bytes.fromhex(ref["awarenessPayload"])
    entries = protocol.decode_awareness(payload)
    assert entries == [
        AwarenessEntry(
            42, ref["awarenessClock"], {"user": {"name": "Zoë", "color": "#123456"}, "cursor": None}
        )
    ]
    assert protocol.encode_awareness_entries(entries) == payload
    assert protocol.encode_awareness(payload).hex() == ref["awarenessFrame"]
    decoded = protocol.decode(bytes.fromhex(ref["awarenessFrame"]))
    assert decoded == protocol.AwarenessMessage(payload, [])
    # The entries read by the frame's check are the entries, parsed on demand.
    assert isinstance(decoded, protocol.AwarenessMessage)
    assert protocol.awareness_entries(decoded.entries) == entries


def test_awareness_removal_encodes_null():
    payload = protocol.encode_awareness_entries([AwarenessEntry(7, 3, None)])
    assert payload == b"\x01\x07\x03\x04null"
    assert protocol.decode_awareness(payload) == [AwarenessEntry(7, 3, None)]


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"", "truncated varuint"),
        (b"\x80", "truncated varuint"),
        (b"\xff" * 12, "varuint too long"),
        (b"\x09", "unknown message type 9"),
        (b"\x00\x07\x00", "unknown sync message type 7"),
        (b"\x00\x02\x05ab", "length runs past the end"),
        (b"\x00\x02\x01a\x00", "trailing bytes"),
        (b"\x01", "truncated varuint"),
        (b"\x02\x05\x00", "unknown auth message type 5"),
        (b"\x02\x00\x02\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_frames_raise_protocol_error(frame, problem):
    with pytest.raises(ProtocolError, match=problem):
        protocol.decode(frame)


@pytest.mark.parametrize(
    "payload",
    [b"\x01\x01\x01", b"\x01\x01\x01\x03{x}", b"\x02\x01\x01\x04null", b"\x01\x01\x01\x04null\x00"],
)
def test_malformed_awareness_raises_protocol_error(payload):
    with pytest.raises(ProtocolError):
        protocol.decode_awareness(payload)


def test_var_uint_rejects_out_of_range_values():
    with pytest.raises(ValueError):
        protocol.write_var_uint(-1)
    with pytest.raises(ValueError):
        protocol.write_var_uint(2**53)


def test_entries_ruled_out_are_not_decoded_and_the_rest_are():
    """Old news (a stock client echoing states it was sent) costs no decode; a new state
    that is not UTF-8 is still refused."""
    bad = b"\x81\x81"  # not UTF-8
    payload = b"\x02" + b"\x07\x01" + protocol.write_var_bytes(bad) + b"\x08\x01\x02{}"
    raw = protocol.check_awareness(payload)
    assert raw == [(7, 1, bad), (8, 1, b"{}")]
    kept = protocol.awareness_entries(raw, lambda client_id, clock, removal: client_id == 8)
    assert kept == [AwarenessEntry(8, 1, {})]
    with pytest.raises(protocol.ProtocolError, match="UTF-8"):
        protocol.awareness_entries(raw, lambda client_id, clock, removal: client_id == 7)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31, 2**53 - 1])
def test_one_byte_and_longer_varuints_read_alike(value):
    reader = protocol.Reader(protocol.write_var_uint(value) + b"\x05")
    assert reader.var_uint() == value
    assert reader.var_uint() == 5
    reader.done()
