"""What an uploaded file really is, read from its bytes with Pillow (pure: no Django, no I/O).

The client's file name and content type are never trusted: a file is one of the
four raster formats browsers show safely, or it is refused. SVG is refused on
purpose, since an SVG is a document that can carry script.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Pillow format name: (content type, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}


class NotAnImage(ValueError):
    """The bytes are not a PNG, JPEG, GIF or WebP image (or are a damaged one)."""


class TooManyPixels(ValueError):
    """The image's dimensions are past the pixel limit."""


@dataclass(frozen=True, slots=True)
class Sniffed:
    content_type: str
    extension: str
    width: int
    height: int


def sniff(data: bytes, *, max_pixels: int) -> Sniffed:
    """The image's real type and dimensions; NotAnImage or TooManyPixels otherwise."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its own limit raises) on decompression
            # bombs; the limit here is ours and checked before any decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                kind, width, height = image.format or "", image.width, image.height
                if width <= 0 or height <= 0:
                    raise NotAnImage("The image has no pixels.")
                if width * height > max_pixels:
                    raise _too_many(width, height, max_pixels)
            # open() reads only the header; verify() walks the rest of the
            # file so a truncated or corrupt image is refused now, not shown broken.
            with Image.open(io.BytesIO(data), formats=[kind]) as image:
                image.verify()
    except (NotAnImage, TooManyPixels):
        raise
    except Image.DecompressionBombError:
        raise TooManyPixels(f"The image has more than {max_pixels} pixels.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        head = data[:1024].lstrip().lower()
        if head.startswith((b"<svg", b"<?xml")) or b"<svg" in head:
            raise NotAnImage("SVG images are not accepted: they can carry script.") from exc
        raise NotAnImage("The file is not a PNG, JPEG, GIF or WebP image.") from exc
    if kind not in FORMATS:
        raise NotAnImage("The file is not a PNG, JPEG, GIF or WebP image.")
    content_type, extension = FORMATS[kind]
    return Sniffed(content_type, extension, width, height)


def _too_many(width: int, height: int, max_pixels: int) -> TooManyPixels:
    return TooManyPixels(
        f"The image is {width} x {height} pixels; at most {max_pixels} pixels are accepted."
    )
