"""Reading a v1 update's clock ranges without pycrdt, and what a shadow stores of it."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, get_state, merge_updates

from documents.realtime.acceptance import Acceptance
from documents.storage.update_clocks import clocks, shape


def edits(doc: Doc[Any], *steps: tuple[str, int, str]) -> list[bytes]:
    """Apply ("insert", index, text) / ("delete", index, length) steps, one update each."""
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    text = doc.get("text", type=Text)
    for op, index, arg in steps:
        if op == "insert":
            text.insert(index, arg)
        else:
            del text[index : index + int(arg)]
    doc.unobserve(subscription)
    return updates


def test_shape_reads_each_clients_struct_range_and_the_delete_set():
    doc: Doc[Any] = Doc(client_id=7)
    first, second, removal = edits(
        doc, ("insert", 0, "héllo 👋"), ("insert", 0, "ab"), ("delete", 0, "1")
    )

    one = shape(first)
    # Clocks count UTF-16 code units: the emoji takes two.
    assert one.starts == {7: 0} and one.ends == {7: 8} and not one.deletes
    assert shape(second).starts == {7: 8} and shape(second).ends == {7: 10}
    gone = shape(removal)
    assert gone.starts == {} and gone.ends == {} and gone.deletes

    merged = shape(merge_updates(first, second))
    assert merged.starts == {7: 0} and merged.ends == {7: 10}


def test_shape_compares_with_a_state_vector():
    doc: Doc[Any] = Doc(client_id=3)
    first, second = edits(doc, ("insert", 0, "abc"), ("insert", 3, "def"))
    have_first = clocks(get_state(first))
    assert have_first == {3: 3}
    assert not shape(second).overlaps(have_first)
    assert shape(merge_updates(first, second)).overlaps(have_first)
    # Applied alone, the second update waits for the first: set aside.
    assert shape(second).sets_aside({})
    assert not shape(second).sets_aside(clocks(get_state(merge_updates(first, second))))


def test_where_each_client_ends_agrees_with_pycrdt_for_every_kind_of_content():
    """Random edits of text (UTF-16 lengths: accents, CJK, emoji), marks, maps, arrays and
    XML from several clients: the clocks read without pycrdt are the ones it reads."""
    rng = random.Random(11)
    docs: list[Doc[Any]] = [Doc(client_id=n + 1) for n in range(3)]
    updates: list[bytes] = []
    for doc in docs:
        doc.observe(lambda event: updates.append(event.update))
    for _ in range(600):
        doc = rng.choice(docs)
        text = doc.get("text", type=Text)
        roll = rng.random()
        if roll < 0.5:
            text.insert(rng.randint(0, len(text)), rng.choice(["a", "é", "中", "👋", "x👋y"]))
        elif roll < 0.6 and len(text):
            text.format(0, 1, {"bold": True})
        elif roll < 0.7:
            doc.get("meta", type=Map)[rng.choice("ab")] = rng.choice([1, 2.5, "s", None, [1]])
        elif roll < 0.8:
            doc.get("list", type=Array).append(rng.choice([1, "x"]))
        elif roll < 0.9:
            fragment = doc.get("default", type=XmlFragment)
            fragment.children.append(XmlElement("paragraph", {"k": "v"}, [XmlText("hi 👋")]))
        else:
            other = rng.choice(docs)
            other.apply_update(doc.get_update(other.get_state()))
    # pycrdt states an update as a Doc would hold it alone, so compare updates
    # that start at every client's beginning: the history so far, merged.
    wholes = [merge_updates(*updates[:n]) for n in range(1, len(updates) + 1, 25)]
    for update in [*wholes, *(doc.get_update() for doc in docs)]:
        read = shape(update)
        assert read.ends == clocks(get_state(update)), update.hex()
        assert read.plain


@pytest.mark.parametrize("garbage", [b"", b"\x01", b"\x01\x01\x07\x00\x04", b"\x00"])
def test_a_truncated_update_cannot_be_read(garbage: bytes):
    with pytest.raises((ValueError, IndexError)):
        shape(garbage)


class _Conn:
    user_id = 1


def acceptance_over(content: bytes) -> Acceptance:
    return Acceptance(document_id=None, committed_content=lambda: content, submit=lambda *_: None)  # type: ignore[arg-type]


def test_a_keystroke_is_stored_as_it_came_and_a_repeat_not_at_all():
    doc: Doc[Any] = Doc()
    base, keystroke = edits(doc, ("insert", 0, "hello"), ("insert", 5, "!"))
    acceptance = acceptance_over(base)
    assert acceptance.accept(_Conn(), keystroke) == keystroke  # type: ignore[arg-type]
    acceptance.pending(keystroke)
    assert acceptance.accept(_Conn(), keystroke) is None  # type: ignore[arg-type]


def test_a_catch_up_step2_stores_only_what_the_document_lacks():
    doc: Doc[Any] = Doc()
    base, _ = edits(doc, ("insert", 0, "hello"), ("insert", 5, " world"))
    acceptance = acceptance_over(base)
    step2 = doc.get_update()  # everything the client has, most of it known
    change = acceptance.accept(_Conn(), step2, exact=True)  # type: ignore[arg-type]
    assert change is not None and len(change) < len(step2)
    replay: Doc[Any] = Doc()
    replay.apply_update(base)
    replay.apply_update(change)
    assert str(replay.get("text", type=Text)) == "hello world"
    # An overlapping update is cut down even when not marked as a catch-up.
    again = acceptance_over(base)
    assert again.accept(_Conn(), step2) == change  # type: ignore[arg-type]


def test_a_keystroke_right_after_what_the_doc_has_integrates_without_reading_the_doc():
    alice: Doc[Any] = Doc(client_id=1)
    (base,) = edits(alice, ("insert", 0, "hello"))
    bob: Doc[Any] = Doc(client_id=2)
    bob.apply_update(base)
    (reply,) = edits(bob, ("insert", 5, "!"))  # refers to Alice's "o"
    have = clocks(get_state(base))

    keystroke = shape(reply)
    assert keystroke.needs[1] == 5
    assert keystroke.integrates(have)
    keystroke.advance(have)
    doc: Doc[Any] = Doc()
    doc.apply_update(base)
    doc.apply_update(reply)
    assert have == clocks(doc.get_state())


def test_what_cannot_be_told_without_the_doc_is_not_claimed():
    alice: Doc[Any] = Doc(client_id=1)
    first, second = edits(alice, ("insert", 0, "ab"), ("insert", 2, "cd"))
    bob: Doc[Any] = Doc(client_id=2)
    bob.apply_update(first)
    (reply,) = edits(bob, ("insert", 1, "x"))
    # Refers to an item of Alice's the Doc lacks.
    assert not shape(reply).integrates({})
    # Starts past what the Doc has of its own client: a gap.
    assert not shape(second).integrates({})
    # Two clients' structs in one update.
    assert not shape(merge_updates(first, reply)).integrates(clocks(get_state(first)))


def test_a_reference_to_a_later_item_of_the_same_client_is_not_taken_as_there():
    alice: Doc[Any] = Doc(client_id=1)
    _, keystroke = edits(alice, ("insert", 0, "abc"), ("insert", 3, "d"))
    # structs: 1 client, 1 struct, client 1 at clock 3, info 0x84, left origin (1, 2), "d"
    assert keystroke == bytes([1, 1, 1, 3, 0x84, 1, 2, 1, ord("d"), 0])
    assert shape(keystroke).integrates({1: 3})
    forward = bytes([1, 1, 1, 3, 0x84, 1, 9, 1, ord("d"), 0])  # its left origin: (1, 9)
    assert not shape(forward).integrates({1: 3})


def test_an_update_a_javascript_client_could_not_read_is_not_plain():
    alice: Doc[Any] = Doc(client_id=1)
    _, keystroke = edits(alice, ("insert", 0, "abc"), ("insert", 3, "d"))
    assert shape(keystroke).plain
    # The delete set: one client, one range at a clock past 2**53 (lib0 in JavaScript throws).
    huge = [0xFF] * 7 + [0x7F]
    far_delete = keystroke[:-1] + bytes([1, 1, 1, *huge, 1])
    assert shape(far_delete).deletes and not shape(far_delete).plain
