"""HTML read into the import model through the editor's schema: its nodes, marks, safe links.

Hostile HTML is parsed the way a browser parses it before anything here looks
at it: nh3 (Ammonia, on html5ever, the HTML standard's parsing algorithm)
builds the tree, keeps only the tags and attributes listed below, drops script
and style with their content, and serializes the result again. That output is
well-formed (every element closed, every attribute quoted, text escaped), which
is what lets the standard library's html.parser read it into a tree safely.
The tree is then mapped onto Tiptap's nodes and marks; everything else is
unwrapped to its text.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

import nh3

from documents.export.links import SAFE_SCHEMES
from documents.export.tree import Element, Mark, Node, Span

_CELL_ATTRS = {"colspan", "rowspan", "colwidth"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href"},
    "ol": {"start"},
    "ul": {"data-type"},
    "li": {"data-type", "data-checked"},
    "input": {"type", "checked"},
    "th": _CELL_ATTRS,
    "td": _CELL_ATTRS,
    "img": {"src", "alt"},
    "code": {"class"},
}
ALLOWED_TAGS = {
    *("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "hr"),
    *("br", "strong", "b", "em", "i", "u", "ins", "s", "strike", "del", "mark", "code", "a"),
    *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "img", "input", "label"),
    *("div", "span", "section", "article", "main", "header", "footer", "figure", "sub", "sup"),
}
MARK_TAGS = {
    "strong": "bold",
    "b": "bold",
    "em": "italic",
    "i": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "strike": "strike",
    "del": "strike",
    "mark": "highlight",
    "code": "code",
}
HEADINGS = {f"h{level}": level for level in range(1, 7)}
LISTS = {"ul": "bulletList", "ol": "orderedList"}
# The DOM is read recursively; deeper elements are read as their parent's text.
MAX_DEPTH = 100
_WHITESPACE = re.compile(r"[ \t\n\r\f]+")


def clean(source: str) -> str:
    """The HTML reparsed by html5ever with only the schema's tags and attributes left."""
    return nh3.clean(
        source,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(SAFE_SCHEMES),
        link_rel=None,
        strip_comments=True,
        clean_content_tags={"script", "style", "template", "noscript", "title", "textarea"},
    )


def read(source: str) -> list[Node]:
    """The HTML as import-model nodes (normalized later by the builder)."""
    root = _parse(clean(source))
    return list(_nodes(root.children, marks=(), pre=False))


# The sanitized HTML as a tree ---------------------------------------------------


@dataclass
class _Dom:
    tag: str
    attrs: dict[str, str]
    children: list[_Dom | str] = field(default_factory=list)


_VOID = frozenset({"br", "hr", "img", "input"})


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Dom("root", {})
        self.stack = [self.root]
        self.overflow = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Dom(tag, {key: value or "" for key, value in attrs})
        if tag in _VOID:
            self.stack[-1].children.append(node)
        elif len(self.stack) >= MAX_DEPTH:
            self.overflow += 1
        else:
            self.stack[-1].children.append(node)
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Dom(tag, {key: value or "" for key, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self.overflow:
            self.overflow -= 1
        elif len(self.stack) > 1:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(cleaned: str) -> _Dom:
    builder = _TreeBuilder()
    builder.feed(cleaned)
    builder.close()
    return builder.root


# The tree mapped onto the schema -----------------------------------------------


def _nodes(children: list[_Dom | str], *, marks: tuple[Mark, ...], pre: bool) -> Iterator[Node]:
    for child in children:
        if isinstance(child, str):
            text = child if pre else _WHITESPACE.sub(" ", child)
            if text:
                yield Span(text, marks)
        else:
            yield from _element(child, marks=marks, pre=pre)


def _element(dom: _Dom, *, marks: tuple[Mark, ...], pre: bool) -> Iterator[Node]:
    tag = dom.tag
    if tag == "p":
        yield Element("paragraph", {}, tuple(_nodes(dom.children, marks=marks, pre=pre)))
    elif tag in HEADINGS:
        yield Element(
            "heading", {"level": HEADINGS[tag]}, tuple(_nodes(dom.children, marks=(), pre=pre))
        )
    elif tag in LISTS:
        yield _list(dom)
    elif tag == "li":
        yield Element("listItem", {}, tuple(_nodes(dom.children, marks=(), pre=pre)))
    elif tag == "blockquote":
        yield Element("blockquote", {}, tuple(_nodes(dom.children, marks=(), pre=pre)))
    elif tag == "pre":
        yield _code_block(dom)
    elif tag == "hr":
        yield Element("horizontalRule")
    elif tag == "br":
        yield Element("hardBreak")
    elif tag == "table":
        yield Element("table", {}, tuple(_nodes(dom.children, marks=(), pre=False)))
    elif tag == "tr":
        yield Element("tableRow", {}, tuple(_nodes(dom.children, marks=(), pre=False)))
    elif tag in ("th", "td"):
        yield _cell(dom)
    elif tag == "img":
        attrs = {key: dom.attrs[key] for key in ("src", "alt") if key in dom.attrs}
        yield Element("image", attrs)
    elif tag == "input":
        return  # task checkboxes are read by _list
    elif tag in MARK_TAGS or tag == "a":
        yield from _nodes(dom.children, marks=marks + _mark_of(dom), pre=pre)
    else:
        # div, span, label, thead, tbody, ...: their content in their place.
        yield from _nodes(dom.children, marks=marks, pre=pre)


def _mark_of(dom: _Dom) -> tuple[Mark, ...]:
    if dom.tag == "a":
        href = dom.attrs.get("href")
        return (Mark("link", (("href", href),)),) if href else ()
    return (Mark(MARK_TAGS[dom.tag]),)


def _list(dom: _Dom) -> Element:
    items = [child for child in dom.children if isinstance(child, _Dom) and child.tag == "li"]
    tiptap_tasks = dom.attrs.get("data-type") == "taskList"
    checkboxes = [_checkbox(item) for item in items]
    if dom.tag == "ul" and items and (tiptap_tasks or all(c is not None for c in checkboxes)):
        tasks = []
        for item, checkbox in zip(items, checkboxes, strict=True):
            checked = item.attrs.get("data-checked") == "true" if tiptap_tasks else bool(checkbox)
            content = tuple(_nodes(item.children, marks=(), pre=False))
            tasks.append(Element("taskItem", {"checked": checked}, content))
        return Element("taskList", {}, tuple(tasks))
    attrs: dict[str, int] = {}
    if dom.tag == "ol":
        try:
            attrs["start"] = int(dom.attrs.get("start", "1"))
        except ValueError:
            attrs["start"] = 1
    return Element(LISTS[dom.tag], attrs, tuple(_nodes(dom.children, marks=(), pre=False)))


def _checkbox(item: _Dom) -> bool | None:
    """Whether the item opens with a checkbox (its checked state), else None."""
    for child in item.children:
        if isinstance(child, str):
            if child.strip():
                return None
            continue
        if child.tag == "input":
            return "checked" in child.attrs if child.attrs.get("type") == "checkbox" else None
        if child.tag in ("label", "p", "span"):
            found = _checkbox(child)
            if found is not None:
                return found
        return None
    return None


def _code_block(dom: _Dom) -> Element:
    code = _first(dom, "code")
    language = ""
    if code is not None:
        for name in code.attrs.get("class", "").split():
            if name.startswith("language-"):
                language = name[len("language-") :][:64]
                break
    text = _text(dom)
    # The HTML parser drops one newline right after <pre>, as browsers do.
    if text.startswith("\n"):
        text = text[1:]
    return Element("codeBlock", {"language": language} if language else {}, (Span(text),))


def _first(dom: _Dom, tag: str) -> _Dom | None:
    for child in dom.children:
        if isinstance(child, _Dom):
            found = child if child.tag == tag else _first(child, tag)
            if found is not None:
                return found
    return None


def _text(dom: _Dom) -> str:
    parts: list[str] = []
    for child in dom.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append("\n")
        else:
            parts.append(_text(child))
    return "".join(parts)


def _cell(dom: _Dom) -> Element:
    attrs: dict[str, object] = {}
    for key in ("colspan", "rowspan"):
        if key in dom.attrs:
            attrs[key] = dom.attrs[key]
    widths = dom.attrs.get("colwidth", "")
    if widths:
        with contextlib.suppress(ValueError):
            attrs["colwidth"] = [int(width) for width in widths.split(",")]
    tag = "tableHeader" if dom.tag == "th" else "tableCell"
    return Element(tag, attrs, tuple(_nodes(dom.children, marks=(), pre=False)))
