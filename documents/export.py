"""A document's body as plain text, HTML or Markdown: pure functions, no Django, no I/O.

The body is the XmlFragment "default" that Tiptap (through y-prosemirror) edits:
elements named after ProseMirror nodes (paragraph, heading, bulletList, ...),
and XmlText whose formatting attributes are the ProseMirror marks. The tree is
read once into a small immutable model, then rendered by one function per format.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

FRAGMENT = "default"

FORMATS: dict[str, tuple[str, str]] = {
    # format: (file extension, content type)
    "txt": ("txt", "text/plain; charset=utf-8"),
    "html": ("html", "text/html; charset=utf-8"),
    "md": ("md", "text/markdown; charset=utf-8"),
}

# Marks nest in this order (outermost first) so that overlapping runs of text
# open and close them consistently; code is innermost because nothing nests in it.
MARK_ORDER = ("link", "bold", "italic", "underline", "strike", "code")
HTML_MARK_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "s", "code": "code"}
MARKDOWN_DELIMITERS = {"bold": "**", "italic": "*", "strike": "~~"}
# Marks Markdown has no syntax for, or whose syntax would be misread, as inline HTML.
MARKDOWN_HTML_TAGS = {"bold": "strong", "italic": "em", "underline": "u", "strike": "del"}
MAX_FILENAME_STEM = 120
WINDOWS_RESERVED_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(1, 10)]
)
SAFE_URL_SCHEMES = ("http:", "https:", "mailto:", "tel:")

# y-prosemirror stores marks that may overlap themselves as "<name>--<8 char hash>".
_HASHED_MARK = re.compile(r"^(.*)--[a-zA-Z0-9+/=]{8}$")
_MARKDOWN_ESCAPE = re.compile(r"([\\`*_\[\]<>~])")
_MARKDOWN_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_MARKDOWN_LINE_START = re.compile(r"^([#>+=-])", re.MULTILINE)
_MARKDOWN_NUMBER_START = re.compile(r"^(\d+)([.)])", re.MULTILINE)


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


Node = Element | Span
# A document, or its content encoded as one update (memoryview as some database drivers return).
Source = Doc | bytes | memoryview


def body_of(source: Source) -> tuple[Node, ...]:
    """The document body as a tree of elements and spans."""
    if isinstance(source, bytes | bytearray | memoryview):
        doc: Doc = Doc()
        if bytes(source):
            doc.apply_update(bytes(source))
    else:
        doc = source
    fragment = doc.get(FRAGMENT, type=XmlFragment)
    return tuple(_read_children(fragment))


def attributes_of(element: XmlElement) -> dict[str, Any]:
    """An element's attributes, including those set to None."""
    # pycrdt annotates XmlAttributesView.__iter__ as returning an Iterable, which
    # type checkers refuse to iterate; its value is an iterator.
    return dict(element.attributes.__iter__())


def _read_children(parent: XmlFragment | XmlElement) -> Iterable[Node]:
    for child in parent.children:
        if isinstance(child, XmlText):
            yield from _read_text(child)
        elif isinstance(child, XmlElement):
            attrs = {key: value for key, value in attributes_of(child).items() if value is not None}
            yield Element(child.tag or "", attrs, tuple(_read_children(child)))
        elif isinstance(child, XmlFragment):
            yield from _read_children(child)


def _read_text(text: XmlText) -> Iterable[Span]:
    for value, attrs in text.diff():
        # Embedded objects have no place in these formats; y-prosemirror never writes them.
        if isinstance(value, str) and value:
            yield Span(value, _marks(attrs or {}))


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


def _heading_level(element: Element) -> int:
    # Tiptap's numbers arrive as floats (1.0); clamp anything odd into h1-h6.
    try:
        level = int(float(element.attrs.get("level", 1)))
    except (TypeError, ValueError):
        level = 1
    return min(max(level, 1), 6)


def _list_start(element: Element) -> int:
    try:
        return int(float(element.attrs.get("start", 1)))
    except (TypeError, ValueError):
        return 1


def _plain(nodes: Iterable[Node]) -> str:
    """The text under nodes, hard breaks as newlines, marks dropped."""
    parts = []
    for node in nodes:
        if isinstance(node, Span):
            parts.append(node.text)
        elif node.tag == "hardBreak":
            parts.append("\n")
        else:
            parts.append(_plain(node.children))
    return "".join(parts)


def _safe_href(mark: Mark) -> str | None:
    """The link's target if following it cannot run script (no javascript: URLs)."""
    href = mark.attr("href")
    if not isinstance(href, str) or not href.strip():
        return None
    href = href.strip()
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", href)
    if scheme and not href.lower().startswith(SAFE_URL_SCHEMES):
        return None
    return href


def _open_close(
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


# Plain text -----------------------------------------------------------------


def to_text(source: Source) -> str:
    """The body as plain text: one block per paragraph, list markers kept."""
    body = _text_blocks(body_of(source), "\n\n")
    return body + "\n" if body else ""


def _text_blocks(nodes: Iterable[Node], separator: str) -> str:
    return separator.join(_text_block(node) for node in nodes)


def _text_block(node: Node) -> str:
    if isinstance(node, Span):
        return node.text
    tag = node.tag
    if tag in ("paragraph", "heading", "codeBlock"):
        return _plain(node.children)
    if tag in ("bulletList", "orderedList"):
        return _list_items(node, lambda item: _text_blocks(item.children, "\n"), "\n")
    if tag == "blockquote":
        return _prefix_lines(_text_blocks(node.children, "\n\n"), "> ", ">")
    if tag == "horizontalRule":
        return "---"
    if tag == "hardBreak":
        return "\n"
    return _text_blocks(node.children, "\n\n")


def _list_items(
    node: Element, render_item: Callable[[Element], str], separator: str, *, alternate: bool = False
) -> str:
    """Each item with its marker, continuation lines indented under its text."""
    ordered = node.tag == "orderedList"
    number = _list_start(node)
    items = []
    for child in node.children:
        item = child if isinstance(child, Element) else Element("listItem", {}, (child,))
        if ordered:
            marker = f"{number}{')' if alternate else '.'} "
            number += 1
        else:
            marker = "* " if alternate else "- "
        first, *rest = render_item(item).split("\n")
        indent = " " * len(marker)
        lines = [marker + first if first else marker.rstrip()]
        lines += [indent + line if line else "" for line in rest]
        items.append("\n".join(lines))
    return separator.join(items)


def _prefix_lines(text: str, prefix: str, blank: str) -> str:
    return "\n".join(prefix + line if line else blank for line in text.split("\n"))


# HTML -----------------------------------------------------------------------


def to_html(source: Source) -> str:
    """The body as an HTML fragment, every piece of text escaped."""
    return "\n".join(_html_block(node) for node in body_of(source))


def html_document(body: str, *, title: str) -> str:
    """An HTML fragment wrapped as a standalone page for download."""
    return (
        "<!doctype html>\n"
        '<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _html_blocks(nodes: Iterable[Node]) -> str:
    return "".join(_html_block(node) for node in nodes)


def _html_block(node: Node) -> str:
    if isinstance(node, Span):
        return _html_inline((node,))
    tag = node.tag
    if tag == "paragraph":
        return f"<p>{_html_inline(node.children)}</p>"
    if tag == "heading":
        level = _heading_level(node)
        return f"<h{level}>{_html_inline(node.children)}</h{level}>"
    if tag == "bulletList":
        return f"<ul>{_html_blocks(node.children)}</ul>"
    if tag == "orderedList":
        start = _list_start(node)
        start_attr = f' start="{start}"' if start != 1 else ""
        return f"<ol{start_attr}>{_html_blocks(node.children)}</ol>"
    if tag == "listItem":
        return f"<li>{_html_blocks(node.children)}</li>"
    if tag == "blockquote":
        return f"<blockquote>{_html_blocks(node.children)}</blockquote>"
    if tag == "codeBlock":
        language = node.attrs.get("language")
        class_attr = (
            f' class="language-{html.escape(language)}"'
            if isinstance(language, str) and language
            else ""
        )
        return f"<pre><code{class_attr}>{html.escape(_plain(node.children))}</code></pre>"
    if tag == "horizontalRule":
        return "<hr>"
    if tag == "hardBreak":
        return "<br>"
    # An element this exporter does not know: keep its content, drop the wrapper.
    return _html_blocks(node.children)


def _html_inline(nodes: Iterable[Node]) -> str:
    parts: list[str] = []
    spans: list[tuple[str, tuple[Mark, ...]]] = []

    def flush() -> None:
        parts.append(_open_close(spans, _html_open, _html_close, html.escape))
        spans.clear()

    for node in nodes:
        if isinstance(node, Span):
            spans.append((node.text, node.marks))
        elif node.tag == "hardBreak":
            # A break inside marked text stays inside the marks.
            spans.append(("\n", spans[-1][1] if spans else ()))
        else:
            flush()
            parts.append(_html_inline(node.children))
    flush()
    return "".join(parts).replace("\n", "<br>")


def _html_open(mark: Mark) -> str:
    if mark.name == "link":
        href = _safe_href(mark)
        return f'<a href="{html.escape(href)}">' if href else ""
    tag = HTML_MARK_TAGS.get(mark.name)
    return f"<{tag}>" if tag else ""


def _html_close(mark: Mark) -> str:
    if mark.name == "link":
        return "</a>" if _safe_href(mark) else ""
    tag = HTML_MARK_TAGS.get(mark.name)
    return f"</{tag}>" if tag else ""


# Markdown -------------------------------------------------------------------


def to_markdown(source: Source) -> str:
    """The body as CommonMark (with GFM strikethrough)."""
    body = _md_blocks(body_of(source))
    return body + "\n" if body else ""


def _md_blocks(nodes: Iterable[Node], separator: str = "\n\n") -> str:
    blocks = []
    previous = ""
    for node in nodes:
        tag = node.tag if isinstance(node, Element) else ""
        # Two lists of the same kind in a row would read back as one list unless
        # their markers differ.
        alternate = tag in ("bulletList", "orderedList") and tag == previous
        rendered = _md_block(node, alternate=alternate)
        if rendered:
            blocks.append(rendered)
            previous = "" if alternate else tag
    return separator.join(blocks)


def _md_block(node: Node, *, alternate: bool = False) -> str:
    if isinstance(node, Span):
        return _md_inline((node,))
    tag = node.tag
    if tag == "paragraph":
        return _md_inline(node.children)
    if tag == "heading":
        # A heading is one line; its breaks become spaces.
        text = _md_inline(node.children).replace("\\\n", " ").replace("\n", " ")
        return f"{'#' * _heading_level(node)} {text}" if text else ""
    if tag in ("bulletList", "orderedList"):
        return _md_list(node, alternate=alternate)
    if tag == "blockquote":
        return _prefix_lines(_md_blocks(node.children), "> ", ">")
    if tag == "codeBlock":
        code = _plain(node.children)
        longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
        fence = "`" * max(3, longest + 1)
        language = node.attrs.get("language")
        info = language if isinstance(language, str) and "`" not in language else ""
        return f"{fence}{info}\n{code}\n{fence}" if code else f"{fence}{info}\n{fence}"
    if tag == "horizontalRule":
        return "---"
    if tag == "hardBreak":
        return ""
    return _md_blocks(node.children)


def _md_list(node: Element, *, alternate: bool) -> str:
    items = [child for child in node.children if isinstance(child, Element)]
    # A list whose items are a paragraph (maybe followed by a nested list) is
    # written tight, like an editor shows it; anything more needs blank lines.
    tight = all(
        all(
            isinstance(block, Element) and _interrupts_paragraph(block)
            for block in item.children[1:]
        )
        for item in items
    )
    separator = "\n" if tight else "\n\n"

    def render_item(item: Element) -> str:
        body = _md_blocks(item.children, separator)
        if body and item.children and not _md_block(item.children[0]):
            # An item opening with an empty paragraph keeps its marker on a line
            # of its own; "- ---" would read as a horizontal rule.
            return "\n" + body
        return body

    return _list_items(node, render_item, separator, alternate=alternate)


def _interrupts_paragraph(node: Element) -> bool:
    """Whether this list may start on the line right after a paragraph, per CommonMark."""
    if node.tag not in ("bulletList", "orderedList"):
        return False
    if node.tag == "orderedList" and _list_start(node) != 1:
        return False
    # Nor may a list whose first item opens empty: "-" alone would even turn
    # the paragraph above into a heading.
    first = next((child for child in node.children if isinstance(child, Element)), None)
    lead = first.children[0] if first is not None and first.children else None
    return (
        isinstance(lead, Element)
        and lead.tag == "paragraph"
        and bool(_plain(lead.children).strip())
    )


def _md_inline(nodes: Iterable[Node]) -> str:
    out: list[str] = []
    group: list[Span] = []
    for node in nodes:
        if isinstance(node, Span):
            # Neighbouring spans are rendered together so a mark spanning them opens once.
            group.append(node)
            continue
        out.append(_md_span_group(group))
        group = []
        out.append("\\\n" if node.tag == "hardBreak" else _md_inline(node.children))
    out.append(_md_span_group(group))
    text = "".join(out)
    # Leading blanks would turn a paragraph into code, and a line opening with
    # #, >, - or "1." into a heading, quote or list; drop or escape them.
    text = "\n".join(line.lstrip(" \t") for line in text.split("\n"))
    text = _MARKDOWN_LINE_START.sub(r"\\\1", text)
    text = _MARKDOWN_NUMBER_START.sub(r"\1\\\2", text)
    # A hard break cannot end a paragraph in Markdown (it would print a backslash).
    while text.endswith("\\\n"):
        text = text[:-2]
    return text


@dataclass(frozen=True, slots=True)
class _Delimiter:
    """Where one occurrence of a mark opens or closes in a run of Markdown."""

    mark: Mark
    instance: int
    opening: bool


def _md_span_group(spans: list[Span]) -> str:
    """Marked runs as Markdown, delimiters hugging the text as CommonMark requires."""
    tokens: list[str | _Delimiter] = []
    stack: list[tuple[Mark, int]] = []
    instances = itertools.count()
    pending_space = ""

    def close_to(keep: int) -> None:
        for mark, instance in reversed(stack[keep:]):
            tokens.append(_Delimiter(mark, instance, opening=False))
        del stack[keep:]

    for span in spans:
        if span.text.strip() == "":
            # Whitespace carries no visible marks; letting it change them would
            # put a delimiter next to a space, where CommonMark ignores it.
            pending_space += span.text
            continue
        core = span.text.strip()
        start = span.text.index(core[0])
        lead, trail = span.text[:start], span.text[start + len(core) :]
        if any(mark.name == "code" for mark in span.marks):
            body = _md_code(core)
        else:
            body = _md_escape(core)
        marks = tuple(m for m in span.marks if m.name in MARKDOWN_HTML_TAGS or m.name == "link")
        keep = 0
        while keep < len(stack) and keep < len(marks) and stack[keep][0] == marks[keep]:
            keep += 1
        close_to(keep)
        tokens.append(pending_space + lead)
        for mark in marks[keep:]:
            instance = next(instances)
            tokens.append(_Delimiter(mark, instance, opening=True))
            stack.append((mark, instance))
        tokens.append(body)
        pending_space = trail
    close_to(0)
    tokens.append(pending_space)

    # Delimiters that CommonMark would not read as meant (say "**" between
    # punctuation and a letter) become inline HTML, which it always reads.
    # Each change alters its neighbours' surroundings, so repeat until stable.
    as_html = {
        token.instance
        for token in tokens
        if isinstance(token, _Delimiter) and token.mark.name not in MARKDOWN_DELIMITERS
    }
    rendered = [_md_token(token, as_html) for token in tokens]
    changed = True
    while changed:
        changed = False
        for index, token in enumerate(tokens):
            if (
                isinstance(token, _Delimiter)
                and token.instance not in as_html
                and token.mark.name in MARKDOWN_DELIMITERS
                and not _md_delimiter_works(tokens, rendered, index)
            ):
                as_html.add(token.instance)
                rendered = [_md_token(token, as_html) for token in tokens]
                changed = True
    for index, token in enumerate(tokens):
        if isinstance(token, _Delimiter) and token.opening and rendered[index] == "[":
            before = next((i for i in range(index - 1, -1, -1) if rendered[i]), None)
            # "!" right before a link's "[" would make it an image.
            if before is not None and rendered[before].endswith("!"):
                rendered[before] = rendered[before][:-1] + "\\!"
    return "".join(rendered)


def _md_token(token: str | _Delimiter, as_html: set[int]) -> str:
    if isinstance(token, str):
        return token
    mark = token.mark
    if mark.name == "link":
        href = _safe_href(mark)
        if not href:
            return ""
        if token.opening:
            return "["
        if re.search(r"[\s()<>]", href) is None:
            return f"]({href})"
        # Angle brackets let a destination hold spaces and parentheses.
        return "](<" + href.replace("<", "%3C").replace(">", "%3E") + ">)"
    if token.instance in as_html:
        tag = MARKDOWN_HTML_TAGS[mark.name]
        return f"<{tag}>" if token.opening else f"</{tag}>"
    return MARKDOWN_DELIMITERS[mark.name]


def _md_delimiter_works(tokens: list[str | _Delimiter], rendered: list[str], index: int) -> bool:
    """Whether the delimiter at `index` opens (or closes) as CommonMark's flanking rules say."""
    char = rendered[index][0]

    def neighbour(step: int) -> int | None:
        # Delimiters of the same character side by side form one run, and
        # CommonMark judges the run by what surrounds all of it.
        i = index + step
        while 0 <= i < len(rendered):
            if rendered[i] and not (isinstance(tokens[i], _Delimiter) and rendered[i][0] == char):
                return i
            i += step
        return None

    before_index, after_index = neighbour(-1), neighbour(1)
    before = rendered[before_index][-1] if before_index is not None else " "
    after = rendered[after_index][0] if after_index is not None else " "
    start = before_index + 1 if before_index is not None else 0
    stop = after_index if after_index is not None else len(tokens)
    run = {
        token.opening
        for token, text in zip(tokens[start:stop], rendered[start:stop], strict=True)
        if isinstance(token, _Delimiter) and text
    }
    if run == {True}:
        return _left_flanking(before, after) and not _right_flanking(before, after)
    if run == {False}:
        return _right_flanking(before, after) and not _left_flanking(before, after)
    # A run that closes one mark and opens another may be paired differently.
    return False


# A run that could both open and close (inside a word, say) is matched by
# CommonMark's own rules, which need not pair it the way the marks nest; only
# runs that can do one thing are trusted.


def _left_flanking(before: str, after: str) -> bool:
    return not after.isspace() and (not _is_punctuation(after) or _is_blank_or_punct(before))


def _right_flanking(before: str, after: str) -> bool:
    return not before.isspace() and (not _is_punctuation(before) or _is_blank_or_punct(after))


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"


def _is_blank_or_punct(char: str) -> bool:
    return char.isspace() or _is_punctuation(char)


def _md_escape(text: str) -> str:
    return _MARKDOWN_ENTITY.sub(r"\\&", _MARKDOWN_ESCAPE.sub(r"\\\1", text))


def _md_code(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
