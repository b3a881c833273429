"""What a frame may claim before pycrdt sees it, byte for byte.

pycrdt reserves memory for as many entries as a header claims (measured: a
6-byte state vector claiming 2^27 clients cost 256 MB; an update header
claiming 2^26 clients 128 MB), so those claims are refused here, cheaply.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from pycrdt import Doc, Text

from documents.realtime import protocol
from documents.realtime.protocol import (
    MAX_AWARENESS_CLOCK,
    MAX_SAFE_INTEGER,
    AwarenessEntry,
    Limits,
    ProtocolError,
)
from documents.storage import store

varint = protocol.write_var_uint


def sync(kind: int, body: bytes) -> bytes:
    return b"\x00" + varint(kind) + protocol.write_var_bytes(body)


def awareness(*entries: tuple[int, int, bytes]) -> bytes:
    payload = varint(len(entries)) + b"".join(
        varint(c) + varint(k) + protocol.write_var_bytes(raw) for c, k, raw in entries
    )
    return protocol.encode_awareness(payload)


def real_doc() -> Doc:
    doc: Doc = Doc()
    text = doc.get("text", type=Text)
    text += "hello"
    del text[0:2]
    return doc


# -- state vectors ------------------------------------------------------------


def test_a_state_vector_claiming_2_27_clients_in_6_bytes_is_refused():
    hostile = varint(2**27) + b"\x01\x01"  # 4-byte count, then one real pair
    assert hostile == bytes.fromhex("8080804001 01".replace(" ", ""))
    assert len(hostile) == 6
    with pytest.raises(ProtocolError, match="claims 134217728 entries; the frame holds at most 1"):
        protocol.decode(sync(0, hostile))


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b"\x00", True),  # an empty document's
        (b"\x01\x05\x03", True),  # one (client, clock) pair in two bytes
        (b"\x02\x05\x03", False),  # two pairs claimed, room for one
        (b"\x02\x05\x03\x06\x04", True),
        (b"", False),  # no count at all
    ],
)
def test_state_vector_count_against_the_bytes(body, ok):
    if ok:
        assert protocol.decode(sync(0, body)) == protocol.SyncStep1(body)
    else:
        with pytest.raises(ProtocolError):
            protocol.decode(sync(0, body))


def test_state_vector_ceiling_is_a_limit_too():
    body = varint(3) + b"\x01\x01" * 3
    protocol.check_state_vector(body, 3)
    with pytest.raises(ProtocolError, match="at most 2 are accepted"):
        protocol.check_state_vector(body, 2)
    with pytest.raises(ProtocolError):
        protocol.decode(sync(0, body), Limits(max_clients=2))


def test_real_state_vectors_pass():
    doc = real_doc()
    assert protocol.decode(sync(0, doc.get_state())) == protocol.SyncStep1(doc.get_state())
    many: Doc = Doc()
    for client in range(1, 300):
        other: Doc = Doc(client_id=client)
        other.get("text", type=Text).insert(0, "x")
        many.apply_update(other.get_update())
    assert protocol.decode(sync(0, many.get_state()))


# -- update headers -----------------------------------------------------------


def test_an_update_claiming_2_26_client_groups_is_refused():
    hostile = varint(2**26) + b"\x00" * 6
    assert len(hostile) == 10
    for kind in (1, 2):
        with pytest.raises(ProtocolError, match="update claims 67108864 entries"):
            protocol.decode(sync(kind, hostile))


def test_a_delete_only_update_claiming_2_26_clients_is_refused():
    hostile = b"\x00" + varint(2**26) + b"\x00\x00"
    with pytest.raises(ProtocolError, match="update delete set claims 67108864"):
        protocol.decode(sync(2, hostile))


def test_update_group_ceiling():
    with pytest.raises(ProtocolError, match="at most 1 are accepted"):
        protocol.check_update_header(b"\x02" + b"\x00" * 10, 1)


def test_real_updates_pass_and_garbage_within_bounds_is_left_to_pycrdt():
    doc = real_doc()
    full = doc.get_update()
    deletes_only = doc.get_update(doc.get_state())
    for update in (full, deletes_only, store.EMPTY_UPDATE):
        assert protocol.decode(sync(2, update)) == protocol.SyncUpdate(update)
        assert protocol.decode(sync(1, update)) == protocol.SyncStep2(update)
    # Five groups in ten bytes cannot be real, but cost nothing: pycrdt says 4422.
    protocol.check_update_header(b"\x05\xff\xff\x00garbage", 100)


# -- the cost of checking -----------------------------------------------------


@pytest.mark.parametrize(
    "frame",
    [
        sync(0, varint(2**27) + b"\x01\x01"),
        sync(2, varint(2**26) + b"\x00" * 6),
        sync(0, varint(MAX_SAFE_INTEGER)),
        protocol.encode_awareness(varint(2**40) + b"\x01\x01\x02{}"),
    ],
)
def test_refusing_a_hostile_claim_allocates_next_to_nothing(frame):
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError):
            protocol.decode(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024, peak


def test_checking_a_real_state_vector_is_cheap():
    body = varint(50_000) + b"\x81\x01\x01" * 50_000  # 150 kB, as a long-lived document's
    tracemalloc.start()
    try:
        protocol.check_state_vector(body, 100_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024, peak  # reads the count; the pairs are pycrdt's, bounded by bytes


# -- awareness ----------------------------------------------------------------


def test_awareness_count_against_the_bytes():
    payload = varint(2**30) + b"\x01\x01\x02{}"
    with pytest.raises(ProtocolError, match="awareness update claims 1073741824"):
        protocol.decode(protocol.encode_awareness(payload))
    with pytest.raises(ProtocolError, match="at most 1 are accepted"):
        protocol.decode(awareness((1, 1, b"{}"), (2, 1, b"{}")), Limits(max_awareness_entries=1))


def test_an_awareness_clock_that_could_never_be_followed_is_refused():
    # 2^53 - 1 cannot be followed by its removal at clock + 1: the caret would stay.
    for clock in (MAX_SAFE_INTEGER, MAX_AWARENESS_CLOCK + 1):
        frame = awareness((7, clock, b'{"a":1}'))
        with pytest.raises(ProtocolError, match="awareness clock"):
            protocol.decode(frame)
    frame = awareness((7, MAX_AWARENESS_CLOCK, b'{"a":1}'))
    assert protocol.decode(frame)
    assert MAX_SAFE_INTEGER - MAX_AWARENESS_CLOCK == 2**20


def test_an_oversized_awareness_state_is_refused():
    big = json.dumps({"x": "a" * 40_000}).encode()
    with pytest.raises(ProtocolError, match="too large"):
        protocol.decode(awareness((7, 1, big)))
    assert protocol.decode(awareness((7, 1, big)), Limits(max_awareness_state_bytes=50_000))


def test_a_truncated_awareness_state_is_refused():
    payload = b"\x01\x07\x01\x09{}"
    with pytest.raises(ProtocolError, match="past the end"):
        protocol.decode(protocol.encode_awareness(payload))


def test_a_lone_surrogate_is_replaced_and_reencodes():
    raw = '{"user":{"name":"half \\ud83d"},"pair":"\\ud83d\\ude00"}'
    [entry] = protocol.decode_awareness(b"\x01\x07\x01" + protocol.write_var_string(raw))
    assert entry.state == {"user": {"name": "half \ufffd"}, "pair": "\U0001f600"}
    payload = protocol.encode_awareness_entries([entry])
    assert payload == b"\x01\x07\x01" + protocol.write_var_string(
        '{"user":{"name":"half \ufffd"},"pair":"\U0001f600"}'
    )


def test_encoding_for_others_never_raises():
    # States that slipped past decoding (or came from elsewhere) still encode.
    lone = AwarenessEntry(1, 2, {"n": "\ud800"})
    nan = AwarenessEntry(2, 2, {"n": float("nan")})
    fine = AwarenessEntry(3, 2, {"n": "ok"})
    too_big = AwarenessEntry(4, 2**53, {"n": "ok"})
    payload = protocol.encode_awareness_entries([lone, nan, fine, too_big])
    assert payload == b"\x02\x01\x02\x0e" + b'{"n":"\\ud800"}' + b"\x03\x02\x0a" + b'{"n":"ok"}'
    entries = protocol.decode_awareness(payload)
    assert [e.client_id for e in entries] == [1, 3]
    assert protocol.encode_awareness_entries(entries)  # and again, from what came back


@pytest.mark.parametrize(
    "raw", ["NaN", '{"a":Infinity}', '{"a":-Infinity}', '{"a":1e999}', "[" * 3000 + "]" * 3000]
)
def test_awareness_json_javascript_cannot_read_is_refused(raw):
    with pytest.raises(ProtocolError, match="not JSON"):
        protocol.decode_awareness(b"\x01\x07\x01" + protocol.write_var_string(raw))
