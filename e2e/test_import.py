"""Importing a Word file from the document list: its heading, list, table and image show in
the editor, the image fetched from the server under the new document's own URL."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from docx import Document as WordDocument
from docx.shared import Inches
from PIL import Image
from playwright.sync_api import expect

from e2e.conftest import ARTIFACTS, Peer


@pytest.fixture(autouse=True)
def media_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The server stores this test's images under its own directory (set before it starts)."""
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "media"))
    return tmp_path / "media"


def word_file() -> bytes:
    """A .docx with a heading, a list, a table and an image, made with python-docx."""
    picture = io.BytesIO()
    Image.new("RGB", (320, 160), (30, 110, 200)).save(picture, format="PNG")
    word = WordDocument()
    word.add_heading("Quarterly report", level=1)
    word.add_paragraph("First point", style="List Bullet")
    word.add_paragraph("Second point", style="List Bullet")
    table = word.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Region", "Sales"), ("North", "42")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    word.add_picture(io.BytesIO(picture.getvalue()), width=Inches(2))
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_a_word_file_imports_with_heading_list_table_and_image(alice: Peer, media_root: Any):
    from documents.images.models import DocumentImage
    from documents.models import Document, DocumentUpdate

    page = alice.page
    page.goto(f"{alice.base_url}/")
    page.get_by_role("link", name="Import a file…").click()
    page.set_input_files(
        "input[type=file]",
        files=[
            {
                "name": "report.docx",
                "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "buffer": word_file(),
            }
        ],
    )
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url("**/documents/*/")
    alice.wait_status("connected")

    document = Document.objects.get(owner=alice.user)
    assert document.title == "Quarterly report"
    image = DocumentImage.objects.get(document=document)

    schema = page.evaluate("Object.keys(window.__editor.schema.nodes)")
    assert {"table", "image"} <= set(schema), schema

    editor = page.locator(".ProseMirror")
    expect(editor.locator("h1")).to_have_text("Quarterly report")
    expect(editor.locator("ul li")).to_have_text(["First point", "Second point"])
    expect(editor.locator("table td, table th")).to_have_text(["Region", "Sales", "North", "42"])
    picture = editor.locator(f'img[src="{image.src}"]')
    expect(picture).to_have_count(1)
    # The bytes came from the server (the browser decoded them), at the size kept on import.
    page.wait_for_function(
        "src => { const i = document.querySelector(`.ProseMirror img[src='${src}']`);"
        " return i && i.complete && i.naturalWidth === 320 }",
        arg=image.src,
    )
    # The editor took the body as it was built: opening it changed nothing
    # (y-prosemirror rewrites a fragment that does not fit the schema).
    alice.wait_saved()
    assert list(DocumentUpdate.objects.filter(document=document).values_list("seq", flat=True)) == [
        1
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "import-docx.png"), full_page=True)


EVERY_NODE_MARKDOWN = """# Every node

Text with **bold**, *italic*, ~~strike~~, `code`, <u>under</u>, <mark>lit</mark> and a
[link](https://example.com/).\\
After a hard break.

- one
  1. nested
- [x] not a task (the list is not all tasks)

* [ ] todo
* [x] done

> quoted

```python
print("hi")
```

---

| Head | Other |
| --- | --- |
| cell | **bold** |
"""


def test_an_imported_body_opens_unchanged_in_the_editor(alice: Peer, media_root: Any):
    """Every node and mark the importer writes is one the editor's schema takes as it is."""
    from documents.models import Document, DocumentUpdate

    page = alice.page
    page.goto(f"{alice.base_url}/documents/import/")
    page.set_input_files(
        "input[type=file]",
        files=[
            {"name": "all.md", "mimeType": "text/markdown", "buffer": EVERY_NODE_MARKDOWN.encode()}
        ],
    )
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_url("**/documents/*/")
    alice.wait_status("connected")
    schema = page.evaluate("Object.keys(window.__editor.schema.nodes)")
    assert {"table", "taskList"} <= set(schema), schema
    editor = page.locator(".ProseMirror")
    expect(editor.locator("h1")).to_have_text("Every node")
    expect(editor.locator("mark")).to_have_text("lit")
    expect(editor.locator("u")).to_have_text("under")
    expect(editor.locator('a[href="https://example.com/"]')).to_have_text("link")
    expect(editor.locator('ul[data-type="taskList"] li')).to_have_count(2)
    expect(editor.locator("table th")).to_have_text(["Head", "Other"])
    expect(editor.locator("pre code")).to_have_text('print("hi")')
    alice.wait_saved()
    document = Document.objects.get(owner=alice.user)
    assert DocumentUpdate.objects.filter(document=document).count() == 1
