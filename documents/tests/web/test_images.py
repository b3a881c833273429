"""Images: upload (who may, what is accepted, limits) and serving (only to the document's readers)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from documents.images.models import DocumentImage
from documents.models import Document

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def upload(client: Client, document: Document, data: bytes, name: str = "photo.png"):
    # Django's test client sends the CSRF token like the editor does (header).
    client.get(reverse("document-edit", kwargs={"pk": document.pk}))
    token = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else ""
    file = io.BytesIO(data)
    file.name = name
    return client.post(
        reverse("api-document-images", kwargs={"pk": document.pk}),
        {"file": file},
        HTTP_X_CSRFTOKEN=token,
    )


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_editor_uploads_an_image_and_gets_its_src_and_size(personas, document, fmt):
    response = upload(client_for(personas["editor"]), document, image_bytes(fmt, (640, 480)))
    assert response.status_code == 201, response.content
    body = response.json()
    image = DocumentImage.objects.get(document=document)
    assert body == {
        "src": f"/documents/{document.pk}/images/{image.pk}/",
        "width": 640,
        "height": 480,
    }
    assert image.content_type == f"image/{fmt.lower()}"
    assert image.uploaded_by == personas["editor"]


def test_the_type_is_sniffed_not_taken_from_the_name(personas, document):
    response = upload(client_for(personas["owner"]), document, image_bytes("GIF"), "x.svg")
    assert response.status_code == 201
    served = client_for(personas["viewer"]).get(response.json()["src"])
    assert served["Content-Type"] == "image/gif"


def test_svg_is_refused_with_415(personas, document):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = upload(client_for(personas["owner"]), document, svg, "x.png")
    assert response.status_code == 415
    assert "SVG" in response.json()["error"]
    assert not DocumentImage.objects.exists()


def test_a_file_that_is_not_an_image_is_refused_with_415(personas, document):
    response = upload(client_for(personas["owner"]), document, b"<html>hello</html>" * 20)
    assert response.status_code == 415
    assert response.json()["error"]


def test_a_truncated_image_is_refused(personas, document):
    data = image_bytes("PNG", (300, 300))
    response = upload(client_for(personas["owner"]), document, data[: len(data) // 2])
    assert response.status_code == 415


def test_too_many_bytes_is_413(personas, document, settings):
    settings.COLLAB = {"MAX_IMAGE_BYTES": 1024}
    response = upload(
        client_for(personas["owner"]), document, image_bytes("PNG", (400, 400)) + b"\0" * 4096
    )
    assert response.status_code == 413
    assert "larger" in response.json()["error"]


def test_too_many_pixels_is_413(personas, document, settings):
    settings.COLLAB = {"MAX_IMAGE_PIXELS": 100 * 100}
    response = upload(client_for(personas["owner"]), document, image_bytes("PNG", (101, 100)))
    assert response.status_code == 413
    assert "pixels" in response.json()["error"]


def test_viewer_gets_403_and_stranger_404(personas, document):
    assert upload(client_for(personas["viewer"]), document, image_bytes()).status_code == 403
    assert upload(client_for(personas["stranger"]), document, image_bytes()).status_code == 404
    assert not DocumentImage.objects.exists()


def test_unknown_document_is_404_and_signed_out_401(personas):
    missing = Document(pk=uuid.uuid4())
    assert upload(client_for(personas["owner"]), missing, image_bytes()).status_code == 404
    response = Client().post(reverse("api-document-images", kwargs={"pk": missing.pk}))
    assert response.status_code == 401


def test_missing_file_field_is_400(personas, document):
    client = client_for(personas["owner"])
    client.get(reverse("document-edit", kwargs={"pk": document.pk}))
    response = client.post(
        reverse("api-document-images", kwargs={"pk": document.pk}),
        {"other": "x"},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 400
    assert "file" in response.json()["error"]


def test_upload_needs_the_csrf_token(personas, document):
    client = client_for(personas["owner"])
    file = io.BytesIO(image_bytes())
    file.name = "a.png"
    response = client.post(
        reverse("api-document-images", kwargs={"pk": document.pk}), {"file": file}
    )
    assert response.status_code == 403
    assert not DocumentImage.objects.exists()


def test_uploads_are_rate_limited_per_user(personas, document, settings):
    settings.COLLAB = {"IMAGE_UPLOADS_PER_HOUR": 2}
    client = client_for(personas["editor"])
    assert [upload(client, document, image_bytes()).status_code for _ in range(3)] == [
        201,
        201,
        429,
    ]
    # Another user has a budget of their own.
    assert upload(client_for(personas["owner"]), document, image_bytes()).status_code == 201


def test_served_bytes_carry_the_safety_headers(personas, document):
    data = image_bytes("JPEG")
    src = upload(client_for(personas["owner"]), document, data).json()["src"]
    response = client_for(personas["viewer"]).get(src)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_strangers_and_signed_out_visitors_get_404(personas, document):
    src = upload(client_for(personas["owner"]), document, image_bytes()).json()["src"]
    assert client_for(personas["stranger"]).get(src).status_code == 404
    assert Client().get(src).status_code == 404


def test_an_image_is_served_only_under_its_own_document(personas, document):
    src = upload(client_for(personas["owner"]), document, image_bytes()).json()["src"]
    image_id = src.rstrip("/").rsplit("/", 1)[1]
    # The stranger owns another document: its URL must not reach this image.
    other = Document.objects.create(title="Other", owner=personas["stranger"])
    other_src = reverse("document-image", kwargs={"pk": other.pk, "image_id": image_id})
    assert client_for(personas["stranger"]).get(other_src).status_code == 404
    assert client_for(personas["owner"]).get(other_src).status_code == 404


def test_deleting_the_document_removes_the_bytes(
    personas, document, media, django_capture_on_commit_callbacks
):
    upload(client_for(personas["owner"]), document, image_bytes())
    stored = [p for p in media.rglob("*") if p.is_file()]
    assert len(stored) == 1
    with django_capture_on_commit_callbacks(execute=True):
        document.delete()
    assert not stored[0].exists()


def test_history_preview_shows_this_documents_images_only(personas, document):
    from pycrdt import XmlElement, XmlFragment

    from documents.history import services as history
    from documents.tests.web.test_history import edit

    src = upload(client_for(personas["owner"]), document, image_bytes()).json()["src"]
    other = f"/documents/{uuid.uuid4()}/images/{uuid.uuid4()}/"

    def add_images(body: XmlFragment) -> None:
        body.children.append(XmlElement("image", {"src": src, "width": 64.0, "height": 48.0}))
        body.children.append(XmlElement("image", {"src": other, "width": 64.0, "height": 48.0}))

    edit(document, add_images)
    snapshot = history.snapshot_create(document=document, user=personas["owner"], label="v")
    preview = history.snapshot_preview(snapshot=snapshot)
    assert f'<img src="{src}" alt="" width="64" height="48">' in preview
    assert other not in preview
    page = client_for(personas["viewer"]).get(
        reverse("document-history", kwargs={"pk": document.pk}) + f"?version={snapshot.pk}"
    )
    assert src in page.content.decode()


def test_export_download_names_the_site_and_keeps_foreign_images_out(personas, document):
    from pycrdt import XmlElement, XmlFragment

    from documents.tests.web.test_history import edit

    src = upload(client_for(personas["owner"]), document, image_bytes()).json()["src"]

    def add_images(body: XmlFragment) -> None:
        body.children.append(XmlElement("image", {"src": src}))
        body.children.append(XmlElement("image", {"src": "https://tracker.example/p.gif"}))

    edit(document, add_images)
    client = client_for(personas["viewer"])
    html = client.get(reverse("document-export", kwargs={"pk": document.pk, "fmt": "html"}))
    assert f'src="http://testserver{src}"' in html.content.decode()
    assert "tracker.example" not in html.content.decode()
    md = client.get(reverse("document-export", kwargs={"pk": document.pk, "fmt": "md"}))
    assert f"(http://testserver{src})" in md.content.decode()


def test_docx_export_embeds_the_documents_images(personas, document):
    from docx import Document as WordDocument
    from pycrdt import XmlElement, XmlFragment

    from documents.tests.web.test_history import edit

    src = upload(client_for(personas["owner"]), document, image_bytes("PNG", (96, 48))).json()[
        "src"
    ]

    def add_images(body: XmlFragment) -> None:
        body.children.append(XmlElement("image", {"src": src, "width": 96.0, "height": 48.0}))

    edit(document, add_images)
    response = client_for(personas["viewer"]).get(
        reverse("document-export", kwargs={"pk": document.pk, "fmt": "docx"})
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="Test document.docx"' in response["Content-Disposition"]
    word = WordDocument(io.BytesIO(response.content))
    assert len(word.inline_shapes) == 1
    assert (
        client_for(personas["stranger"])
        .get(reverse("document-export", kwargs={"pk": document.pk, "fmt": "docx"}))
        .status_code
        == 404
    )


def test_a_png_mentioning_svg_in_its_metadata_is_still_a_png(personas, document):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<svg> exported from a drawing tool")
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG", pnginfo=info)
    response = upload(client_for(personas["owner"]), document, out.getvalue())
    assert response.status_code == 201


def test_a_decompression_bomb_is_413_not_a_crash(personas, document):
    # A tiny file declaring 30000 x 30000 pixels: refused from its header alone.
    out = io.BytesIO()
    Image.new("1", (30000, 30000)).save(out, format="PNG")
    assert len(out.getvalue()) < 1024 * 1024
    response = upload(client_for(personas["owner"]), document, out.getvalue())
    assert response.status_code == 413
    assert "pixels" in response.json()["error"]
