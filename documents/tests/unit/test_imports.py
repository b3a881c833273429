"""Imports: Markdown and HTML read through the editor's schema, and the Yjs body built as
y-prosemirror builds it. The Markdown round trip uses markdown-it-py as the oracle."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from documents import export
from documents.imports import builder, html, markdown

ROUND_TRIP = [
    "# Heading one\n\n## Two *emphasis* and **strong**\n\n###### Six",
    "Setext\n======\n\nAnother\n-------",
    "Plain, *italic*, _also_, **bold**, __bold__, ***both***, ~~gone~~ and `code`.",
    "A [link](https://example.com/?a=1&b=2) and <https://auto.example> and [mail](mailto:a@b.c).",
    "Line one  \nline two\\\nline three\nsoft",
    "- one\n- two\n  - two.one\n  - two.two\n- three",
    "3. three\n4. four\n\n1) other\n2) list",
    "- loose\n\n- list\n\n  with two paragraphs",
    "> quoted\n>\n> > nested *quote*\n\n> - a list in a quote",
    "```python\nif a < b:\n    print('<hi>')\n```\n\n    indented code\n\n~~~\n~~~",
    "---\n\n***\n\n___",
    "| Name | Value |\n|------|-------|\n| a \\| b | **2** |\n| `c` | [d](https://d.example) |",
    "- [ ] todo\n- [x] done\n  - [ ] nested task",
    "Escapes: \\*not em\\* \\# \\[not a link\\] 1\\. &amp; &lt;tag&gt; \\\\ back",
    "<u>under</u>, <mark>highlight</mark> and **<u>bold under</u>**",
    "Entities &copy; &#35; and a literal \\<b\\>",
    "* star\n+ plus\n\n1. one\n\n   para in item\n2. two",
    "Trailing hashes ##\n\n# Heading #",
    "A paragraph\n\n\n\nwith gaps",
]


def md() -> MarkdownIt:
    return markdown.parser()


def rendered(source: str) -> str:
    """What a CommonMark reader shows, with insignificant whitespace folded."""
    html_out = md().render(source)
    html_out = re.sub(r"\s+", " ", html_out)
    return re.sub(r" ?(<[^>]+>) ?", r"\1", html_out).strip()


def imported(source: str) -> Doc:
    doc: Doc = Doc()
    builder.write(doc, builder.normalize(markdown.read(source), max_nodes=10_000))
    return doc


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_markdown_in_markdown_out_reads_the_same(source):
    out = export.to_markdown(imported(source))
    assert rendered(out) == rendered(source), out


def test_the_round_trip_is_stable():
    for source in ROUND_TRIP:
        once = export.to_markdown(imported(source))
        assert export.to_markdown(imported(once)) == once


def test_markdown_images_are_left_out():
    # A file cannot bring an image of the new document; nothing links elsewhere.
    doc = imported("![cat](https://tracker.example/cat.png)\n\ntext ![x](/documents/a/images/b/)")
    assert export.to_html(doc) == "<p>text</p>"


def test_unsafe_links_keep_their_text_only():
    doc = imported("[a](javascript:alert(1)) [b](<java\tscript:x>) [c](data:text/html,x)")
    out = export.to_html(doc)
    # markdown-it percent-encodes the tab: a relative link, no scheme at all.
    assert '<a href="java%09script:x">b</a>' in out
    assert out.count("href") == 1


def test_inline_html_other_than_marks_is_dropped():
    doc = imported('x <span onclick="evil()">y</span> <img src=x onerror=alert(1)> z')
    assert export.to_html(doc) == "<p>x y z</p>"


def test_html_blocks_in_markdown_go_through_the_html_reader():
    doc = imported('<div onclick="x"><script>alert(1)</script><p>kept</p></div>')
    assert export.to_html(doc) == "<p>kept</p>"


# The Yjs body as y-prosemirror writes it ----------------------------------------


def test_body_is_written_as_y_prosemirror_writes_it():
    doc = imported(
        "# Title\n\n**b** [l](https://l.example) `c`\\\nx\n\n3. n\n\n- [x] t\n\n| h |\n|---|\n| c |"
    )
    fragment = doc.get("default", type=XmlFragment)
    # The empty paragraph after the table is the editor's trailing node, written up front.
    heading, paragraph, ordered, tasks, table, trailing = list(fragment.children)
    assert isinstance(trailing, XmlElement) and trailing.tag == "paragraph"
    assert not list(trailing.children)
    assert isinstance(heading, XmlElement) and heading.tag == "heading"
    assert heading.attributes["level"] == 1.0
    assert isinstance(paragraph, XmlElement)
    first, hard_break, last = list(paragraph.children)
    assert isinstance(first, XmlText) and isinstance(last, XmlText)
    assert isinstance(hard_break, XmlElement) and hard_break.tag == "hardBreak"
    assert first.diff() == [
        ("b", {"bold": {}}),
        (" ", None),
        (
            "l",
            {
                "link": {
                    "href": "https://l.example",
                    "target": "_blank",
                    "rel": "noopener noreferrer nofollow",
                }
            },
        ),
        (" ", None),
        ("c", {"code": {}}),
    ]
    assert isinstance(ordered, XmlElement) and ordered.attributes["start"] == 3.0
    item = ordered.children[0]
    assert isinstance(item, XmlElement) and item.tag == "listItem"
    assert isinstance(tasks, XmlElement) and tasks.tag == "taskList"
    task = tasks.children[0]
    assert isinstance(task, XmlElement) and task.attributes["checked"] is True
    assert isinstance(table, XmlElement)
    header = table.children[0].children[0]
    assert header.tag == "tableHeader"
    assert dict(header.attributes.__iter__()) == {"colspan": 1.0, "rowspan": 1.0}
    assert header.children[0].tag == "paragraph"


def test_code_excludes_other_marks_as_in_the_schema():
    doc = imported("[**`x`**](https://x.example)")
    text = doc.get("default", type=XmlFragment).children[0].children[0]
    assert text.diff() == [("x", {"code": {}})]


# HTML -------------------------------------------------------------------------------


def html_doc(source: str, max_nodes: int = 10_000) -> Doc:
    doc: Doc = Doc()
    builder.write(doc, builder.normalize(html.read(source), max_nodes=max_nodes))
    return doc


def test_html_keeps_the_schemas_nodes_and_marks():
    source = (
        "<h2>T</h2><p><b>b</b> <i>i</i> <u>u</u> <s>s</s> <mark>m</mark> <code>c</code> "
        '<a href="https://x.example">a</a></p><ul><li>one<ul><li>nested</li></ul></li></ul>'
        '<ol start="5"><li><p>five</p></li></ol><blockquote>q</blockquote>'
        '<pre><code class="language-js">a &lt; b\n\nc</code></pre><hr>'
        '<table><thead><tr><th colspan="2">h</th></tr></thead>'
        '<tbody><tr><td colwidth="100">x</td><td></td></tr></tbody></table>'
    )
    assert export.to_html(html_doc(source)) == "\n".join(
        [
            "<h2>T</h2>",
            "<p><strong>b</strong> <em>i</em> <u>u</u> <s>s</s> <mark>m</mark> <code>c</code> "
            '<a href="https://x.example">a</a></p>',
            "<ul><li><p>one</p><ul><li><p>nested</p></li></ul></li></ul>",
            '<ol start="5"><li><p>five</p></li></ol>',
            "<blockquote><p>q</p></blockquote>",
            '<pre><code class="language-js">a &lt; b\n\nc</code></pre>',
            "<hr>",
            '<table><tbody><tr><th colspan="2"><p>h</p></th></tr>'
            '<tr><td colwidth="100"><p>x</p></td><td><p></p></td></tr></tbody></table>',
        ]
    )


def test_html_task_lists_tiptaps_and_checkbox_lists():
    tiptap = (
        '<ul data-type="taskList"><li data-type="taskItem" data-checked="true">'
        '<label><input type="checkbox" checked></label><div><p>done</p></div></li></ul>'
    )
    plain = (
        '<ul><li><input type="checkbox"> todo</li><li><input type="checkbox" checked>ok</li></ul>'
    )
    assert export.to_markdown(html_doc(tiptap)) == "- [x] done\n"
    assert export.to_markdown(html_doc(plain)) == "- [ ] todo\n- [x] ok\n"


HOSTILE = [
    '<img src=x onerror="alert(1)">',
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href=" &#1;javascript:alert(1)">x</a>',
    '<a href="//evil.example/share">x</a>',
    '<svg><a href="javascript:alert(1)"><text>x</text></a><script>alert(1)</script></svg>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    '<style>*{}</style><p style="background:url(javascript:alert(1))">s</p>',
    '<iframe src="javascript:alert(1)"></iframe><object data="x"></object>',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<p>unclosed <b>bold <a href="https://ok.example">link',
    "<table><tr><td><script>alert(1)</script></td></tr></table><td>stray</td>",
    "<!-- <script>alert(1)</script> --><p>after comment</p>",
    '<form><input type="text" value="x" onfocus="alert(1)" autofocus></form>',
    '<img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">',
    "<p>a</p></p></div></body></html><p>b",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_html_leaves_no_script_behind(source):
    doc = html_doc(source)
    for rendering in (export.to_html(doc), export.to_markdown(doc)):
        lowered = rendering.lower()
        assert "script" not in lowered.replace("&lt;script", "")
        assert "onerror" not in lowered and "onfocus" not in lowered
        assert "javascript:" not in lowered
        assert "<img" not in lowered and "<iframe" not in lowered and "<svg" not in lowered
        assert "//evil.example" not in lowered


def test_deep_nesting_is_flattened_not_a_crash():
    doc = html_doc("<blockquote>" * 5000 + "deep" + "</blockquote>" * 5000)
    assert "deep" in export.to_text(doc)
    doc = imported("> " * 60 + "deep")
    assert "deep" in export.to_text(doc)
    with pytest.raises(markdown.TooDeep):
        imported("> " * 5000 + "deep")
    doc = html_doc("<ul><li>" * 3000 + "item" + "</li></ul>" * 3000)
    assert "item" in export.to_text(doc)


def test_too_many_nodes_is_refused():
    with pytest.raises(builder.TooLarge):
        html_doc("<p>x</p>" * 101, max_nodes=100)


def test_loose_content_is_fitted_to_the_schema():
    doc = html_doc(
        "text at the top<ul>stray text<li><h3>heading first</h3></li></ul>"
        "<td>cell outside a table</td><blockquote></blockquote><table></table>"
    )
    assert export.to_html(doc) == "\n".join(
        [
            "<p>text at the top</p>",
            "<ul><li><p>stray text</p></li><li><p></p><h3>heading first</h3></li></ul>",
            "<p>cell outside a table</p>",
            "<blockquote><p></p></blockquote>",
        ]
    )


def test_title_is_the_first_heading():
    body = builder.normalize(
        markdown.read("intro\n\n## The *real* title\n\n# later"), max_nodes=100
    )
    assert builder.title_of(body) == "The real title"
    assert builder.title_of(builder.normalize(markdown.read("no heading"), max_nodes=100)) is None
