"""The clock ranges of a Yjs v1 update, read without pycrdt.

pycrdt keeps structs whose dependencies are missing aside until those arrive,
and says so nowhere; comparing where an update's structs end with a Doc's
state vector after applying it tells. Pure lib0 decoding, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Past this, lib0 in JavaScript throws "Integer out of Range": stock clients
# could not read an update that pycrdt (64-bit) takes.
MAX_SAFE_INTEGER = 2**53 - 1


class Cursor:
    """lib0 decoding, just enough to walk the structs of a v1 update (comments/anchors.py too)."""

    __slots__ = ("data", "pos", "unsafe")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.unsafe = False  # read something a JavaScript client could not

    def byte(self) -> int:
        value = self.data[self.pos]  # IndexError at the end: a bad update
        self.pos += 1
        return value

    def uint(self) -> int:
        data, pos = self.data, self.pos
        value = data[pos]  # IndexError at the end: a bad update
        pos += 1
        if value < 0x80:  # most are one byte: counts, clocks, lengths
            self.pos = pos
            return value
        value &= 0x7F
        shift = 7
        while True:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                if value > MAX_SAFE_INTEGER:
                    self.unsafe = True
                return value
            shift += 7

    def skip_int(self) -> None:
        length = 1
        while self.byte() & 0x80:
            length += 1
        if length > 7:  # 6 + 7 * 6 bits fit below 2**53
            self.unsafe = True

    def raw(self) -> bytes:
        length = self.uint()
        start, self.pos = self.pos, self.pos + length
        if self.pos > len(self.data):
            raise ValueError("length past the end")
        return self.data[start : self.pos]

    def utf16_length(self) -> int:
        raw = self.raw()
        if raw.isascii():
            return len(raw)  # a keystroke, mostly: one code unit per byte
        text = raw.decode("utf-8", "surrogatepass")
        return len(text.encode("utf-16-le", "surrogatepass")) // 2

    def skip_any(self) -> None:
        kind = self.byte()
        if kind == 125:
            self.skip_int()
        elif kind in (124, 123, 122):
            self.pos += {124: 4, 123: 8, 122: 8}[kind]
        elif kind in (119, 116):
            self.raw()
        elif kind == 118:
            for _ in range(self.uint()):
                self.raw()
                self.skip_any()
        elif kind == 117:
            for _ in range(self.uint()):
                self.skip_any()
        elif kind not in (127, 126, 121, 120):
            raise ValueError(f"unknown value type {kind}")


def content_length(ref: int, cursor: Cursor) -> int:
    """Skip an item's content; the number of clock ticks it takes."""
    if ref == 1:  # deleted
        return cursor.uint()
    if ref == 2:  # JSON strings: parsed by JavaScript clients, which a bad one would throw in
        cursor.unsafe = True
        count = cursor.uint()
        for _ in range(count):
            cursor.raw()
        return count
    if ref == 4:  # string: one tick per UTF-16 code unit
        return cursor.utf16_length()
    if ref in (3, 5):  # binary, embed
        cursor.raw()
    elif ref == 6:  # format: key and value
        cursor.raw()
        cursor.raw()
    elif ref == 7:  # a shared type; XmlElement and XmlHook carry a name
        if cursor.uint() in (3, 5):
            cursor.raw()
    elif ref == 8:  # any values
        count = cursor.uint()
        for _ in range(count):
            cursor.skip_any()
        return count
    elif ref == 9:  # subdocument: guid and options
        cursor.unsafe = True
        cursor.raw()
        cursor.skip_any()
    else:
        raise ValueError(f"unknown content type {ref}")
    return 1


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a keystroke 2 µs
class Shape:
    """Where a v1 update's structs lie, per client, and whether it deletes anything."""

    starts: dict[int, int]  # the clock of each client's first struct
    ends: dict[int, int]  # the clock after each client's last struct (skips left out)
    deletes: bool
    # Per client, the clock a Doc must have passed for the items it refers to
    # (origins, parents) to be there.
    needs: dict[int, int] = field(default_factory=dict)
    skips: bool = False
    # Nothing in it that only a re-encoding by the Doc may be trusted to
    # normalise: every integer within JavaScript's range, no JSON to parse.
    plain: bool = True

    def integrates(self, have: dict[int, int]) -> bool:
        """Whether a Doc at `have` takes every struct in at once (False: cannot tell).

        Told without the Doc for the common case, a keystroke: one client's
        structs, right after what the Doc has of that client, referring only to
        items the Doc has or that come earlier in the update itself.
        """
        if len(self.starts) != 1 or self.skips:
            return False
        ((client, start),) = self.starts.items()
        if start > have.get(client, 0):
            return False
        # A reference to the same client's later items counts like any other.
        # Loops, not any() or all() over a generator: these run per keystroke,
        # and the generator cost three times as much as the test.
        for other, clock in self.needs.items():  # noqa: SIM110
            if clock > have.get(other, 0):
                return False
        return True

    def advance(self, have: dict[int, int]) -> None:
        """`have` after a Doc took every struct in (see `integrates`)."""
        for client, end in self.ends.items():
            if end > have.get(client, 0):
                have[client] = end

    def overlaps(self, have: dict[int, int]) -> bool:
        """Whether some of its structs are already in a Doc whose state is `have`."""
        for client, start in self.starts.items():  # noqa: SIM110 (see integrates)
            if start < have.get(client, 0):
                return True
        return False

    def sets_aside(self, have: dict[int, int]) -> bool:
        """Whether a Doc at `have` (after applying the update) set structs of it aside.

        pycrdt keeps structs whose dependencies are missing aside until those
        arrive, and says so nowhere: their clocks are past the Doc's state vector.
        """
        for client, end in self.ends.items():  # noqa: SIM110 (see integrates)
            if end > have.get(client, 0):
                return True
        return False


def _refer(needs: dict[int, int], other: int, at: int, client: int, clock: int) -> None:
    if (other != client or at >= clock) and needs.get(other, 0) <= at:
        needs[other] = at + 1


def shape(update: bytes) -> Shape:
    """Read the structs' clock ranges, what they refer to, and whether the update deletes."""
    cursor = Cursor(update)
    uint = cursor.uint
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    needs: dict[int, int] = {}
    skips = False
    for _ in range(uint()):
        count, client, clock = uint(), uint(), uint()
        starts[client] = clock
        for _ in range(count):
            info = cursor.byte()
            ref = info & 0x1F
            if ref in (0, 10):  # GC, skip
                length = uint()
                skips = skips or ref == 10
            else:
                # Each ID the item refers to must be in the Doc, unless it is an
                # earlier item of the same client (there if the update's start is).
                if info & 0x80:  # left origin
                    _refer(needs, uint(), uint(), client, clock)
                if info & 0x40:  # right origin
                    _refer(needs, uint(), uint(), client, clock)
                if info & 0xC0 == 0:  # no origin: the parent is written out
                    if uint() == 1:  # by its root name
                        cursor.raw()
                    else:
                        _refer(needs, uint(), uint(), client, clock)
                    if info & 0x20:
                        cursor.raw()  # its key
                length = content_length(ref, cursor)
            if ref != 10:
                ends[client] = clock + length
            clock += length
    deletes = cursor.uint()
    for _ in range(deletes):
        cursor.uint()  # client
        for _ in range(cursor.uint()):
            cursor.uint(), cursor.uint()  # clock, length
    return Shape(starts, ends, deletes > 0, needs, skips, plain=not cursor.unsafe)


def clocks(state_vector: bytes) -> dict[int, int]:
    """A state vector as a dict: client id -> the clock it is at.

    Read on every keystroke, once per client the document ever had: the
    varints are decoded inline rather than through Cursor's method calls.
    """
    numbers: list[int] = []
    value = shift = 0
    for byte in state_vector:
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            numbers.append(value)
            value = shift = 0
        else:
            shift += 7
    if shift or not numbers or len(numbers) != 1 + 2 * numbers[0]:
        raise ValueError("not a state vector")
    return dict(zip(numbers[1::2], numbers[2::2], strict=True))
