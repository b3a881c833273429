"""Importing files as documents: the page, the formats, refusals that leave nothing behind,
.docx images stored as the new document's images, and the import_document command."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from docx import Document as WordDocument
from docx.shared import Inches
from PIL import Image

from documents import export
from documents.images.models import DocumentImage
from documents.imports import services
from documents.models import Document
from documents.storage import server_edits, store

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return tmp_path / "media"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_file(client: Client, name: str, data: bytes):
    file = io.BytesIO(data)
    file.name = name
    return client.post(reverse("document-import"), {"file": file})


def content(document: Document):
    return store.load(document.pk).update


def png(size=(120, 80)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(out, format="PNG")
    return out.getvalue()


def word_file(*, image: bytes | None = None) -> bytes:
    """A .docx with a heading, a list, a table and (optionally) an image, made with python-docx."""
    word = WordDocument()
    word.add_heading("Quarterly report", level=1)
    word.add_paragraph("Intro with ").add_run("bold").bold = True
    word.add_paragraph("First point", style="List Bullet")
    word.add_paragraph("Second point", style="List Bullet")
    table = word.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Region", "Sales"), ("North", "42")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    if image is not None:
        word.add_picture(io.BytesIO(image), width=Inches(2))
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


def test_the_import_page_needs_a_login_and_is_linked_from_the_list(personas):
    assert Client().get(reverse("document-import")).status_code == 302
    client = client_for(personas["owner"])
    page = client.get(reverse("document-import"))
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    assert reverse("document-import").encode() in client.get(reverse("document-list")).content


def test_markdown_becomes_a_new_document_titled_by_its_heading(personas):
    client = client_for(personas["editor"])
    response = post_file(client, "notes.md", b"# Plan & \\<more\\>\n\nSome *text*.\n\n- [ ] task\n")
    document = Document.objects.get(owner=personas["editor"])
    assert response.status_code == 302
    assert response["Location"] == reverse("document-edit", kwargs={"pk": document.pk})
    assert document.title == "Plan & <more>"
    body = content(document)
    assert export.to_markdown(body) == "# Plan & \\<more\\>\n\nSome *text*.\n\n- [ ] task\n"
    from documents.storage import crdt

    assert (
        server_edits.title_of(server_edits.meta_of(crdt.doc_from_update(body))) == "Plan & <more>"
    )


def test_html_without_a_heading_is_titled_by_the_file_name(personas):
    client = client_for(personas["owner"])
    post_file(client, "meeting_notes.html", b"<p>hello <script>alert(1)</script>world</p>")
    document = Document.objects.get()
    assert document.title == "meeting notes"
    assert export.to_html(content(document)) == "<p>hello world</p>"


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("x.pdf", b"%PDF-1.4", 415, "Only Markdown"),
        ("x.md", b"   \n", 422, "empty"),
        ("x.md", "é".encode("latin-1") * 10, 400, "UTF-8"),
        ("x.docx", b"not a zip at all", 415, "Word"),
        ("x.html", b"<script>only script</script>", 422, "no content"),
        ("x.md", b"> " * 5000, 422, "nested too deeply"),
    ],
)
def test_bad_files_get_a_clear_error_and_no_document(personas, name, data, status, words):
    response = post_file(client_for(personas["owner"]), name, data)
    assert response.status_code == status
    assert words in response.content.decode()
    assert not Document.objects.exists()


def test_a_file_past_the_byte_limit_is_413(personas, settings):
    settings.COLLAB = {"MAX_IMPORT_BYTES": 1024}
    response = post_file(client_for(personas["owner"]), "big.md", b"x" * 2048)
    assert response.status_code == 413
    assert not Document.objects.exists()


def test_a_file_past_the_node_limit_is_413_and_leaves_nothing(personas, settings, media):
    settings.COLLAB = {"MAX_IMPORT_NODES": 5}
    response = post_file(client_for(personas["owner"]), "r.docx", word_file(image=png()))
    assert response.status_code == 413
    assert not Document.objects.exists()
    assert not DocumentImage.objects.exists()
    assert stored_files(media) == []


def test_no_file_is_400(personas):
    response = client_for(personas["owner"]).post(reverse("document-import"), {})
    assert response.status_code == 400


def test_imports_are_rate_limited(personas, settings):
    settings.COLLAB = {"IMPORTS_PER_HOUR": 1}
    client = client_for(personas["owner"])
    assert post_file(client, "a.md", b"a").status_code == 302
    assert post_file(client, "b.md", b"b").status_code == 429


def test_docx_brings_heading_list_table_and_its_image(personas, media):
    response = post_file(client_for(personas["owner"]), "report.docx", word_file(image=png()))
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.title == "Quarterly report"
    image = DocumentImage.objects.get(document=document)
    assert (image.content_type, image.width, image.height) == ("image/png", 120, 80)
    assert len(stored_files(media)) == 1
    html = export.to_html(content(document), images=export.Images(str(document.pk)))
    assert "<h1>Quarterly report</h1>" in html
    assert "<p>Intro with <strong>bold</strong></p>" in html
    assert "<ul><li><p>First point</p></li><li><p>Second point</p></li></ul>" in html
    assert "<td><p>Region</p></td>" in html and "<td><p>42</p></td>" in html
    assert f'<img src="{image.src}" alt="" width="120" height="80">' in html
    # And the image is served to the new document's owner.
    assert client_for(personas["owner"]).get(image.src).status_code == 200


def test_import_into_an_empty_document_only(personas, document):
    from pycrdt import XmlElement

    from documents.tests.web.test_history import edit

    # Opened once in the editor: one empty paragraph, which the import replaces.
    edit(document, lambda body: body.children.append(XmlElement("paragraph")))
    services.document_import_into(
        document=document, user=personas["editor"], filename="a.md", data=b"# Filled"
    )
    assert export.to_text(content(document)) == "Filled\n"
    with pytest.raises(services.ImportRefused) as refused:
        services.document_import_into(
            document=document, user=personas["editor"], filename="b.md", data=b"more"
        )
    assert refused.value.status == 409
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.document_import_into(
            document=document, user=personas["viewer"], filename="b.md", data=b"x"
        )


def test_import_document_command(personas, tmp_path, capsys):
    with pytest.raises(SystemExit):
        call_command("import_document", "--help")
    assert "--owner" in capsys.readouterr().out
    path = tmp_path / "report.docx"
    path.write_bytes(word_file(image=png()))
    out = io.StringIO()
    call_command("import_document", str(path), "--owner", "viewer", stdout=out)
    document = Document.objects.get(owner=personas["viewer"])
    assert out.getvalue().strip() == f"{document.pk} Quarterly report"
    assert DocumentImage.objects.filter(document=document).count() == 1
    with pytest.raises(CommandError, match="No user"):
        call_command("import_document", str(path), "--owner", "nobody")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(CommandError, match="Only Markdown"):
        call_command("import_document", str(tmp_path / "x.txt"), "--owner", "viewer")


def test_the_page_imports_into_an_empty_document(personas, document):
    url = reverse("document-import") + f"?into={document.pk}"
    page = client_for(personas["editor"]).get(url)
    assert page.status_code == 200 and f'value="{document.pk}"'.encode() in page.content
    file = io.BytesIO(b"# Filled in")
    file.name = "x.md"
    response = client_for(personas["editor"]).post(
        reverse("document-import"), {"file": file, "into": str(document.pk)}
    )
    assert response["Location"] == reverse("document-edit", kwargs={"pk": document.pk})
    assert export.to_text(content(document)) == "Filled in\n"
    assert Document.objects.count() == 1
    # Not empty any more: refused with a sentence, nothing changed.
    file = io.BytesIO(b"again")
    file.name = "y.md"
    again = client_for(personas["owner"]).post(
        reverse("document-import"), {"file": file, "into": str(document.pk)}
    )
    assert again.status_code == 409 and b"not empty" in again.content


def test_importing_into_someone_elses_document_is_404_or_403(personas, document):
    assert (
        client_for(personas["stranger"])
        .get(reverse("document-import") + f"?into={document.pk}")
        .status_code
        == 404
    )
    assert (
        client_for(personas["viewer"])
        .get(reverse("document-import") + f"?into={document.pk}")
        .status_code
        == 403
    )
    assert (
        client_for(personas["owner"])
        .get(reverse("document-import") + "?into=not-a-uuid")
        .status_code
        == 404
    )
