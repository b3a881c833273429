"""The JSON API's shared parts: login and error mapping, and one body parser."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

View = Callable[..., HttpResponse]

# Every field the API takes is a short name, role or label; far more than enough.
MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = f"The body is larger than {MAX_BODY_BYTES} bytes."
# json.loads joins escaped surrogate pairs, so any surrogate left is unpaired.
_UNSTORABLE = re.compile("[\\x00\\ud800-\\udfff]")


def api_login_required(view: View) -> View:
    """401 with a JSON body instead of a redirect to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def api_errors(view: View) -> View:
    """Refusals as JSON: PermissionDenied 403, ValidationError 400, Http404 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "forbidden"}, status=403)
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        except Http404:
            return JsonResponse({"error": "not found"}, status=404)

    return wrapper


def request_body(request: HttpRequest) -> dict[str, Any]:
    """The fields of a JSON object body, or of a form; ValidationError when the body is unusable."""
    # Checked before reading, so a huge body is refused without being buffered.
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise ValidationError(TOO_LARGE)
    if request.content_type != "application/json":
        fields = request.POST.dict()
        _require_clean_strings(fields)
        return fields
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ValidationError(TOO_LARGE) from None
    if len(raw) > MAX_BODY_BYTES:
        raise ValidationError(TOO_LARGE)
    try:
        body = json.loads(raw or b"{}")
    except RecursionError:
        # The parser recurses once per level of nesting.
        raise ValidationError("The body is nested too deeply.") from None
    except ValueError:
        # UnicodeDecodeError (bytes that are not UTF-8) is a ValueError too.
        raise ValidationError("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise ValidationError("The body must be a JSON object.")
    _require_clean_strings(body)
    return body


def _require_clean_strings(value: Any) -> None:
    """ValidationError when any key or string in the value holds a NUL or a lone surrogate."""
    # PostgreSQL refuses NUL in text and a lone surrogate cannot be encoded as
    # UTF-8: either would fail as a database error (a 500) deep in a service.
    # The walk keeps its own stack: the value may nest as deep as the parser allowed.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and _UNSTORABLE.search(item):
            raise ValidationError("Text in the body may not contain NUL or unpaired surrogates.")
