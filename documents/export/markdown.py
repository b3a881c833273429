"""The body as CommonMark (with GFM strikethrough) that reads back as the document.

Most of the work is escaping, because Markdown gives meaning to ordinary
characters: text that would parse as syntax is escaped, and emphasis that
CommonMark's flanking rules would misread is written as inline HTML instead.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from documents.export.html import html_block
from documents.export.tree import (
    Element,
    Images,
    Mark,
    Node,
    NotePlaces,
    NoteRef,
    Source,
    Span,
    body_of,
    cell_span,
    heading_level,
    image_alt,
    image_src,
    link_href,
    list_items,
    list_start,
    note_refs,
    plain_text,
    prefix_lines,
)

MARKDOWN_DELIMITERS = {"bold": "**", "italic": "*", "strike": "~~"}
# Marks Markdown has no syntax for, or whose syntax would be misread, as inline HTML.
MARKDOWN_HTML_TAGS = {
    "bold": "strong",
    "italic": "em",
    "underline": "u",
    "strike": "del",
    "highlight": "mark",
}
LIST_TAGS = ("bulletList", "orderedList", "taskList")

_MARKDOWN_ESCAPE = re.compile(r"([\\`*_\[\]<>~])")
_MARKDOWN_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_MARKDOWN_URL_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_MARKDOWN_URL_ESCAPE = re.compile(r"([\\()<>\[\]])")
_MARKDOWN_LINE_START = re.compile(r"^([#>+=-])", re.MULTILINE)
_MARKDOWN_NUMBER_START = re.compile(r"^(\d+)([.)])", re.MULTILINE)


def to_markdown(
    source: Source, *, images: Images | None = None, notes: NotePlaces | None = None
) -> str:
    """The body as CommonMark (with GFM strikethrough, tables and task lists); `notes`
    places comment markers as footnote references (`[^N]`)."""
    body = _md_blocks(body_of(source, notes=notes), images=images)
    return body + "\n" if body else ""


def _md_blocks(nodes: Iterable[Node], separator: str = "\n\n", *, images: Images | None) -> str:
    blocks = []
    previous = ""
    for node in nodes:
        tag = node.tag if isinstance(node, Element) else ""
        # Two lists of the same kind in a row would read back as one list unless
        # their markers differ.
        alternate = tag in LIST_TAGS and tag == previous
        rendered = _md_block(node, alternate=alternate, images=images)
        if rendered:
            blocks.append(rendered)
            previous = "" if alternate else tag
    return separator.join(blocks)


def _md_block(node: Node, *, alternate: bool = False, images: Images | None = None) -> str:
    if isinstance(node, Span):
        return _md_inline((node,))
    if isinstance(node, NoteRef):
        return _md_note_ref(node)
    tag = node.tag
    if tag == "paragraph":
        return _md_inline(node.children)
    if tag == "heading":
        # A heading is one line; its breaks become spaces.
        text = _md_inline(node.children).replace("\\\n", " ").replace("\n", " ")
        return f"{'#' * heading_level(node)} {text}" if text else ""
    if tag in LIST_TAGS:
        return _md_list(node, alternate=alternate, images=images)
    if tag == "blockquote":
        return prefix_lines(_md_blocks(node.children, images=images), "> ", ">")
    if tag == "table":
        return _md_table(node, images)
    if tag == "image":
        src = image_src(node, images)
        return f"![{_md_escape(image_alt(node))}]({_md_destination(src)})" if src else ""
    if tag == "codeBlock":
        code = plain_text(node.children)
        longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
        fence = "`" * max(3, longest + 1)
        language = node.attrs.get("language")
        info = language if isinstance(language, str) and "`" not in language else ""
        block = f"{fence}{info}\n{code}\n{fence}" if code else f"{fence}{info}\n{fence}"
        # Code shows its text alone: a thread ending inside it is marked after it.
        refs = "".join(_md_note_ref(ref) for ref in note_refs(node.children))
        return f"{block}\n\n{refs}" if refs else block
    if tag == "horizontalRule":
        return "---"
    if tag == "hardBreak":
        return ""
    return _md_blocks(node.children, images=images)


def _md_table(node: Element, images: Images | None) -> str:
    """A GFM pipe table when the table fits one, else the table as HTML."""
    rows = [row for row in node.children if isinstance(row, Element) and row.tag == "tableRow"]
    grid = [[cell for cell in row.children if isinstance(cell, Element)] for row in rows]
    width = len(grid[0]) if grid else 0
    fits = (
        width > 0
        and all(len(cells) == width for cells in grid)
        and all(cell.tag == "tableHeader" for cell in grid[0])
        and all(cell.tag == "tableCell" for cells in grid[1:] for cell in cells)
        and all(
            cell_span(cell, "colspan") == 1
            and cell_span(cell, "rowspan") == 1
            and _md_cell(cell) is not None
            for cells in grid
            for cell in cells
        )
    )
    if not fits:
        # An HTML block ends at a blank line: newlines (only ever inside text)
        # are written as character references, which read back the same.
        return html_block(node, images).replace("\n", "&#10;")
    lines = ["| " + " | ".join(_md_cell(cell) or "" for cell in cells) + " |" for cells in grid]
    lines.insert(1, "|" + "|".join(" --- " for _ in range(width)) + "|")
    return "\n".join(lines)


def _md_cell(cell: Element) -> str | None:
    """A cell's content as one line of a pipe table, or None when it needs more than a line."""
    blocks = list(cell.children)
    if not blocks:
        return ""
    if len(blocks) > 1:
        return None
    only = blocks[0]
    if not isinstance(only, Element) or only.tag != "paragraph":
        return None
    if any(
        isinstance(child, Element) and not isinstance(child, NoteRef) for child in only.children
    ):
        return None  # hard breaks, inline nodes
    text = _md_inline(only.children)
    if "\n" in text:
        return None
    return text.replace("|", "\\|")


def _md_list(node: Element, *, alternate: bool, images: Images | None) -> str:
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
        body = _md_blocks(item.children, separator, images=images)
        if body and item.children and not _md_block(item.children[0]):
            # An item opening with an empty paragraph keeps its marker on a line
            # of its own; "- ---" would read as a horizontal rule.
            return "\n" + body
        return body

    return list_items(node, render_item, separator, alternate=alternate)


def _md_note_ref(ref: NoteRef) -> str:
    return f"[^{int(ref.number)}]"


def _md_before_note_ref(text: str) -> str:
    """The text before a note reference: a "!" ending it would make "![^1]" an image."""
    if not text.endswith("!"):
        return text
    head = text[:-1]
    escaped = (len(head) - len(head.rstrip("\\"))) % 2 == 1  # an odd run of backslashes
    return text if escaped else head + "\\!"


def _interrupts_paragraph(node: Element) -> bool:
    """Whether this list may start on the line right after a paragraph, per CommonMark."""
    if node.tag not in LIST_TAGS:
        return False
    if node.tag == "orderedList" and list_start(node) != 1:
        return False
    # Nor may a list whose first item opens empty: "-" alone would even turn
    # the paragraph above into a heading.
    first = next((child for child in node.children if isinstance(child, Element)), None)
    lead = first.children[0] if first is not None and first.children else None
    return (
        isinstance(lead, Element)
        and lead.tag == "paragraph"
        and bool(plain_text(lead.children).strip())
    )


def _md_inline(nodes: Iterable[Node]) -> str:
    out: list[str] = []
    group: list[Span] = []
    after_note = False

    def add(piece: str) -> None:
        nonlocal after_note
        if not piece:
            return
        if after_note and piece.startswith(":"):
            piece = "\\" + piece  # "[^1]:" opening a line would read as a note's definition
        after_note = False
        out.append(piece)

    for node in nodes:
        if isinstance(node, Span):
            # Neighbouring spans are rendered together so a mark spanning them opens once.
            group.append(node)
            continue
        add(_md_span_group(group))
        group = []
        if isinstance(node, NoteRef):
            out[:] = [_md_before_note_ref("".join(out)), _md_note_ref(node)]
            after_note = True
            continue
        add("\\\n" if node.tag == "hardBreak" else _md_inline(node.children))
    add(_md_span_group(group))
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
        href = link_href(mark)
        if not href:
            return ""
        if token.opening:
            return "["
        return f"]({_md_destination(href)})"
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


def _md_destination(href: str) -> str:
    """A link destination CommonMark reads back as exactly this href, never as more syntax."""
    # Spaces and controls would end the destination (or start a title), so they
    # are percent-encoded as a browser would; backslashes and parentheses are
    # escaped so none can close the link early; "&" that would start an entity
    # is escaped so "&#106;avascript:" stays literal instead of decoding to a scheme.
    encoded = _MARKDOWN_URL_CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", href)
    return _MARKDOWN_ENTITY.sub(r"\\&", _MARKDOWN_URL_ESCAPE.sub(r"\\\1", encoded))


def _md_code(text: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
