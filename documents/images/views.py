"""Image upload (the editor's JSON API) and serving, both behind the document's roles.

An image is served only under its own document's URL and only to people who can
open that document; everyone else (strangers, signed-out visitors, an image id
of another document) gets the same 404, so an image id reveals nothing.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.views.decorators.http import require_GET, require_POST

from documents import conf
from documents.images import services
from documents.images.models import DocumentImage
from documents.permissions import can_write, document_or_404
from documents.web import throttle
from documents.web.json import api_errors, api_login_required

# Room for the multipart framing around the file itself.
MULTIPART_SLACK = 64 * 1024
# Served bytes are never a page: no script, no plugins, no same-origin access,
# even if a browser were talked into rendering one as HTML.
IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@api_login_required
@api_errors
@require_POST
def image_upload(request: HttpRequest, pk: UUID) -> HttpResponse:
    """POST /api/documents/<id>/images/ (multipart, field "file"): 201 {src, width, height}."""
    document, role = document_or_404(request.user, pk)
    if not can_write(role):
        raise PermissionDenied("Only the owner and editors may add images.")
    max_bytes = int(conf.get("MAX_IMAGE_BYTES"))
    too_large = f"The image is larger than {max_bytes // (1024 * 1024)} MB."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Refused before the body is read, so a huge upload is never buffered.
    if declared > max_bytes + MULTIPART_SLACK:
        return _error(too_large, 413)
    counter = throttle.hit(
        scope="image-upload",
        subject=str(request.user.pk),
        limit=int(conf.get("IMAGE_UPLOADS_PER_HOUR")),
        window=3600,
    )
    if counter.exceeded:
        response = _error(
            f"Too many images uploaded. Try again in {throttle.wait_message(counter.retry_after)}.",
            429,
        )
        response["Retry-After"] = str(counter.retry_after)
        return response
    if not request.content_type or request.content_type != "multipart/form-data":
        return _error("Send the image as multipart/form-data in a field named file.", 400)
    upload = request.FILES.get("file")
    if upload is None:
        return _error("Send the image in a field named file.", 400)
    if upload.size is not None and upload.size > max_bytes:
        return _error(too_large, 413)
    try:
        image = services.image_create(
            document=document, user=request.user, data=upload.read(), check_role=False
        )
    except services.ImageTooLarge as exc:
        return _error(str(exc), 413)
    except services.NotAnImage as exc:
        return _error(str(exc), 415)
    return JsonResponse(
        {"src": image.src, "width": image.width, "height": image.height}, status=201
    )


@require_GET
def image_serve(request: HttpRequest, pk: UUID, image_id: UUID) -> HttpResponseBase:
    """GET /documents/<id>/images/<image id>/: the bytes, to anyone who may open the document."""
    # Signed-out visitors get 404 as well: a redirect to the login page is no
    # use to an <img>, and would tell them the image exists.
    document, _ = document_or_404(request.user, pk)
    image = DocumentImage.objects.filter(document_id=document.pk, pk=image_id).first()
    if image is None:
        raise Http404("No such image.")
    try:
        stream = image.file.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("No such image.") from None
    response = FileResponse(stream, content_type=image.content_type)
    response["Content-Length"] = str(image.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = IMAGE_POLICY
    # Another site may not embed it (it would load with the viewer's cookies).
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    # The bytes under an id never change, but who may read them can: browsers
    # keep them for a day, shared caches never.
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response
