"""An imported node tree made valid for the editor's schema and written as y-prosemirror would.

The readers (markdown.py, html.py) produce the same small model the exports read
(documents.export.tree: Element, Span, Mark), loosely: text straight in a list,
a list item opening with a heading, a table cell with nothing in it. `normalize`
fixes that to Tiptap's schema (doc: block+, listItem: paragraph block*, ...), so
nothing the browser opens is dropped by ProseMirror's own checks, and `write`
puts the result into the Yjs fragment the way y-prosemirror does: one XmlElement
per node with its non-null attributes (numbers as floats, as JavaScript writes
them), one XmlText per run of inline text with the marks as formatting
attributes, and a hardBreak element between runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents.export.links import safe_href
from documents.export.tree import FRAGMENT, Element, Mark, Node, Span, plain_text

BLOCKS = frozenset(
    {
        "paragraph",
        "heading",
        "bulletList",
        "orderedList",
        "taskList",
        "blockquote",
        "codeBlock",
        "horizontalRule",
        "table",
        "image",
    }
)
TEXTBLOCKS = frozenset({"paragraph", "heading"})
LISTS = {"bulletList": "listItem", "orderedList": "listItem", "taskList": "taskItem"}
CELLS = frozenset({"tableCell", "tableHeader"})
MARKS = frozenset({"bold", "italic", "underline", "strike", "highlight", "code", "link"})
# Nesting deeper than this is flattened: no editor needs it, and every reader
# of the tree (exports included) recurses once per level.
MAX_DEPTH = 40
_BLANKS = re.compile(r"[ \t]{2,}")
# Tiptap's link mark as it writes it (class and title stay unset).
LINK_DEFAULTS = {"target": "_blank", "rel": "noopener noreferrer nofollow"}


class TooLarge(ValueError):
    """The imported body has more nodes than an imported document may hold."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image the body may show: its URL and the size to reserve for it."""

    src: str
    width: int
    height: int


# An image's src as read from the file -> the image of the new document, or None to drop it.
ImageResolver = Callable[[str], ImageRef | None]


def no_images(src: str) -> ImageRef | None:
    """Markdown and HTML files bring no images of the new document: every image is dropped."""
    return None


def normalize(
    nodes: Iterable[Node], *, resolve_image: ImageResolver = no_images, max_nodes: int
) -> tuple[Element, ...]:
    """The nodes as a valid document body; TooLarge past `max_nodes` elements."""
    normalizer = _Normalizer(resolve_image, max_nodes)
    return tuple(normalizer.blocks(nodes, depth=0))


class _Normalizer:
    def __init__(self, resolve_image: ImageResolver, max_nodes: int) -> None:
        self.resolve_image = resolve_image
        self.max_nodes = max_nodes
        self.count = 0

    def made(self, element: Element) -> Element:
        self.count += 1
        if self.count > self.max_nodes:
            raise TooLarge(f"The file holds more than {self.max_nodes} blocks.")
        return element

    def blocks(self, nodes: Iterable[Node], *, depth: int) -> Iterator[Element]:
        """Block content: loose inline content is gathered into paragraphs."""
        inline: list[Node] = []

        def flush() -> Iterator[Element]:
            if any(not isinstance(n, Span) or n.text.strip() for n in inline):
                yield self.made(Element("paragraph", {}, self.inline(inline)))
            inline.clear()

        for node in nodes:
            if isinstance(node, Span) or node.tag == "hardBreak":
                inline.append(node)
                continue
            yield from flush()
            yield from self.block(node, depth=depth)
        yield from flush()

    def block(self, node: Element, *, depth: int) -> Iterator[Element]:
        tag = node.tag
        attrs: dict[str, Any]
        if depth >= MAX_DEPTH and tag not in TEXTBLOCKS:
            # Too deep: keep the text, as paragraphs.
            for text in _texts(node):
                yield self.made(Element("paragraph", {}, self.inline(text)))
            return
        if tag in TEXTBLOCKS:
            attrs = (
                {"level": float(_bounded(node.attrs.get("level"), 1, 6))}
                if tag == "heading"
                else {}
            )
            # Images are blocks in the schema: one inside a paragraph (as .docx
            # converters write them) splits it, so the image stands on its own.
            run: list[Node] = []
            for child in node.children:
                if isinstance(child, Element) and child.tag == "image":
                    if run:
                        yield self.made(Element(tag, attrs, self.inline(run)))
                        run = []
                    yield from self.block(child, depth=depth)
                else:
                    run.append(child)
            if run or not node.children:
                yield self.made(Element(tag, attrs, self.inline(run)))
        elif tag in LISTS:
            items = tuple(self.list_items(node, depth=depth))
            if items:
                attrs = {}
                if tag == "orderedList":
                    attrs["start"] = float(_bounded(node.attrs.get("start"), 0, 1_000_000))
                yield self.made(Element(tag, attrs, items))
        elif tag == "blockquote":
            yield self.made(Element(tag, {}, self.nonempty(node.children, depth=depth)))
        elif tag == "codeBlock":
            language = node.attrs.get("language")
            attrs = {"language": language} if isinstance(language, str) and language else {}
            code = plain_text(node.children)
            yield self.made(Element(tag, attrs, (Span(code),) if code else ()))
        elif tag == "horizontalRule":
            yield self.made(Element(tag))
        elif tag == "table":
            rows = tuple(self.table_rows(node, depth=depth))
            if rows:
                yield self.made(Element("table", {}, rows))
        elif tag == "image":
            image = self.image(node)
            if image is not None:
                yield image
        else:
            # A wrapper the schema does not know (a div, a stray list item or
            # cell): its content stands in for it.
            yield from self.blocks(node.children, depth=depth + 1)

    def nonempty(self, nodes: Iterable[Node], *, depth: int) -> tuple[Element, ...]:
        """block+: an empty paragraph when nothing is left."""
        blocks = tuple(self.blocks(nodes, depth=depth + 1))
        return blocks or (self.made(Element("paragraph")),)

    def list_items(self, node: Element, *, depth: int) -> Iterator[Element]:
        item_tag = LISTS[node.tag]
        for child in node.children:
            if isinstance(child, Span) and not child.text.strip():
                continue
            is_item = isinstance(child, Element) and child.tag in ("listItem", "taskItem")
            content = child.children if is_item and isinstance(child, Element) else (child,)
            blocks = list(self.blocks(content, depth=depth + 1))
            # paragraph block*: an item opens with a paragraph.
            if not blocks or blocks[0].tag != "paragraph":
                blocks.insert(0, self.made(Element("paragraph")))
            attrs: dict[str, Any] = {}
            if item_tag == "taskItem":
                attrs["checked"] = isinstance(child, Element) and child.attrs.get("checked") is True
            yield self.made(Element(item_tag, attrs, tuple(blocks)))

    def table_rows(self, node: Element, *, depth: int) -> Iterator[Element]:
        for row in _rows(node):
            cells = []
            for cell in row.children:
                if not isinstance(cell, Element) or cell.tag not in CELLS:
                    continue
                attrs: dict[str, Any] = {
                    "colspan": float(_span(cell.attrs.get("colspan"))),
                    "rowspan": float(_span(cell.attrs.get("rowspan"))),
                }
                widths = cell.attrs.get("colwidth")
                if isinstance(widths, list) and widths:
                    attrs["colwidth"] = [float(_bounded(width, 1, 10_000)) for width in widths]
                cells.append(
                    self.made(Element(cell.tag, attrs, self.nonempty(cell.children, depth=depth)))
                )
            if cells:
                yield self.made(Element("tableRow", {}, tuple(cells)))

    def image(self, node: Element) -> Element | None:
        src = node.attrs.get("src")
        ref = self.resolve_image(src) if isinstance(src, str) else None
        if ref is None:
            return None
        attrs: dict[str, Any] = {"src": ref.src, "width": float(ref.width)}
        attrs["height"] = float(ref.height)
        alt = node.attrs.get("alt")
        if isinstance(alt, str) and alt.strip():
            attrs["alt"] = " ".join(alt.split())[:500]
        return self.made(Element("image", attrs))

    def inline(self, nodes: Iterable[Node]) -> tuple[Node, ...]:
        """Inline content: text with the schema's marks only, and hard breaks."""
        out: list[Node] = []
        for node in _flatten_inline(nodes):
            if isinstance(node, Element):
                out.append(self.made(Element("hardBreak")))
                continue
            marks = _valid_marks(node.marks)
            text = node.text.replace("\r", "").replace("\n", " ")
            previous = out[-1] if out else None
            if not any(mark.name == "code" for mark in marks):
                # Runs of blanks show as one in every reader of the source
                # format; the editor would show them all.
                text = _BLANKS.sub(" ", text)
                if isinstance(previous, Span) and previous.text.endswith(" "):
                    text = text.lstrip(" ")
            if not text:
                continue
            if isinstance(previous, Span) and previous.marks == marks:
                out[-1] = Span(previous.text + text, marks)
            else:
                out.append(Span(text, marks))
        # Blanks at either end of a paragraph are not shown by a browser either.
        while out and isinstance(out[0], Span) and not out[0].text.strip():
            out.pop(0)
        while out and isinstance(out[-1], Span) and not out[-1].text.strip():
            out.pop()
        if out and isinstance(out[0], Span):
            out[0] = Span(out[0].text.lstrip(), out[0].marks)
        if out and isinstance(out[-1], Span):
            out[-1] = Span(out[-1].text.rstrip(), out[-1].marks)
        return tuple(out)


def _flatten_inline(nodes: Iterable[Node]) -> Iterator[Node]:
    """Spans and hard breaks, from any inline wrapper the reader left in."""
    for node in nodes:
        if isinstance(node, Span) or node.tag == "hardBreak":
            yield node
        else:
            yield from _flatten_inline(node.children)


def _texts(node: Element) -> Iterator[tuple[Node, ...]]:
    """The inline runs under a node, one per text block."""
    if node.tag in TEXTBLOCKS:
        yield node.children
        return
    loose = tuple(child for child in node.children if isinstance(child, Span))
    if loose:
        yield loose
    for child in node.children:
        if isinstance(child, Element):
            yield from _texts(child)


def _rows(table: Element) -> Iterator[Element]:
    for child in table.children:
        if isinstance(child, Element):
            if child.tag == "tableRow":
                yield child
            elif child.tag not in CELLS:
                yield from _rows(child)  # thead, tbody, tfoot


def _bounded(value: Any, low: int, high: int) -> int:
    try:
        return min(max(int(float(value)), low), high)
    except (TypeError, ValueError, OverflowError):
        return low if low > 0 else 1


def _span(value: Any) -> int:
    try:
        return min(max(int(float(value)), 1), 1000)
    except (TypeError, ValueError, OverflowError):
        return 1


def _valid_marks(marks: Sequence[Mark]) -> tuple[Mark, ...]:
    kept: dict[str, Mark] = {}
    for mark in marks:
        if mark.name not in MARKS or mark.name in kept:
            continue
        if mark.name == "link":
            href = safe_href(mark.attr("href"))
            if href is None:
                continue
            mark = Mark("link", (("href", href),))
        kept[mark.name] = mark
    # Tiptap's code mark excludes every other mark.
    if "code" in kept:
        return (kept["code"],)
    return tuple(kept.values())


# Writing --------------------------------------------------------------------


def write(doc: Doc, body: Iterable[Element]) -> None:
    """Append the body to the document's fragment, in one transaction."""
    body = tuple(body)
    if body and body[-1].tag != "paragraph":
        # The editor's TrailingNode (StarterKit) would add this empty paragraph on
        # first open, as an update of its own: the body is written as it will stay.
        body += (Element("paragraph", {}, ()),)
    with doc.transaction():
        fragment = doc.get(FRAGMENT, type=XmlFragment)
        for node in body:
            _write_element(fragment, node)


def _write_element(parent: XmlFragment | XmlElement, node: Element) -> None:
    element = parent.children.append(XmlElement(node.tag))
    for key, value in node.attrs.items():
        if value is not None:
            element.attributes[key] = value
    text: XmlText | None = None
    for child in node.children:
        if isinstance(child, Span):
            if text is None:
                text = element.children.append(XmlText())
            text.insert(len(text), child.text, _mark_attrs(child.marks))
        else:
            text = None
            _write_element(element, child)


def _mark_attrs(marks: Sequence[Mark]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for mark in marks:
        value = dict(mark.attrs)
        if mark.name == "link":
            value = {**value, **LINK_DEFAULTS}
        attrs[mark.name] = value
    return attrs


def title_of(body: Iterable[Element]) -> str | None:
    """The first heading's text, if the body has a heading."""
    for node in body:
        if node.tag == "heading":
            text = " ".join(plain_text(node.children).split())
            if text:
                return text
    return None
