"""Comment anchors read on the server, and the notes' markers they place in exports.

Anchors are built as the browser builds them (frontend/src/comments/anchors.js):
the start attached to the first commented character (assoc 0), the end to the
last one (assoc -1), both encoded as Y.encodeRelativePosition does. The
characters' ids come from the state vector around their insertion, not from
the code under test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents import export
from documents.comments.anchors import (
    Anchors,
    RelativePosition,
    decode_position,
    encode_position,
    utf16_length,
)
from documents.export.html import note_ref_html
from documents.storage.update_clocks import clocks

ID = tuple[int, int]


@dataclass
class Writer:
    """One editor's Doc, with the ids of every character it typed."""

    doc: Doc
    ids: dict[str, list[ID]]

    @classmethod
    def new(cls, client_id: int = 1) -> Writer:
        return cls(Doc(client_id=client_id), {})

    @property
    def body(self) -> XmlFragment:
        return self.doc.get("default", type=XmlFragment)

    def paragraph(self, text: str = "", tag: str = "paragraph") -> XmlText:
        element = self.body.children.append(XmlElement(tag))
        node = element.children.append(XmlText())
        if text:
            self.type(node, 0, text)
        return node

    def type(self, node: XmlText, index: int, text: str, marks: dict | None = None) -> list[ID]:
        """Insert `text` at `index` (code points); its characters' ids (one per UTF-16 unit)."""
        before = clocks(self.doc.get_state()).get(self.doc.client_id, 0)
        node.insert(index, text)
        ids = [(self.doc.client_id, before + i) for i in range(utf16_length(text))]
        if marks:
            # Formatting writes items of its own around the text: after its ids are known.
            node.format(index, index + len(text), marks)
        self.ids[text] = ids
        return ids

    def anchor(self, text: str) -> tuple[bytes, bytes]:
        """The anchor of a thread on all of `text` (as typed in one insertion)."""
        ids = self.ids[text]
        return (
            encode_position(RelativePosition(item=ids[0], assoc=0)),
            encode_position(RelativePosition(item=ids[-1], assoc=-1)),
        )

    def anchor_on(self, text: str, start: int, end: int) -> tuple[bytes, bytes]:
        """The anchor of `text`[start:end] (an insertion's characters, by index)."""
        ids = self.ids[text]
        return (
            encode_position(RelativePosition(item=ids[start], assoc=0)),
            encode_position(RelativePosition(item=ids[end - 1], assoc=-1)),
        )


def places(doc: Doc, *anchors: tuple[bytes, bytes]) -> dict[tuple[int, ...], list[tuple[int, int]]]:
    """NotePlaces for threads numbered in the given order (detached ones left out)."""
    found: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    resolver = Anchors(doc)
    for number, (start, end) in enumerate(anchors, start=1):
        place = resolver.end_of(start, end)
        if place is not None:
            found.setdefault(place.path, []).append((place.index, number))
    return found


def md(doc: Doc, *anchors: tuple[bytes, bytes]) -> str:
    return export.to_markdown(doc, notes=places(doc, *anchors))


def html(doc: Doc, *anchors: tuple[bytes, bytes]) -> str:
    return export.to_html(doc, notes=places(doc, *anchors))


def synced(a: Writer, client_id: int = 2) -> Writer:
    """A second editor with everything the first has."""
    b = Writer.new(client_id)
    b.doc.apply_update(a.doc.get_update())
    return b


# -- positions --------------------------------------------------------------------


def test_positions_round_trip_as_yjs_encodes_them():
    # Y.encodeRelativePosition bytes: kind, id or name, then the association (varint).
    item = RelativePosition(item=(7, 300), assoc=-1)
    assert encode_position(item) == b"\x00\x07\xac\x02\x41"
    for position in (item, RelativePosition(type=(1, 2)), RelativePosition(root="default")):
        assert decode_position(encode_position(position)) == position
    # Yjs before 13.5 wrote no association.
    assert decode_position(b"\x00\x07\x03") == RelativePosition(item=(7, 3), assoc=0)


@pytest.mark.parametrize(
    "garbage", [b"", b"\x05", b"\x00\x07", b"\x01\x09ab", b"\x00\x07\x03\x00\x00", b"\xff" * 12]
)
def test_bytes_that_are_not_a_position_decode_to_none(garbage):
    assert decode_position(garbage) is None


def test_a_character_resolves_to_its_text_and_offset():
    w = Writer.new()
    w.paragraph("Hello")
    second = w.paragraph()
    w.type(second, 0, "h😀llo")
    resolver = Anchors(w.doc)
    o = w.ids["h😀llo"][3]  # the "l" after the emoji (two UTF-16 units)
    place = resolver.place(encode_position(RelativePosition(item=o, assoc=0)))
    assert (place.path, place.index, place.in_text) == ((1, 0), 3, True)
    after = resolver.place(encode_position(RelativePosition(item=o, assoc=-1)))
    assert after.index == 4
    # A type's start and end; the body's.
    text_id = (1, w.ids["h😀llo"][0][1] - 1)
    assert resolver.place(encode_position(RelativePosition(type=text_id, assoc=0))).index == 6
    assert resolver.place(encode_position(RelativePosition(type=text_id, assoc=-1))).index == 0
    end = resolver.place(encode_position(RelativePosition(root="default", assoc=0)))
    assert (end.path, end.index) == ((), 2)


@pytest.mark.parametrize(
    "anchor",
    [
        b"\x01\x02\x03\x04",  # what the API tests post
        b"\x01\x05other",  # a position in another root type
        encode_position(RelativePosition(item=(99, 0))),  # a client the document never had
        encode_position(RelativePosition(item=(1, 10_000))),  # past the client's clock
        encode_position(RelativePosition(type=(1, 2))),  # a character, not a type
        b"",
    ],
)
def test_anchors_that_do_not_resolve_are_detached(anchor):
    w = Writer.new()
    w.paragraph("Hello world")
    assert Anchors(w.doc).place(anchor) is None
    assert Anchors(w.doc).end_of(anchor, anchor) is None


# -- markers in the body ------------------------------------------------------------


def test_the_marker_goes_where_the_thread_s_text_ends():
    w = Writer.new()
    text = w.paragraph("The quick ")
    w.type(text, 10, "brown fox")
    w.type(text, 19, " jumps.")
    anchor = w.anchor("brown fox")
    assert md(w.doc, anchor) == "The quick brown fox[^1] jumps.\n"
    assert html(w.doc, anchor) == f"<p>The quick brown fox{note_ref_html(1)} jumps.</p>"
    assert note_ref_html(1) == '<sup><a href="#comment-1" id="comment-ref-1">1</a></sup>'


def test_the_marker_follows_edits_before_inside_and_after_the_range():
    w = Writer.new()
    text = w.paragraph("The quick ")
    w.type(text, 10, "brown fox")
    w.type(text, 19, ".")
    anchor = w.anchor("brown fox")
    other = synced(w)
    other_text = other.body.children[0].children[0]
    other.type(other_text, 4, "very ")  # before
    other.type(other_text, len("The very quick brown "), "red ")  # inside
    other.type(other_text, len("The very quick brown red fox"), " and more")  # after, at the end
    w.doc.apply_update(other.doc.get_update(w.doc.get_state()))
    assert str(text) == "The very quick brown red fox and more."
    assert md(w.doc, anchor) == "The very quick brown red fox[^1] and more.\n"


def test_a_range_over_two_paragraphs_is_marked_at_its_end():
    w = Writer.new()
    w.paragraph("First paragraph")
    w.paragraph("Second one")
    start = encode_position(RelativePosition(item=w.ids["First paragraph"][6], assoc=0))
    end = encode_position(RelativePosition(item=w.ids["Second one"][5], assoc=-1))
    assert md(w.doc, (start, end)) == "First paragraph\n\nSecond[^1] one\n"


def test_a_range_whose_text_is_deleted_is_detached():
    w = Writer.new()
    text = w.paragraph("Keep ")
    w.type(text, 5, "this part")
    w.type(text, 14, " end")
    anchor = w.anchor("this part")
    del text[5:14]
    assert str(text) == "Keep  end"
    assert places(w.doc, anchor) == {}
    assert md(w.doc, anchor) == "Keep  end\n"
    # Part of it deleted: the rest is still marked.
    w2 = Writer.new()
    text2 = w2.paragraph("Keep ")
    w2.type(text2, 5, "this part")
    anchor2 = w2.anchor("this part")
    del text2[5:10]  # "this "
    assert md(w2.doc, anchor2) == "Keep part[^1]\n"


def test_a_range_whose_paragraph_is_deleted_is_detached():
    w = Writer.new()
    w.paragraph("Stays")
    w.paragraph("Goes away")
    anchor = w.anchor("Goes away")
    del w.body.children[1]
    assert Anchors(w.doc).end_of(*anchor) is None
    assert md(w.doc, anchor) == "Stays\n"


def test_markers_are_numbered_as_they_read_and_may_share_a_place():
    w = Writer.new()
    text = w.paragraph("alpha")
    w.type(text, 5, " beta")
    late, early = w.anchor(" beta"), w.anchor("alpha")
    same = w.anchor_on(" beta", 3, 5)  # "ta": ends where " beta" does
    assert md(w.doc, early, late, same) == "alpha[^1] beta[^2][^3]\n"


def test_markers_keep_marks_around_them_and_count_utf16_units():
    w = Writer.new()
    text = w.paragraph("😀 ")
    w.type(text, 2, "bold", {"bold": {}})
    anchor = w.anchor_on("bold", 0, 2)
    assert md(w.doc, anchor) == "😀 **bo**[^1]**ld**\n"
    assert (
        html(w.doc, anchor) == f"<p>😀 <strong>bo</strong>{note_ref_html(1)}<strong>ld</strong></p>"
    )


def test_a_marker_after_an_exclamation_mark_is_not_an_image():
    w = Writer.new()
    text = w.paragraph("Wow")
    w.type(text, 3, "!")
    assert md(w.doc, w.anchor("!")) == "Wow\\![^1]\n"


def test_text_after_a_marker_cannot_make_it_a_definition():
    w = Writer.new()
    w.paragraph("First")
    w.paragraph(": second")
    # A marker at the very start of the second paragraph.
    notes = {(1, 0): [(0, 1)]}
    assert export.to_markdown(w.doc, notes=notes) == "First\n\n[^1]\\: second\n"


def test_a_thread_ending_in_code_is_marked_after_the_block():
    w = Writer.new()
    w.paragraph("let x = 1", tag="codeBlock")
    anchor = w.anchor_on("let x = 1", 4, 5)
    assert md(w.doc, anchor) == "```\nlet x = 1\n```\n\n[^1]\n"
    assert html(w.doc, anchor) == f"<pre><code>let x = 1</code></pre>{note_ref_html(1)}"


def test_a_marker_in_a_table_cell_keeps_the_pipe_table():
    w = Writer.new()
    table = w.body.children.append(XmlElement("table"))
    texts = []
    for tag, words in (("tableHeader", "Name"), ("tableCell", "Ada")):
        row = table.children.append(XmlElement("tableRow"))
        cell = row.children.append(XmlElement(tag))
        paragraph = cell.children.append(XmlElement("paragraph"))
        texts.append(paragraph.children.append(XmlText()))
        w.type(texts[-1], 0, words)
    assert md(w.doc, w.anchor("Ada")) == "| Name |\n| --- |\n| Ada[^1] |\n"


def test_document_text_cannot_forge_a_marker():
    w = Writer.new()
    text = w.paragraph("[^1] and <sup>")
    w.type(text, len("[^1] and <sup>"), " x")
    anchor = w.anchor(" x")
    assert md(w.doc, anchor) == "\\[^1\\] and \\<sup\\> x[^1]\n"
    assert html(w.doc, anchor) == f"<p>[^1] and &lt;sup&gt; x{note_ref_html(1)}</p>"


def test_a_document_element_named_like_anything_is_never_a_marker():
    w = Writer.new()
    paragraph = w.body.children.append(XmlElement("paragraph"))
    paragraph.children.append(XmlElement("NoteRef", {"number": "1"}))
    assert export.to_markdown(w.doc) == ""
    assert "sup" not in export.to_html(w.doc)


def inserted_units(doc: Doc, state: bytes) -> list[ID]:
    """The ids of the text units `doc` wrote since `state`, in order."""
    from documents.comments.anchors import _Structs

    new = _Structs(doc.get_update(state))
    return [
        (client, struct.clock + i)
        for client, structs in new.by_client.items()
        for struct in structs
        if struct.ref == 4
        for i in range(struct.length)
    ]


@pytest.mark.parametrize("seed", range(25))
def test_offsets_match_a_model_of_the_text_under_random_edits(seed):
    """Two editors take turns inserting (some characters two UTF-16 units, some two
    to four UTF-8 bytes), deleting and formatting one paragraph; every character
    left resolves where the model of the text says, both ways."""
    rng = random.Random(seed)
    a = Writer.new(1)
    a.paragraph()
    b = synced(a, 2)
    model: list[tuple[str, list[ID]]] = []  # each character and the ids of its units

    def offset(index: int) -> int:
        # pycrdt indexes an XmlText in UTF-8 bytes (the Doc's offset kind).
        return len("".join(char for char, _ in model[:index]).encode())

    for _ in range(40):
        writer, reader = (a, b) if rng.random() < 0.5 else (b, a)
        text = writer.body.children[0].children[0]
        roll = rng.random()
        if roll < 0.6 or not model:
            at = rng.randint(0, len(model))
            word = "".join(rng.choice("ab c😀é漢") for _ in range(rng.randint(1, 4)))
            state = writer.doc.get_state()
            text.insert(offset(at), word)
            # Next to formatted text the insertion writes formatting items of its
            # own too: the text's ids are those of the new string runs.
            units = iter(inserted_units(writer.doc, state))
            model[at:at] = [
                (char, [next(units) for _ in range(utf16_length(char))]) for char in word
            ]
        else:
            start = rng.randint(0, len(model) - 1)
            end = rng.randint(start + 1, min(len(model), start + 3))
            if roll < 0.85:
                del text[offset(start) : offset(end)]
                del model[start:end]
            else:
                text.format(offset(start), offset(end), {"bold": {}})
        reader.doc.apply_update(writer.doc.get_update(reader.doc.get_state()))
        assert "".join(value for value, _ in text.diff()) == "".join(c for c, _ in model)
    resolver = Anchors(a.doc)
    units = 0
    for _, ids in model:
        first = resolver.place(encode_position(RelativePosition(item=ids[0], assoc=0)))
        last = resolver.place(encode_position(RelativePosition(item=ids[-1], assoc=-1)))
        assert (first.path, first.index) == ((0, 0), units)
        assert (last.path, last.index) == ((0, 0), units + len(ids))
        units += len(ids)
    end = resolver.place(encode_position(RelativePosition(type=(1, 1), assoc=0)))
    assert end.index == units


@pytest.mark.parametrize("seed", range(10))
def test_paths_match_a_model_of_the_blocks_under_random_edits(seed):
    """Two editors take turns adding and removing paragraphs; every character of a
    paragraph left resolves into that paragraph's text, and those removed detach."""
    rng = random.Random(seed)
    a = Writer.new(1)
    b = synced(a, 2)
    model: list[list[ID]] = []  # each paragraph's text units
    gone: list[list[ID]] = []
    for step in range(30):
        writer, reader = (a, b) if rng.random() < 0.5 else (b, a)
        if rng.random() < 0.7 or not model:
            at = rng.randint(0, len(model))
            element = writer.body.children.insert(at, XmlElement("paragraph"))
            text = element.children.append(XmlText())
            state = writer.doc.get_state()
            text.insert(0, f"p{step} é")
            model.insert(at, inserted_units(writer.doc, state))
        else:
            at = rng.randrange(len(model))
            del writer.body.children[at]
            gone.append(model.pop(at))
        reader.doc.apply_update(writer.doc.get_update(reader.doc.get_state()))
    resolver = Anchors(a.doc)
    for index, units in enumerate(model):
        last = resolver.place(encode_position(RelativePosition(item=units[-1], assoc=-1)))
        assert (last.path, last.index, last.in_text) == ((index, 0), len(units), True)
    for units in gone:
        assert resolver.place(encode_position(RelativePosition(item=units[0]))) is None
