"""Link marks that browsers read as script never reach a rendered page or export as links."""

from __future__ import annotations

import html
import re

import pytest
from pycrdt import XmlFragment

from documents.history import services as history
from documents.models import Document, Snapshot
from documents.tests.unit.test_export import block
from documents.tests.unit.test_safe_href import DANGEROUS
from documents.tests.web.test_history import api, client_for, edit, page

pytestmark = [pytest.mark.django_db]

SAFE_SCHEMES = (None, "http", "https", "mailto", "tel")


def browser_scheme(href: str) -> str | None:
    """The scheme a browser reads from a URL, after the URL parser's clean-up."""
    cleaned = re.sub(r"[\t\n\r]", "", href.strip("".join(chr(c) for c in range(0x21))))
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", cleaned)
    return match.group(1).lower() if match else None


def html_hrefs(text: str) -> list[str]:
    """Every anchor's href in an HTML text, entities decoded as a browser does."""
    # Anchors only: the page's own <link rel="icon"> is a data: URL by design.
    pattern = r"""<a\s[^>]*?href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"""
    return [html.unescape(value) for match in re.findall(pattern, text) for value in match if value]


def links_body(body: XmlFragment) -> None:
    block(body, "paragraph", ("fine", {"link": {"href": "https://example.com/"}}))
    for index, href in enumerate(DANGEROUS):
        block(body, "paragraph", (f"bad{index}", {"link": {"href": href}}))


@pytest.fixture
def snapshot(personas, document: Document) -> Snapshot:
    edit(document, links_body)
    return history.snapshot_create(document=document, user=personas["editor"], label="links")


def assert_no_dangerous_link(rendered: str) -> None:
    hrefs = html_hrefs(rendered)
    assert "https://example.com/" in hrefs  # the safe link is kept
    for href in hrefs:
        assert browser_scheme(href) in SAFE_SCHEMES, href
        assert not re.match(r"[/\\]{2}", href.strip("".join(chr(c) for c in range(0x21)))), href
    for index in range(len(DANGEROUS)):
        assert re.search(rf"<a [^>]*>bad{index}</a>", rendered) is None


def test_history_page_preview_has_no_dangerous_link(personas, document, snapshot):
    response = client_for(personas["viewer"]).get(page(document), {"version": snapshot.pk})
    assert response.status_code == 200
    assert_no_dangerous_link(response.content.decode())


def test_history_api_html_has_no_dangerous_link(personas, document, snapshot):
    response = client_for(personas["viewer"]).get(api(document, f"{snapshot.pk}/"))
    assert response.status_code == 200
    assert_no_dangerous_link(response.json()["html"])


def test_html_export_has_no_dangerous_link(personas, document, snapshot):
    response = client_for(personas["viewer"]).get(f"/documents/{document.pk}/export.html")
    assert response.status_code == 200
    assert_no_dangerous_link(response.content.decode())


def test_markdown_export_has_no_dangerous_link(personas, document, snapshot):
    response = client_for(personas["viewer"]).get(f"/documents/{document.pk}/export.md")
    assert response.status_code == 200
    text = response.content.decode()
    destinations = re.findall(r"\]\(((?:\\.|[^\\)])*)\)", text)
    assert destinations == ["https://example.com/"]
    for index in range(len(DANGEROUS)):
        assert f"bad{index}" in text
        assert f"[bad{index}]" not in text
