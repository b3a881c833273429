"""Markdown read into the import model with markdown-it-py (CommonMark, GFM tables, strike).

Task lists are GFM's "- [ ] " items: a bullet list whose every item opens so
becomes a task list. Raw HTML blocks go through the HTML reader (sanitized like
any imported HTML); inline HTML keeps the tags the exports write for marks
Markdown has no syntax for (<u>, <mark>, ...) and drops every other tag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from documents.export.tree import Element, Mark, Node, Span
from documents.imports import html

# markdown-it stops reading at this depth (its guard against hostile input);
# a file that reaches it is refused rather than imported with its rest missing.
MAX_NESTING = 100
_TASK = re.compile(r"^\[([ xX])\](?: |$)")
_INLINE_TAG = re.compile(r"^<(/?)([a-zA-Z]+)\s*/?>$")
INLINE_HTML_MARKS = {
    "strong": "bold",
    "b": "bold",
    "em": "italic",
    "i": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "mark": "highlight",
    "code": "code",
}
_BLOCK_TAGS = {
    "paragraph": "paragraph",
    "heading": "heading",
    "bullet_list": "bulletList",
    "ordered_list": "orderedList",
    "list_item": "listItem",
    "blockquote": "blockquote",
    "table": "table",
    "thead": "tableSection",
    "tbody": "tableSection",
    "tr": "tableRow",
    "th": "tableHeader",
    "td": "tableCell",
}
_INLINE_MARKS = {"em": "italic", "strong": "bold", "s": "strike"}


def parser() -> MarkdownIt:
    """CommonMark with GFM's tables and strikethrough: the syntax the Markdown export writes."""
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})
    return md.enable(["table", "strikethrough"])


class TooDeep(ValueError):
    """The Markdown nests deeper than markdown-it reads."""


def read(source: str) -> list[Node]:
    """The Markdown as import-model nodes (normalized later by the builder)."""
    tokens = parser().parse(source)
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        raise TooDeep("The file is nested too deeply.")
    return _block_tokens(tokens)


@dataclass
class _Open:
    tag: str
    attrs: dict[str, Any]
    children: list[Node] = field(default_factory=list)


def _block_tokens(tokens: Sequence[Token]) -> list[Node]:
    root = _Open("root", {})
    stack = [root]
    for token in tokens:
        kind = token.type
        if kind.endswith("_open") and kind[: -len("_open")] in _BLOCK_TAGS:
            name = kind[: -len("_open")]
            attrs: dict[str, Any] = {}
            if name == "heading":
                attrs["level"] = int(token.tag[1])
            elif name == "ordered_list":
                start = token.attrGet("start")
                attrs["start"] = int(start) if isinstance(start, int | str) else 1
            stack.append(_Open(_BLOCK_TAGS[name], attrs))
        elif kind.endswith("_close") and kind[: -len("_close")] in _BLOCK_TAGS:
            done = stack.pop()
            element = Element(done.tag, done.attrs, tuple(done.children))
            if done.tag == "bulletList":
                element = _as_task_list(element)
            if done.tag == "paragraph" and not done.children:
                continue  # only an image, which cannot come along
            if done.tag in ("tableHeader", "tableCell"):
                # A pipe table's cell holds inline content; the schema wants blocks.
                element = Element(done.tag, {}, (Element("paragraph", {}, element.children),))
            stack[-1].children.append(element)
        elif kind == "inline":
            stack[-1].children.extend(_inline_tokens(token.children or []))
        elif kind in ("fence", "code_block"):
            info = token.info.strip().split(" ")[0] if kind == "fence" else ""
            code = token.content[:-1] if token.content.endswith("\n") else token.content
            attrs = {"language": info} if info else {}
            stack[-1].children.append(Element("codeBlock", attrs, (Span(code),) if code else ()))
        elif kind == "hr":
            stack[-1].children.append(Element("horizontalRule"))
        elif kind == "html_block":
            stack[-1].children.extend(html.read(token.content))
    return root.children


def _as_task_list(element: Element) -> Element:
    """A bullet list whose every item opens with "[ ]" or "[x]" as a task list."""
    items = [child for child in element.children if isinstance(child, Element)]
    checks = [_task_check(item) for item in items]
    if not items or any(check is None for check in checks):
        return element
    tasks = []
    for item, checked in zip(items, checks, strict=True):
        first, *rest = item.children
        assert isinstance(first, Element)
        lead = first.children[0]
        assert isinstance(lead, Span)
        stripped = Span(_TASK.sub("", lead.text, count=1), lead.marks)
        paragraph = Element("paragraph", {}, (stripped, *first.children[1:]))
        tasks.append(Element("taskItem", {"checked": checked}, (paragraph, *rest)))
    return Element("taskList", {}, tuple(tasks))


def _task_check(item: Element) -> bool | None:
    first = item.children[0] if item.children else None
    if not isinstance(first, Element) or first.tag != "paragraph" or not first.children:
        return None
    lead = first.children[0]
    if not isinstance(lead, Span) or lead.marks:
        return None
    match = _TASK.match(lead.text)
    return None if match is None else match.group(1) != " "


def _inline_tokens(tokens: Sequence[Token]) -> list[Node]:
    out: list[Node] = []
    marks: list[Mark | None] = []  # None: a link that was not safe, still to be closed
    html_marks: list[Mark] = []

    def current() -> tuple[Mark, ...]:
        return tuple(mark for mark in [*marks, *html_marks] if mark is not None)

    for token in tokens:
        kind = token.type
        if kind == "text":
            out.append(Span(token.content, current()))
        elif kind == "softbreak":
            out.append(Span(" ", current()))
        elif kind == "hardbreak":
            out.append(Element("hardBreak"))
        elif kind == "code_inline":
            out.append(Span(token.content, (Mark("code"),)))
        elif kind.endswith("_open") and kind[: -len("_open")] in _INLINE_MARKS:
            marks.append(Mark(_INLINE_MARKS[kind[: -len("_open")]]))
        elif kind == "link_open":
            href = token.attrGet("href")
            marks.append(Mark("link", (("href", href),)) if isinstance(href, str) else None)
        elif (kind.endswith("_close") and kind[: -len("_close")] in _INLINE_MARKS) or (
            kind == "link_close"
        ):
            if marks:
                marks.pop()
        elif kind == "html_inline":
            _html_inline(token.content, out, html_marks)
        # Images: a Markdown file cannot bring an image of the new document.
    return out


def _html_inline(content: str, out: list[Node], html_marks: list[Mark]) -> None:
    match = _INLINE_TAG.match(content.strip())
    if match is None:
        return
    closing, tag = match.group(1) == "/", match.group(2).lower()
    if tag == "br":
        out.append(Element("hardBreak"))
        return
    name = INLINE_HTML_MARKS.get(tag)
    if name is None:
        return
    if not closing:
        html_marks.append(Mark(name))
        return
    for index in range(len(html_marks) - 1, -1, -1):
        if html_marks[index].name == name:
            del html_marks[index]
            return
