"""Word files converted to HTML with mammoth; their images are handed back to be stored.

mammoth maps Word's paragraph styles onto HTML (headings, lists, tables,
bold, italic, underline, strikethrough, links); the HTML then goes through the
same reader as any imported HTML. Each embedded image becomes a placeholder src
here; the import stores the bytes as an image of the new document (sniffed like
an upload) and swaps the placeholder for its URL, or leaves the image out.
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import mammoth

# Word's underline and strikethrough are not mapped by mammoth by default.
STYLE_MAP = """
u => u
strike => s
"""
PLACEHOLDER = "/imported-image/{}"
# The uncompressed size of a .docx's parts: a zip bomb is refused before converting.
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024


class NotADocx(ValueError):
    """The bytes are not a Word (.docx) document mammoth can read."""


def to_html(data: bytes) -> tuple[str, dict[str, bytes]]:
    """The document as HTML, and the bytes of each image by its placeholder src."""
    _check_archive(data)
    images: dict[str, bytes] = {}

    def convert_image(image: Any) -> dict[str, str]:
        with image.open() as stream:
            content = stream.read(MAX_UNCOMPRESSED_BYTES + 1)
        src = PLACEHOLDER.format(len(images))
        images[src] = content
        return {"src": src}

    try:
        result = mammoth.convert_to_html(
            io.BytesIO(data),
            style_map=STYLE_MAP,
            convert_image=mammoth.images.img_element(convert_image),
        )
    except (KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise NotADocx("The file is not a Word (.docx) document.") from exc
    return result.value, images


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise NotADocx("The file is not a Word (.docx) document.") from None
    if "word/document.xml" not in names:
        raise NotADocx("The file is not a Word (.docx) document.")
    if total > MAX_UNCOMPRESSED_BYTES:
        raise NotADocx("The Word document unpacks to more than 200 MB.")
