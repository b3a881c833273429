"""The JSON API's shared parts: login and error mapping, and one body parser."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

View = Callable[..., HttpResponse]


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
    """The fields of a JSON object body, or of a form; ValidationError when the JSON is bad."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            raise ValidationError("The body is not JSON.") from None
        return body if isinstance(body, dict) else {}
    return request.POST.dict()
