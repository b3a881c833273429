"""Where a thread's anchor lies in a document's current state, read on the server (exports).

An anchor is two Yjs relative positions (models.py) that the browser encoded.
Each names an item (a character, or a block among its siblings) or a whole
type (its start or its end), and resolves as Yjs's
createAbsolutePositionFromRelativePosition does: to a container (an XmlText,
an element, the body) and an index in it. Pure: a pycrdt Doc in, places out.

pycrdt 0.14 makes no sticky index on XML types, and a decoded one
(StickyIndex.get_index) tells an index but not the container it counts in;
in a text it even counts the characters before the item's own run in UTF-8
bytes (the Doc's offset kind) and those within it in UTF-16 units. So the
struct headers of the document's update are read here (the lib0 walk of
storage/update_clocks.py): each struct names its parent, or an origin whose
parent is its own, and parents are followed up to the body. pycrdt is asked
only for orders: a block's place among its siblings (one unit each, whatever
the offset kind), and where each run of a text starts, which sorts the runs;
offsets in a text are then summed from the runs' own UTF-16 lengths, as Yjs
counts them. Anything that does not resolve (a position whose block was
deleted, one of another document, bytes that are not a position at all) is
None: the thread is shown detached, as the browser shows it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, StickyIndex

from documents.export.tree import FRAGMENT
from documents.storage.update_clocks import Cursor, content_length

ID = tuple[int, int]  # (client, clock)

# Yjs's type refs (ContentType) that matter here.
_XML_TEXT = 6
_TYPE_CONTENT = 7
# Deeper than any editor nests blocks; a cycle in hostile data stops here.
_MAX_DEPTH = 200


@dataclass(frozen=True, slots=True)
class RelativePosition:
    """A decoded Yjs relative position: exactly one of item, type, root is set."""

    item: ID | None = None  # attached to this item (a character or a block)
    type: ID | None = None  # the start or end of this type
    root: str | None = None  # the start or end of this root type
    assoc: int = 0  # >= 0: the item after the position; < 0: the one before


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved position: the container's path from the body, and an index in it.

    `path` holds child indices (pycrdt's `children`) from the body down to the
    container; in an XmlText `index` counts UTF-16 code units, elsewhere
    children. `key` orders places as they read in the document.
    """

    path: tuple[int, ...]
    index: int
    in_text: bool

    @property
    def key(self) -> tuple[int, ...]:
        return (*self.path, self.index)


def decode_position(data: bytes) -> RelativePosition | None:
    """A relative position as Y.encodeRelativePosition writes it, or None for other bytes."""
    cursor = Cursor(bytes(data))
    try:
        kind = cursor.uint()
        if kind == 0:
            found = RelativePosition(item=(cursor.uint(), cursor.uint()))
        elif kind == 1:
            found = RelativePosition(root=cursor.raw().decode("utf-8"))
        elif kind == 2:
            found = RelativePosition(type=(cursor.uint(), cursor.uint()))
        else:
            return None
        # Yjs before 13.5 wrote no association: it was 0.
        assoc = _var_int(cursor) if cursor.pos < len(cursor.data) else 0
        if cursor.pos != len(cursor.data):
            return None
    except (IndexError, ValueError):
        return None
    return RelativePosition(found.item, found.type, found.root, assoc)


def encode_position(position: RelativePosition) -> bytes:
    """The bytes Y.encodeRelativePosition writes for `position` (tests build anchors with it)."""
    out = bytearray()
    if position.item is not None:
        out += _uint(0) + _uint(position.item[0]) + _uint(position.item[1])
    elif position.type is not None:
        out += _uint(2) + _uint(position.type[0]) + _uint(position.type[1])
    else:
        name = (position.root or "").encode()
        out += _uint(1) + _uint(len(name)) + name
    magnitude = abs(position.assoc)
    first = (magnitude & 0x3F) | (0x40 if position.assoc < 0 else 0)
    magnitude >>= 6
    out.append(first | (0x80 if magnitude else 0))
    while magnitude:
        byte = magnitude & 0x7F
        magnitude >>= 7
        out.append(byte | (0x80 if magnitude else 0))
    return bytes(out)


def _uint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _var_int(cursor: Cursor) -> int:
    """lib0's signed varint: sign in the first byte's bit 6, six bits there, then seven."""
    byte = cursor.byte()
    value, negative, shift = byte & 0x3F, byte & 0x40, 6
    while byte & 0x80:
        byte = cursor.byte()
        value |= (byte & 0x7F) << shift
        shift += 7
    return -value if negative else value


@dataclass(frozen=True, slots=True)
class _Struct:
    clock: int
    length: int
    origin: ID | None = None
    right: ID | None = None
    parent: ID | str | None = None  # written out only when there is no origin
    keyed: bool = False  # a map entry (an element's attribute): in no sequence
    type_ref: int | None = None  # for a shared type: its kind
    gc: bool = False  # garbage-collected (or a skip): nothing can be resolved in it
    ref: int = 0  # the content's kind: 1 deleted, 4 text, 6 formatting, 7 a type, ...


class _Structs:
    """Each client's structs and the deleted ranges of a v1 update, by clock."""

    def __init__(self, update: bytes) -> None:
        self.by_client: dict[int, list[_Struct]] = {}
        self.deleted: dict[int, list[tuple[int, int]]] = {}
        cursor = Cursor(update)
        for _ in range(cursor.uint()):
            count, client, clock = cursor.uint(), cursor.uint(), cursor.uint()
            structs = self.by_client.setdefault(client, [])
            for _ in range(count):
                struct = self._read(cursor, clock)
                if struct.length:  # yrs writes empty runs too; nothing can refer to one
                    structs.append(struct)
                clock += struct.length
        for _ in range(cursor.uint()):
            client = cursor.uint()
            ranges = self.deleted.setdefault(client, [])
            for _ in range(cursor.uint()):
                start = cursor.uint()
                ranges.append((start, start + cursor.uint()))
        for structs in self.by_client.values():
            structs.sort(key=lambda s: s.clock)
        for ranges in self.deleted.values():
            ranges.sort()
        self.starts = {client: [s.clock for s in ss] for client, ss in self.by_client.items()}

    @staticmethod
    def _read(cursor: Cursor, clock: int) -> _Struct:
        info = cursor.byte()
        ref = info & 0x1F
        if ref in (0, 10):  # GC, skip
            return _Struct(clock, cursor.uint(), gc=True)
        origin = (cursor.uint(), cursor.uint()) if info & 0x80 else None
        right = (cursor.uint(), cursor.uint()) if info & 0x40 else None
        parent: ID | str | None = None
        keyed = False
        if info & 0xC0 == 0:
            if cursor.uint() == 1:
                parent = cursor.raw().decode("utf-8", "surrogatepass")
            else:
                parent = (cursor.uint(), cursor.uint())
            if info & 0x20:
                cursor.raw()
                keyed = True
        type_ref = None
        if ref == _TYPE_CONTENT:
            type_ref = cursor.uint()
            if type_ref in (3, 5):  # XmlElement, XmlHook: a name
                cursor.raw()
            length = 1
        else:
            length = content_length(ref, cursor)
        return _Struct(clock, length, origin, right, parent, keyed, type_ref, ref=ref)

    def find(self, id_: ID) -> _Struct | None:
        """The struct holding `id_`, if the update has it."""
        client, clock = id_
        starts = self.starts.get(client)
        if not starts:
            return None
        at = bisect.bisect_right(starts, clock) - 1
        if at < 0:
            return None
        struct = self.by_client[client][at]
        return struct if clock < struct.clock + struct.length else None

    def is_deleted(self, id_: ID) -> bool:
        client, clock = id_
        ranges = self.deleted.get(client, [])
        at = bisect.bisect_right(ranges, (clock, float("inf"))) - 1
        return at >= 0 and ranges[at][0] <= clock < ranges[at][1]


_UNCOUNTED = (1, 6)  # deleted content and formatting take no place in a sequence


@dataclass(frozen=True, slots=True)
class _Order:
    """A text's visible runs sorted by where they start, with the UTF-16 units before each."""

    starts: list[int]  # pycrdt's index of each run's first item (any unit: only sorted)
    before: list[int]  # UTF-16 units of the visible runs before run i; one more at the end

    def units_before(self, start: int) -> int:
        """UTF-16 units of the visible runs that start before `start`."""
        return self.before[bisect.bisect_left(self.starts, start)]


class Anchors:
    """Resolves relative positions against one Doc (read once; the Doc is not changed)."""

    def __init__(self, doc: Doc[Any]) -> None:
        self.doc = doc
        try:
            self.structs: _Structs | None = _Structs(doc.get_update())
        except (IndexError, ValueError):
            self.structs = None  # an encoding this reader does not know: all detached
        self._parents: dict[ID, tuple[ID | str | None, bool]] = {}
        self._paths: dict[ID, tuple[int, ...] | None] = {}
        self._members: dict[ID | str, list[tuple[ID, _Struct]]] | None = None
        self._orders: dict[ID | str, _Order | None] = {}

    def end_of(self, anchor_from: bytes, anchor_to: bytes) -> Place | None:
        """Where a thread's range ends, or None when it is detached (its text is gone)."""
        start, end = self.place(anchor_from), self.place(anchor_to)
        if start is None or end is None or start.key >= end.key:
            return None
        return end

    def place(self, encoded: bytes) -> Place | None:
        """Where an encoded relative position lies now, or None."""
        position = decode_position(encoded)
        if position is None or self.structs is None:
            return None
        if position.item is not None:
            return self._item_place(position.item, position.assoc)
        container: ID | str | None = position.type or position.root
        if container is None:
            return None
        path = self._container_path(container)
        in_text = self._is_text(container)
        if path is None:
            return None
        index = 0 if position.assoc < 0 else self._length(container, in_text)
        return None if index is None else Place(path, index, in_text)

    def _item_place(self, item: ID, assoc: int) -> Place | None:
        assert self.structs is not None
        struct = self.structs.find(item)
        if struct is None or struct.gc:
            return None
        parent, keyed = self._parent(item)
        if keyed or parent is None:
            return None
        path = self._container_path(parent)
        if path is None:
            return None
        in_text = self._is_text(parent)
        if in_text:
            index = self._text_index(parent, item, struct, assoc)
        else:
            index = self._index(item, assoc)  # blocks: one unit each, in any offset kind
        return None if index is None else Place(path, index, in_text)

    def _container_path(self, container: ID | str) -> tuple[int, ...] | None:
        if isinstance(container, str):
            return () if container == FRAGMENT else None
        return self._path(container)

    def _is_text(self, container: ID | str) -> bool:
        assert self.structs is not None
        found = None if isinstance(container, str) else self.structs.find(container)
        return found is not None and found.type_ref == _XML_TEXT

    def _visible(self, id_: ID, struct: _Struct) -> bool:
        assert self.structs is not None
        return (
            not struct.gc
            and struct.ref not in _UNCOUNTED
            and struct.length > 0
            and not self.structs.is_deleted((id_[0], struct.clock))
        )

    def _text_index(self, text: ID | str, item: ID, struct: _Struct, assoc: int) -> int | None:
        """The UTF-16 offset of a position attached to `item` in the text `text`."""
        order = self._order(text)
        start = self._index((item[0], struct.clock), 0)
        if order is None or start is None:
            return None
        index = order.units_before(start)
        if self._visible(item, struct):
            # As Yjs: a deleted (or uncounted) item stands where it was, with no width.
            index += item[1] - struct.clock + (1 if assoc < 0 else 0)
        return index

    def _order(self, text: ID | str) -> _Order | None:
        if text in self._orders:
            return self._orders[text]
        runs: list[tuple[int, int]] = []
        order: _Order | None = None
        for id_, struct in self._children(text):
            if not self._visible(id_, struct):
                continue
            start = self._index(id_, 0)
            if start is None:
                break
            runs.append((start, struct.length))
        else:
            runs.sort()
            before = [0]
            for _, length in runs:
                before.append(before[-1] + length)
            order = _Order([start for start, _ in runs], before)
        self._orders[text] = order
        return order

    def _length(self, container: ID | str, in_text: bool) -> int | None:
        """A container's length: UTF-16 units of a text, or its children."""
        if in_text:
            order = self._order(container)
            return None if order is None else order.before[-1]
        return sum(1 for id_, struct in self._children(container) if self._visible(id_, struct))

    def _children(self, container: ID | str) -> list[tuple[ID, _Struct]]:
        """The structs directly in `container`'s sequence (map entries left out), by parent."""
        if self._members is None:
            assert self.structs is not None
            members: dict[ID | str, list[tuple[ID, _Struct]]] = {}
            for client, structs in self.structs.by_client.items():
                for struct in structs:
                    if struct.gc:
                        continue
                    id_ = (client, struct.clock)
                    parent, keyed = self._parent(id_)
                    if parent is not None and not keyed:
                        members.setdefault(parent, []).append((id_, struct))
            self._members = members
        return self._members.get(container, [])

    def _parent(self, id_: ID) -> tuple[ID | str | None, bool]:
        """The parent of the item `id_` (a type's id or a root's name) and whether it is keyed.

        Yjs writes the parent only for an item without origins; the others
        share their origin's, so the origins are followed until one names it.
        """
        assert self.structs is not None
        seen: dict[ID, None] = {}  # in order, and quick to look up
        found: tuple[ID | str | None, bool] = (None, False)
        current: ID | None = id_
        while current is not None:
            struct = self.structs.find(current)
            if struct is None or struct.gc:
                break
            key = (current[0], struct.clock)  # every item of a struct has its parent
            if key in self._parents:
                found = self._parents[key]
                break
            if key in seen:
                break  # origins in a cycle: hostile data
            seen[key] = None
            if struct.origin is None and struct.right is None:
                found = (struct.parent, struct.keyed)
                break
            current = struct.origin or struct.right
        for key in seen:
            self._parents[key] = found
        return found

    def _path(self, type_id: ID) -> tuple[int, ...] | None:
        """The child indices from the body down to the type `type_id`, or None if not in it."""
        if type_id in self._paths:
            return self._paths[type_id]
        assert self.structs is not None
        indices: list[int] = []
        current: ID = type_id
        path: tuple[int, ...] | None = None
        for _ in range(_MAX_DEPTH):
            struct = self.structs.find(current)
            if (
                struct is None
                or struct.gc
                or struct.type_ref is None
                or struct.clock != current[1]
                or self.structs.is_deleted(current)
            ):
                break
            parent, keyed = self._parent(current)
            if keyed or parent is None or self._is_text(parent):
                break
            index = self._index(current, 0)
            if index is None:
                break
            indices.append(index)
            if isinstance(parent, str):
                if parent == FRAGMENT:
                    path = tuple(reversed(indices))
                break
            current = parent
        self._paths[type_id] = path
        return path

    def _index(self, item: ID, assoc: int) -> int | None:
        """pycrdt's index of a position attached to `item` (checked to exist) in its container."""
        try:
            sticky = StickyIndex.from_json(
                {"item": {"client": item[0], "clock": item[1]}, "assoc": -1 if assoc < 0 else 0}
            )
            with self.doc.transaction() as txn:
                return sticky.get_index(txn)
        except Exception:
            return None
        except BaseException as exc:
            # pycrdt raises a Rust panic (a BaseException) for a position it
            # cannot place; every one reaching here was checked, but a file
            # download must not die of one.
            if type(exc).__name__ == "PanicException":
                return None
            raise


def utf16_length(text: str) -> int:
    """How many UTF-16 code units Yjs counts in `text`."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
