"""The document body read into a small immutable model, and what every format shares.

The body is the XmlFragment "default" that Tiptap (through y-prosemirror) edits:
elements named after ProseMirror nodes (paragraph, heading, bulletList, ...),
and XmlText whose formatting attributes are the ProseMirror marks. Reading it
once into plain frozen values keeps pycrdt out of the renderers, and the helpers
here are the rules all formats must agree on (mark nesting, heading levels,
list numbering, which links are safe, file names).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents.export.links import safe_href

FRAGMENT = "default"

FORMATS: dict[str, tuple[str, str]] = {
    # format: (file extension, content type)
    "txt": ("txt", "text/plain; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "md": ("md", "text/markdown; charset=utf-8"),
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
}

# Marks nest in this order (outermost first) so that overlapping runs of text
# open and close them consistently; code is innermost because nothing nests in it.
MARK_ORDER = ("link", "bold", "italic", "underline", "strike", "highlight", "code")
MAX_FILENAME_STEM = 120
WINDOWS_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)

# The only image URL a body may show: an image of this very document, served by
# documents/images/ to the document's readers. Anything else (another
# document's image, another site's) is left out of every rendering, so an
# export or a preview never links an image its reader may not fetch.
_IMAGE_PATH = re.compile(r"/documents/([0-9a-f-]{36})/images/[0-9a-f-]{36}/")
MAX_IMAGE_DIMENSION = 100_000

# y-prosemirror stores marks that may overlap themselves as "<name>--<8 char hash>".
_HASHED_MARK = re.compile(r"^(.*)--[a-zA-Z0-9+/=]{8}$")


def download_filename(title: str, fmt: str) -> str:
    """A file name made from the title that is safe on every common file system."""
    # Path separators, characters Windows refuses and control characters go;
    # what is left is trimmed, so the name never starts a hidden file either.
    name = "".join(
        " " if char in '<>:"/\\|?*' or unicodedata.category(char)[0] == "C" else char
        for char in unicodedata.normalize("NFC", title)
    )
    name = " ".join(name.split())[:MAX_FILENAME_STEM].strip(" .") or "document"
    if name.split(".")[0].upper() in WINDOWS_RESERVED_NAMES:
        name = f"_{name}"
    return f"{name}.{FORMATS[fmt][0]}"


@dataclass(frozen=True, slots=True)
class Images:
    """Which images a rendering shows (those of one document) and the origin to prefix."""

    document_id: str
    # "" keeps the site's relative URLs (previews); a download names the site.
    origin: str = ""


# The model ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mark:
    name: str
    attrs: tuple[tuple[str, Any], ...] = ()

    def attr(self, key: str) -> Any:
        """One attribute of the mark, or None."""
        return dict(self.attrs).get(key)


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text carrying the same marks."""

    text: str
    marks: tuple[Mark, ...] = ()


@dataclass(frozen=True, slots=True)
class Element:
    tag: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Node, ...] = ()


@dataclass(frozen=True, slots=True)
class NoteRef(Element):
    """A comment thread's marker, where its text ends (`number` names its note).

    Never read from the document (an element there is always a plain
    Element, whatever its tag): the export places these from the threads'
    anchors. A renderer that does not know them sees an empty element.
    """

    number: int = 0


Node = Element | Span
# Where to place notes' markers: a container's path from the body (child
# indices, comments/anchors.py) -> (index in it, note number) pairs; in an
# XmlText the index counts UTF-16 code units, elsewhere children.
NotePlaces = Mapping[tuple[int, ...], Sequence[tuple[int, int]]]
# A document, or its content encoded as one update (memoryview as some database drivers return).
Source = Doc | bytes | memoryview


def body_of(source: Source, *, notes: NotePlaces | None = None) -> tuple[Node, ...]:
    """The document body as a tree of elements and spans, with `notes`' markers placed."""
    if isinstance(source, bytes | bytearray | memoryview):
        doc: Doc = Doc()
        if bytes(source):
            doc.apply_update(bytes(source))
    else:
        doc = source
    fragment = doc.get(FRAGMENT, type=XmlFragment)
    body = list(_read_children(fragment, (), notes or {}))
    # The empty paragraph the editor keeps after a last table, heading or list
    # (Tiptap's TrailingNode) is a place to type, not content of the file.
    while len(body) > 1 and _empty_paragraph(body[-1]):
        body.pop()
    return tuple(body)


def _empty_paragraph(node: Node) -> bool:
    return isinstance(node, Element) and node.tag == "paragraph" and not node.children


def attributes_of(element: XmlElement) -> dict[str, Any]:
    """An element's attributes, including those set to None."""
    # pycrdt annotates XmlAttributesView.__iter__ as returning an Iterable, which
    # type checkers refuse to iterate; its value is an iterator.
    return dict(element.attributes.__iter__())


def _read_children(
    parent: XmlFragment | XmlElement, path: tuple[int, ...], notes: NotePlaces
) -> Iterable[Node]:
    refs = sorted(notes.get(path, ()))
    children = list(parent.children)
    for index, child in enumerate(children):
        while refs and refs[0][0] <= index:
            yield NoteRef("", number=refs.pop(0)[1])
        here = (*path, index)
        if isinstance(child, XmlText):
            yield from _read_text(child, sorted(notes.get(here, ())))
        elif isinstance(child, XmlElement):
            attrs = {key: value for key, value in attributes_of(child).items() if value is not None}
            yield Element(child.tag or "", attrs, tuple(_read_children(child, here, notes)))
        elif isinstance(child, XmlFragment):
            yield from _read_children(child, here, notes)
    for _, number in refs:
        yield NoteRef("", number=number)


def _read_text(text: XmlText, refs: list[tuple[int, int]]) -> Iterable[Node]:
    position = 0  # in UTF-16 code units, as Yjs counts the places of `refs`
    for value, attrs in text.diff():
        if not isinstance(value, str):
            # Embedded objects have no place in these formats (y-prosemirror
            # never writes them), but they take a place in the count.
            position += 1
            continue
        marks = _marks(attrs or {})
        if not refs:  # the common case: no marker left in this text
            if value:
                yield Span(value, marks)
            continue
        start = 0
        for offset, char in enumerate(value):
            while refs and refs[0][0] <= position:
                if offset > start:
                    yield Span(value[start:offset], marks)
                    start = offset
                yield NoteRef("", number=refs.pop(0)[1])
            position += 2 if ord(char) > 0xFFFF else 1
        if value[start:]:
            yield Span(value[start:], marks)
    for _, number in refs:
        yield NoteRef("", number=number)


def note_refs(nodes: Iterable[Node]) -> list[NoteRef]:
    """The markers among `nodes` and below, in order (for blocks that show text alone)."""
    found: list[NoteRef] = []
    for node in nodes:
        if isinstance(node, NoteRef):
            found.append(node)
        elif isinstance(node, Element):
            found.extend(note_refs(node.children))
    return found


def _marks(attrs: Mapping[str, Any]) -> tuple[Mark, ...]:
    marks = []
    for key, value in attrs.items():
        if value is None:
            continue
        match = _HASHED_MARK.match(key)
        name = match.group(1) if match else key
        mark_attrs = value if isinstance(value, Mapping) else {}
        marks.append(Mark(name, tuple(sorted((k, v) for k, v in mark_attrs.items()))))
    return tuple(sorted(marks, key=_mark_rank))


def _mark_rank(mark: Mark) -> tuple[int, str]:
    order = MARK_ORDER.index(mark.name) if mark.name in MARK_ORDER else len(MARK_ORDER)
    return order, mark.name


# Shared by the formats ------------------------------------------------------


def heading_level(element: Element) -> int:
    # Tiptap's numbers arrive as floats (1.0); clamp anything odd into h1-h6.
    try:
        level = int(float(element.attrs.get("level", 1)))
    except (TypeError, ValueError):
        level = 1
    return min(max(level, 1), 6)


def list_start(element: Element) -> int:
    try:
        return int(float(element.attrs.get("start", 1)))
    except (TypeError, ValueError):
        return 1


def plain_text(nodes: Iterable[Node]) -> str:
    """The text under nodes, hard breaks as newlines, marks dropped."""
    parts = []
    for node in nodes:
        if isinstance(node, Span):
            parts.append(node.text)
        elif node.tag == "hardBreak":
            parts.append("\n")
        else:
            parts.append(plain_text(node.children))
    return "".join(parts)


def link_href(mark: Mark) -> str | None:
    """The link mark's target as a browser reads it, or None when it could run script."""
    return safe_href(mark.attr("href"))


def open_close(
    spans: list[tuple[str, tuple[Mark, ...]]],
    open_mark: Callable[[Mark], str],
    close_mark: Callable[[Mark], str],
    text: Callable[[str], str],
) -> str:
    """Render runs of marked text with properly nested open and close delimiters."""
    out: list[str] = []
    stack: list[Mark] = []
    for value, marks in spans:
        keep = 0
        while keep < len(stack) and keep < len(marks) and stack[keep] == marks[keep]:
            keep += 1
        out.extend(close_mark(mark) for mark in reversed(stack[keep:]))
        del stack[keep:]
        for mark in marks[keep:]:
            out.append(open_mark(mark))
            stack.append(mark)
        out.append(text(value))
    out.extend(close_mark(mark) for mark in reversed(stack))
    return "".join(out)


def list_items(
    node: Element, render_item: Callable[[Element], str], separator: str, *, alternate: bool = False
) -> str:
    """Each item with its marker, continuation lines indented under its text."""
    ordered = node.tag == "orderedList"
    number = list_start(node)
    items = []
    for child in node.children:
        item = child if isinstance(child, Element) else Element("listItem", {}, (child,))
        if ordered:
            marker = f"{number}{')' if alternate else '.'} "
            number += 1
        elif node.tag == "taskList":
            marker = f"{'*' if alternate else '-'} [{'x' if task_checked(item) else ' '}] "
        else:
            marker = "* " if alternate else "- "
        first, *rest = render_item(item).split("\n")
        # A task's "[ ] " is text of the item, so its content lines up after "- ".
        indent = " " * (2 if node.tag == "taskList" else len(marker))
        lines = [marker + first if first else marker.rstrip()]
        lines += [indent + line if line else "" for line in rest]
        items.append("\n".join(lines))
    return separator.join(items)


def prefix_lines(text: str, prefix: str, blank: str) -> str:
    return "\n".join(prefix + line if line else blank for line in text.split("\n"))


def image_src(element: Element, images: Images | None) -> str | None:
    """The URL to write for an image node, or None when it is not an image of this document."""
    src = element.attrs.get("src")
    if images is None or not isinstance(src, str):
        return None
    match = _IMAGE_PATH.fullmatch(src)
    if match is None or match.group(1) != images.document_id.lower():
        return None
    return images.origin + src


def image_dimension(element: Element, key: str) -> int | None:
    """The image's width or height in pixels, or None when unset or not a sane number."""
    try:
        value = int(float(element.attrs.get(key)))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value <= MAX_IMAGE_DIMENSION else None


def image_alt(element: Element) -> str:
    alt = element.attrs.get("alt")
    return " ".join(alt.split()) if isinstance(alt, str) else ""


def task_checked(element: Element) -> bool:
    return element.attrs.get("checked") is True


def cell_span(element: Element, key: str) -> int:
    """A table cell's colspan or rowspan: a whole number from 1 to 1000."""
    try:
        value = int(float(element.attrs.get(key, 1)))
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(max(value, 1), 1000)


def cell_widths(element: Element) -> list[int] | None:
    """A table cell's column widths in pixels (Tiptap's colwidth), or None."""
    widths = element.attrs.get("colwidth")
    if not isinstance(widths, list | tuple) or not widths:
        return None
    try:
        values = [int(float(width)) for width in widths]
    except (TypeError, ValueError, OverflowError):
        return None
    return values if all(0 < value <= MAX_IMAGE_DIMENSION for value in values) else None
