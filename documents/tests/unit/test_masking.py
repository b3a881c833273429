"""Unmasking client frames (editor_project/server/masking.py): the same bytes as Autobahn's
own masker, for any key, length and split of the payload."""

from __future__ import annotations

import os
import random

import autobahn.websocket.protocol as autobahn_protocol
import pytest
from autobahn.websocket.xormasker import create_xor_masker as autobahns

from editor_project.server import masking


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 31, 127, 128, 1024, 1025, 70_000])
def test_the_same_bytes_as_autobahns_masker(length: int) -> None:
    rng = random.Random(length)
    for _ in range(20):
        key = rng.randbytes(4)
        payload = rng.randbytes(length)
        ours, theirs = masking.create_xor_masker(key, length), autobahns(key, length)
        # Pieces of any size: the pointer carries the key's phase from one to the next.
        cut = 0
        while cut < length:
            step = rng.randint(1, 9)
            assert ours.process(payload[cut : cut + step]) == theirs.process(
                payload[cut : cut + step]
            )
            cut += step
        assert ours.pointer() == theirs.pointer() == length


def test_masking_twice_gives_the_payload_back_and_reset_starts_over() -> None:
    key = os.urandom(4)
    masker = masking.XorMasker(key)
    masked = masker.process(b"hello, world")
    masker.reset()
    assert masker.pointer() == 0
    assert masker.process(masked) == b"hello, world"


def test_large_frames_keep_the_native_masker() -> None:
    masker = masking.create_xor_masker(b"abcd", masking.LARGE_FRAME_BYTES + 1)
    assert not isinstance(masker, masking.XorMasker)
    assert isinstance(masking.create_xor_masker(b"abcd", 100), masking.XorMasker)


def test_install_makes_autobahns_parser_use_it() -> None:
    """The frames of every live and browser test go through it on real Daphne."""
    masking.install()
    assert autobahn_protocol.create_xor_masker is masking.create_xor_masker
