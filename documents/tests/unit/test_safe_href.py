"""Link targets: known ways around a scheme check, judged as a browser parses URLs."""

from __future__ import annotations

import html
import re

import pytest
from pycrdt import Doc, XmlFragment

from documents import export
from documents.export.links import safe_href
from documents.tests.unit.test_export import block, doc_with

# Each of these is a javascript:, vbscript:, data: or scheme-relative URL once
# a browser has stripped and cleaned it (WHATWG URL parser, "basic URL parser").
DANGEROUS = [
    "javascript:alert(1)",
    "java\tscript:alert(1)",
    "javascript\t:alert(1)",
    "\x01javascript:alert(1)",
    "java\rscript:alert(1)",
    "java\nscript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "  javascript:alert(1)",
    "\x00javascript:alert(1)",
    " \x1f\x0b\x0cjavascript:alert(1)\x00 ",
    "\tj\na\rv\ta\ns\rc\tr\ni\rp\tt\n:alert(1)",
    "javascript:alert(1)\t\n",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    " //evil.example",
    "/\t/evil.example",
    "",
    " \t\n",
    "\x00",
    # No scheme by the standard, but refused anyway in case a parser is laxer.
    "java\x01script:alert(1)",
    "\u00a0javascript:alert(1)",
    "java\u200bscript:alert(1)",
    "\ufeffjavascript:alert(1)",
    "\u2028javascript:alert(1)",
]

# What a browser reads as a link without a dangerous scheme, and the href written.
ALLOWED = [
    ("https://example.com/?a=1&b=2", "https://example.com/?a=1&b=2"),
    ("  HTTP://example.com  ", "HTTP://example.com"),
    ("ht\ttps://example.com", "https://example.com"),
    ("mailto:a@example.com", "mailto:a@example.com"),
    ("tel:+1-555-0100", "tel:+1-555-0100"),
    ("/docs/page", "/docs/page"),
    ("page.html", "page.html"),
    ("?q=1", "?q=1"),
    ("#section", "#section"),
    # No scheme: "&" is not a scheme character, so these are relative
    # paths; written as attribute text they must stay literal (checked below).
    ("&#106;avascript:alert(1)", "&#106;avascript:alert(1)"),
    ("javascript&colon;alert(1)", "javascript&colon;alert(1)"),
    ("&#x6A;avascript:alert(1)", "&#x6A;avascript:alert(1)"),
    ("/javascript:alert(1)", "/javascript:alert(1)"),
]


@pytest.mark.parametrize("raw", DANGEROUS)
def test_dangerous_hrefs_are_refused(raw: str) -> None:
    assert safe_href(raw) is None


@pytest.mark.parametrize(("raw", "written"), ALLOWED)
def test_safe_hrefs_are_kept_as_a_browser_reads_them(raw: str, written: str) -> None:
    assert safe_href(raw) == written


@pytest.mark.parametrize("raw", [None, 1, ["javascript:alert(1)"], {"href": "x"}])
def test_non_string_hrefs_are_refused(raw: object) -> None:
    assert safe_href(raw) is None


def _browser_scheme(href: str) -> str | None:
    """The scheme a browser reads from an href attribute value (entities already decoded)."""
    cleaned = re.sub(r"[\t\n\r]", "", href.strip("".join(chr(c) for c in range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else None


def _link_doc(hrefs: list[str]) -> Doc:
    def build(body: XmlFragment) -> None:
        for index, href in enumerate(hrefs):
            block(body, "paragraph", (f"link{index}", {"link": {"href": href}}))

    return doc_with(build)


def _md(hrefs: list[str]) -> str:
    return export.to_markdown(_link_doc(hrefs))


def test_html_writes_no_dangerous_href() -> None:
    raws = DANGEROUS + [raw for raw, _ in ALLOWED]
    rendered = export.to_html(_link_doc(raws))
    hrefs = [html.unescape(h) for h in re.findall(r'<a href="([^"]*)">', rendered)]
    assert len(hrefs) == len(ALLOWED)
    for href in hrefs:
        assert _browser_scheme(href) in (None, "http", "https", "mailto", "tel")
        assert safe_href(href) == href
    # Entity-looking text stays text: "&" is written as "&amp;".
    assert 'href="&amp;#106;avascript:alert(1)"' in rendered
    assert 'href="javascript&amp;colon;alert(1)"' in rendered


def test_markdown_writes_no_dangerous_destination() -> None:
    raws = DANGEROUS + [raw for raw, _ in ALLOWED]
    rendered = export.to_markdown(_link_doc(raws))
    destinations = re.findall(r"\]\(((?:\\.|[^\\)])*)\)", rendered)
    assert len(destinations) == len(ALLOWED)
    for destination in destinations:
        # CommonMark reads a bare destination by undoing backslash escapes and
        # decoding entities; no unescaped "&" may start an entity.
        assert re.search(r"(?<!\\)&#?[A-Za-z0-9]+;", destination) is None
        assert re.search(r"[\x00-\x20\x7f]", destination) is None
        unescaped = re.sub(r"\\(.)", r"\1", destination)
        assert _browser_scheme(unescaped) in (None, "http", "https", "mailto", "tel")
    assert "](\\&#106;avascript:alert\\(1\\))" in rendered
    assert "](javascript\\&colon;alert\\(1\\))" in rendered
    assert "](https://e.example/a%20b%7F)" in _md(["https://e.example/a b\x7f"])


def test_markdown_link_cannot_break_out_of_its_syntax() -> None:
    doc = _link_doc(["https://example.com/a) [x](javascript:alert(1)", "https://e.example/<b>\\"])
    rendered = export.to_markdown(doc)
    assert rendered == (
        "[link0](https://example.com/a\\)%20\\[x\\]\\(javascript:alert\\(1\\))\n\n"
        "[link1](https://e.example/\\<b\\>\\\\)\n"
    )
    # The link text's own brackets are escaped too.
    doc = doc_with(
        lambda body: block(body, "paragraph", ("a](javascript:x) [b", {"link": {"href": "#s"}}))
    )
    assert export.to_markdown(doc) == "[a\\](javascript:x) \\[b](#s)\n"
